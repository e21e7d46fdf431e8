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
import { type CrashableServer, startCrashableServer } from '../../harness/services/crashable.ts';

const SERVE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'serve.ts');

/** Start it; `args` are more serve.ts flags (`--fault NAME`, `--review-limit N`, ...). Returns before it is up. */
export async function startRestartableAgentripe(chain: RunningChain, o: { args?: string[]; log?: (line: string) => void } = {}): Promise<CrashableServer> {
  const rpc = await rpcFaultProxy(chain.rpcUrl);
  const child = await startCrashableServer({
    name: 'agentripe',
    script: SERVE,
    args: (dir, port) => ['--rpc', rpc.url, '--port', String(port), '--db', path.join(dir, 'agentripe.sqlite'), '--review', 'rule', ...(o.args ?? [])],
    log: o.log,
  }).catch(async (e) => {
    await rpc.release();
    throw e;
  });
  return {
    ...child,
    async stop() {
      try {
        await child.stop();
      } finally {
        await rpc.release();
      }
    },
  };
}
