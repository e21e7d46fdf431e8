/**
 * The APS-1 servers the crash scenarios kill (capability `restart`): serve.ts `--child` (the honest
 * agent and a marketplace listing it, in one process) as a supervised child process
 * (harness/services/crashable.ts) beside the in-process deployment, on the same chain, with fixed
 * ports, keys of their own and SQLite files that outlive each SIGKILL. It reaches the chain through
 * the harness's RPC fault proxy (capability `rpc-faults`), so a scenario can hold one of its
 * transactions while it is killed. One kill ends both servers: the controls of `aps1-agent` and
 * `aps1-marketplace` are the same command, each waiting for its own server.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningChain } from '../../harness/chain/index.ts';
import { rpcFaultProxy } from '../../harness/faults/rpc.ts';
import { startCrashable } from '../../harness/services/crashable.ts';
import type { RestartControl } from '../../harness/target/schema.ts';
import { reserveFixedPort } from '../../harness/util/net.ts';

const SERVE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'serve.ts');

/** The crashable pair: its URLs, the restart control of each endpoint, and its stop. */
export interface RestartableAps1 {
  agentUrl: string;
  marketUrl: string;
  controls: { 'aps1-agent': RestartControl; 'aps1-marketplace': RestartControl };
  stop(): Promise<void>;
}

/** Start it; `args` are more serve.ts flags (`--fault NAME`). Returns before it is up. */
export async function startRestartableAps1(chain: RunningChain, o: { args?: string[]; log?: (line: string) => void } = {}): Promise<RestartableAps1> {
  const rpc = await rpcFaultProxy(chain.rpcUrl);
  let releasePorts = () => {};
  try {
    // Both ports held until the pair stops for good (not given to anyone while a server restarts).
    const ports = [await reserveFixedPort(), await reserveFixedPort()];
    releasePorts = () => {
      for (const p of ports) p.release();
    };
    const [agentPort, marketPort] = ports.map((p) => p.port);
    const agentUrl = `http://127.0.0.1:${agentPort}`;
    const marketUrl = `http://127.0.0.1:${marketPort}`;
    const child = startCrashable({
      name: 'aps1',
      script: SERVE,
      args: (dir) => ['--rpc', rpc.url, '--child', dir, '--agent-port', String(agentPort), '--market-port', String(marketPort), ...(o.args ?? [])],
      readyUrl: `${agentUrl}/health`,
      log: o.log,
    });
    return {
      agentUrl,
      marketUrl,
      controls: {
        'aps1-agent': { ...child.control, url: agentUrl },
        'aps1-marketplace': { ...child.control, url: marketUrl, ready: `${marketUrl}/health` },
      },
      async stop() {
        try {
          await child.stop();
        } finally {
          releasePorts();
          await rpc.release();
        }
      },
    };
  } catch (e) {
    releasePorts();
    await rpc.release();
    throw e;
  }
}
