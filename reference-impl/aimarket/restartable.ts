/**
 * The AI Market hub the crash scenarios kill (capability `restart`): serve.ts `--hub-only` as a
 * supervised child process (harness/services/crashable.ts) beside the in-process hubs, on the same
 * chain, with a fixed port and its own SQLite file in the crashable state directory that outlives
 * each SIGKILL. It signs with its own lab key and is paid to a wallet of its own (a service account
 * given gas here), so its refunds never race the in-process hub's nonces. The in-process hubs keep
 * serving every other scenario.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RunningChain, rpcCall, serviceAccount } from '../../harness/chain/index.ts';
import { type CrashableServer, startCrashableServer } from '../../harness/services/crashable.ts';

const SERVE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'serve.ts');
/** The restartable hub's wallet: the payment recipient and the sender of its channel refunds. */
export const RESTARTABLE_WALLET = serviceAccount('aimarket-restartable-hub');
/** Gas for its refunds (ether, not tokens: the refunds themselves come from the deposits it received). */
const GAS_WEI = 10n ** 20n;

/** Start it; `args` are more serve.ts flags (`--fault NAME`, `--channel-ttl S`). Returns before it is up. */
export async function startRestartableAimHub(chain: RunningChain, o: { args?: string[]; log?: (line: string) => void } = {}): Promise<CrashableServer> {
  await rpcCall(chain.rpcUrl, 'anvil_setBalance', [RESTARTABLE_WALLET.address, `0x${GAS_WEI.toString(16)}`]);
  return startCrashableServer({
    name: 'aimarket-hub',
    script: SERVE,
    args: (dir, port) => ['--rpc', chain.rpcUrl, '--hub-only', '--port', String(port), '--db', path.join(dir, 'hub.sqlite'), ...(o.args ?? [])],
    log: o.log,
  });
}
