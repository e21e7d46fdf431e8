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
import { startCrashable } from '../../harness/services/crashable.ts';
import { freePort } from '../../harness/util/net.ts';
import type { RestartControl } from '../../harness/target/schema.ts';

const SERVE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'serve.ts');

/** A restartable AISP backend: its restart control (with the URL it answers at) and its stop. */
export interface RestartableAispBackend {
  url: string;
  control: RestartControl;
  stop(): Promise<void>;
}

/** Start it against `inferenceUrl` (…/api/v1); `args` are more serve.ts flags (`--fault NAME`, ...). Returns before it is up. */
export async function startRestartableAispBackend(chain: RunningChain, inferenceUrl: string, o: { args?: string[]; log?: (line: string) => void } = {}): Promise<RestartableAispBackend> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = startCrashable({
    name: 'aisp-backend',
    script: SERVE,
    args: (dir) => ['--rpc', chain.rpcUrl, '--inference', inferenceUrl, '--port', String(port), '--db', path.join(dir, 'aisp.sqlite'), ...(o.args ?? [])],
    readyUrl: `${url}/health`,
    log: o.log,
  });
  return { url, control: { ...child.control, url }, stop: () => child.stop() };
}
