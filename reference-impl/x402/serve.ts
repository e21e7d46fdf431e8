/**
 * Runs the x402 facilitator on its own, for a developer pointing a client or server at it; with
 * `--resource`, the demo paid resource (server/demo.ts: `GET /premium`, `POST /premium/query`)
 * in front of it too, in one process (what the crash scenarios kill: restartable.ts):
 *
 *   npx tsx reference-impl/x402/serve.ts --rpc-url http://127.0.0.1:8545 [--role operator | --private-key 0x.. | --service-key NAME]
 *       [--port 4020] [--host 127.0.0.1] [--resource [--facilitator-port N] [--pay-to 0x..] [--price $0.01]] [--fault SCOPE.NAME]...
 *
 * `--port` is the facilitator's, or with `--resource` the resource's (the facilitator then takes
 * `--facilitator-port`, default any free one). `--service-key NAME` signs with the harness's service
 * account NAME (harness/chain: no key on the command line). `--fault` turns on one test-only defect:
 * `facilitator.NAME` (FacilitatorFaults), `paywall.NAME` (PaywallConfig faults) or `demo.NAME`
 * (DemoFaults); without one this is the reference implementation.
 *
 * Prints one JSON line `{url, address, chainId, tokens}` (and `resourceUrl` with `--resource`) when
 * listening; stops on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { isAddress, type Address, type Hex } from 'viem';
import { roleAccount, serviceAccount } from '../../harness/chain/index.ts';
import { watchForStop } from '../../harness/services/lifetime.ts';
import { startDemoResource, type DemoFaults } from './server/demo.ts';
import { startFacilitator, type FacilitatorFaults } from './server/facilitator.ts';
import type { PaywallConfig } from './server/paywall.ts';

const { values } = parseArgs({
  options: {
    'rpc-url': { type: 'string' },
    role: { type: 'string', default: 'operator' },
    'private-key': { type: 'string' },
    'service-key': { type: 'string' },
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    resource: { type: 'boolean', default: false },
    'facilitator-port': { type: 'string', default: '0' },
    'pay-to': { type: 'string' },
    price: { type: 'string', default: '$0.01' },
    fault: { type: 'string', multiple: true },
  },
});

function fail(msg: string): never {
  console.error(`error: ${msg}`);
  process.exit(2);
}

const rpcUrl = values['rpc-url'] ?? process.env.RPC_URL;
if (!rpcUrl) fail('--rpc-url (or RPC_URL) is required');
const portOf = (flag: 'port' | 'facilitator-port') => {
  const n = Number(values[flag]);
  if (!Number.isInteger(n) || n < 0 || n > 65535) fail(`--${flag} must be 0..65535, got ${values[flag]}`);
  return n;
};
const port = portOf('port');
const privateKey = (values['private-key'] ?? (values['service-key'] ? serviceAccount(values['service-key']) : roleAccount(values.role!)).privateKey) as Hex;
if (!/^0x[0-9a-fA-F]{64}$/.test(privateKey)) fail('--private-key must be 32 bytes of hex');
const payTo = (values['pay-to'] ?? roleAccount('judge').address) as Address;
if (!isAddress(payTo)) fail(`--pay-to must be an address, got ${payTo}`);

// Test-only defects by scope; the names are the fields of each faults type.
const faults = { facilitator: {} as Record<string, boolean>, paywall: {} as Record<string, boolean>, demo: {} as Record<string, boolean> };
for (const f of values.fault ?? []) {
  const [scope, name] = f.split('.');
  if (!(scope! in faults) || !name || !/^[a-zA-Z]+$/.test(name)) fail(`--fault must be facilitator.NAME, paywall.NAME or demo.NAME, got '${f}'`);
  faults[scope as keyof typeof faults][name] = true;
}

const running = await startFacilitator({
  rpcUrl,
  privateKey,
  port: values.resource ? portOf('facilitator-port') : port,
  host: values.host,
  faults: faults.facilitator as FacilitatorFaults,
});
const { facilitator } = running;
const token = facilitator.tokens[0]!;
const demo = values.resource
  ? await startDemoResource({
      facilitatorUrl: running.url,
      payTo,
      chainId: facilitator.chainId,
      asset: token.address,
      domain: { name: token.name, version: token.version },
      price: values.price,
      host: values.host,
      port,
      faults: { ...(faults.demo as DemoFaults), ...(Object.keys(faults.paywall).length ? { paywall: faults.paywall as NonNullable<PaywallConfig['faults']> } : {}) },
    }).catch(async (e: Error) => {
      await running.stop();
      fail(e.message);
    })
  : undefined;
console.log(JSON.stringify({ url: running.url, address: facilitator.address, chainId: facilitator.chainId, tokens: facilitator.tokens, ...(demo ? { resourceUrl: demo.resourceUrl } : {}) }));
// Stops on SIGINT/SIGTERM/SIGHUP and when the process that started it exits (npx, npm run).
await watchForStop().reason;
await demo?.stop();
await running.stop();
process.exit(0);
