/**
 * The AISP backend the crash scenarios kill (capability `restart`): serve.ts `--inference` (the
 * backend alone) as a supervised child process (harness/services/crashable.ts) beside the
 * in-process backend, on the same chain and the same inference server, with a fixed port, its own
 * SQLite file and the key secret file beside it (`<db>.keysecret`), all in the crashable state
 * directory that outlives each SIGKILL. The in-process backend keeps serving every other scenario.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningChain } from '../../harness/chain/index.ts';
import { type CrashableServer, startCrashableServer } from '../../harness/services/crashable.ts';

const SERVE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'serve.ts');

/** Start it against `inferenceUrl` (…/api/v1); `args` are more serve.ts flags (`--fault NAME`, ...). Returns before it is up. */
export function startRestartableAispBackend(chain: RunningChain, inferenceUrl: string, o: { args?: string[]; log?: (line: string) => void } = {}): Promise<CrashableServer> {
  return startCrashableServer({
    name: 'aisp-backend',
    script: SERVE,
    args: (dir, port) => ['--rpc', chain.rpcUrl, '--inference', inferenceUrl, '--port', String(port), '--db', path.join(dir, 'aisp.sqlite'), ...(o.args ?? [])],
    log: o.log,
  });
}
