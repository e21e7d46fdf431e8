/**
 * The Agentripe server the crash scenarios kill (capability `restart`): serve.ts as a supervised
 * child process (harness/services/crashable.ts) on the same chain as the in-process reference,
 * with a fixed port and a SQLite file that outlive each SIGKILL. It reaches the chain through the
 * harness's RPC fault proxy, so a scenario can also crash it in the middle of an escrow action
 * (capability `rpc-faults`). The in-process server keeps serving every other scenario: a crash of
 * it would need the harness's own process to die.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningChain } from '../../harness/chain/index.ts';
import { rpcFaultProxy } from '../../harness/faults/rpc.ts';
import { startCrashable } from '../../harness/services/crashable.ts';
import { freePort } from '../../harness/util/net.ts';
import type { RestartControl } from '../../harness/target/schema.ts';

const SERVE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'serve.ts');

/** A restartable Agentripe server: its restart control (with the URL it answers at) and its stop. */
export interface RestartableAgentripe {
  url: string;
  control: RestartControl;
  stop(): Promise<void>;
}

/** Start it; `args` are more serve.ts flags (`--fault NAME`, `--review-limit N`, ...). Returns before it is up. */
export async function startRestartableAgentripe(chain: RunningChain, o: { args?: string[]; log?: (line: string) => void } = {}): Promise<RestartableAgentripe> {
  const rpc = await rpcFaultProxy(chain.rpcUrl);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = startCrashable({
    name: 'agentripe',
    script: SERVE,
    args: (dir) => ['--rpc', rpc.url, '--port', String(port), '--db', path.join(dir, 'agentripe.sqlite'), '--review', 'rule', ...(o.args ?? [])],
    readyUrl: `${url}/health`,
    log: o.log,
  });
  return {
    url,
    control: { ...child.control, url },
    async stop() {
      try {
        await child.stop();
      } finally {
        await rpc.release();
      }
    },
  };
}
