/** Process helpers shared by the harness's pieces that leave pid-named state behind them. */

/** Whether process `pid` is alive (a pid we may not signal is alive too). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
