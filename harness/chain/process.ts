/** Process helpers for the harness pieces that leave pid-named state behind them (chain layer: anything above may import it). */

/** Whether process `pid` is alive (a pid we may not signal is alive too). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
