/**
 * The x402 paid resource the crash scenarios kill (capability `restart`): serve.ts `--resource`
 * (the demo resource and its facilitator, in one process) as a supervised child process
 * (harness/services/crashable.ts) beside the in-process reference, on the same chain, with a fixed
 * port and a facilitator key of its own (a service account, so it never races the in-process
 * facilitator for nonces). Its facilitator reaches the chain through the harness's RPC fault proxy,
 * so a scenario can crash it in the middle of a settlement (capability `rpc-faults`). Nothing of it
 * is on disk: what it knew in memory (pending settlements, in-flight claims) dies with it, and a
 * restarted one reads the chain (scenarios/x402/README.md, "Crash and restart").
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rpcCall, serviceAccount, type RunningChain } from '../../harness/chain/index.ts';
import { rpcFaultProxy } from '../../harness/faults/rpc.ts';
import { type CrashableServer, startCrashableServer } from '../../harness/services/crashable.ts';

const SERVE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'serve.ts');
/** The service account the restartable facilitator signs with. */
const KEY = 'x402-facilitator-restartable';
/** Gas for that key (it pays for every settlement): 1,000 ETH. */
const GAS = 1000n * 10n ** 18n;

/**
 * Start it; `args` are more serve.ts flags (`--fault paywall.NAME`, `--pay-to`, ...). Returns before
 * it is up. `url` is its paid `GET /premium` (the restart control's `url`).
 */
export async function startRestartableX402(chain: RunningChain, o: { args?: string[]; log?: (line: string) => void } = {}): Promise<CrashableServer> {
  await rpcCall(chain.rpcUrl, 'anvil_setBalance', [serviceAccount(KEY).address, `0x${GAS.toString(16)}`]);
  const rpc = await rpcFaultProxy(chain.rpcUrl);
  const child = await startCrashableServer({
    name: 'x402-resource',
    script: SERVE,
    args: (_dir, port) => ['--resource', '--rpc-url', rpc.url, '--service-key', KEY, '--port', String(port), ...(o.args ?? [])],
    log: o.log,
  }).catch(async (e) => {
    await rpc.release();
    throw e;
  });
  const url = `${child.url}/premium`;
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
