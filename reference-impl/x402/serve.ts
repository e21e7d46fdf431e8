/**
 * Runs the x402 facilitator on its own, for a developer pointing a client or server at it:
 *
 *   npx tsx reference-impl/x402/serve.ts --rpc-url http://127.0.0.1:8545 [--role operator | --private-key 0x..] [--port 4020] [--host 127.0.0.1]
 *
 * Prints one JSON line `{url, address, chainId, tokens}` when listening; stops on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import type { Hex } from 'viem';
import { roleAccount } from '../../harness/chain/index.ts';
import { watchForStop } from '../../harness/services/lifetime.ts';
import { startFacilitator } from './server/facilitator.ts';

const { values } = parseArgs({
  options: {
    'rpc-url': { type: 'string' },
    role: { type: 'string', default: 'operator' },
    'private-key': { type: 'string' },
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});

const rpcUrl = values['rpc-url'] ?? process.env.RPC_URL;
if (!rpcUrl) {
  console.error('error: --rpc-url (or RPC_URL) is required');
  process.exit(2);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`error: --port must be 0..65535, got ${values.port}`);
  process.exit(2);
}
const privateKey = (values['private-key'] ?? roleAccount(values.role!).privateKey) as Hex;
if (!/^0x[0-9a-fA-F]{64}$/.test(privateKey)) {
  console.error('error: --private-key must be 32 bytes of hex');
  process.exit(2);
}

const running = await startFacilitator({ rpcUrl, privateKey, port, host: values.host });
const { facilitator } = running;
console.log(JSON.stringify({ url: running.url, address: facilitator.address, chainId: facilitator.chainId, tokens: facilitator.tokens }));
// Stops on SIGINT/SIGTERM/SIGHUP and when the process that started it exits (npx, npm run).
await watchForStop().reason;
await running.stop();
process.exit(0);
