// How a launcher that re-runs the CLI in a child process (amh.mjs under an old Node) stands in for
// it: the signals a user sends the launcher's pid reach the child, and the launcher ends the way the
// child ended (its exit code, or killed by the same signal), so a script or CI holding the
// launcher's pid sees what the CLI did.

import { constants } from 'node:os';

/** Signals passed on to the child. */
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Forwards signals to `child` and ends this process as `child` ends. */
export function mirrorChild(child) {
  const forward = (sig) => child.kill(sig);
  for (const sig of FORWARDED) process.on(sig, forward);
  child.on('exit', (code, signal) => {
    if (!signal) {
      process.exit(code ?? 2);
      return;
    }
    // Die of the same signal. The forwarding listener must go first: while it is there, the signal
    // sent to ourselves would only be forwarded to the dead child, and this process would then end
    // with status 0 when its event loop drained (a SIGTERM'd `amh run` reported success).
    for (const sig of FORWARDED) process.off(sig, forward);
    process.exitCode = 128 + (constants.signals[signal] ?? 0);
    process.kill(process.pid, signal);
  });
}
