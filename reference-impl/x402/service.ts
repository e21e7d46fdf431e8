/**
 * The x402 pack's reference service: our facilitator and a demo paid resource (`GET /premium`, and
 * `POST /premium/query` with a JSON body; $0.01 in USDC, paid to the judge role) on the
 * base-sepolia chain. Started by `amh up` and by the reference Target whenever the x402 protocol is
 * selected. The reference target certifies the GET route; the POST route is certified from a target
 * file in certify.test.ts, and serves as the request whose handler fails (a body it refuses).
 * When a selected scenario crashes servers, a second resource with its own facilitator runs beside
 * it as a child process (restartable.ts), the one the crash scenarios kill with SIGKILL: the
 * capability `restart`, with its control for `x402-resource`.
 */
import { roleAccount, rpcCall, serviceAccount, tokenOf } from '../../harness/chain/index.ts';
import { throughRpcFaults } from '../../harness/faults/rpc.ts';
import { defineService } from '../../harness/services/service.ts';
import { startDemoResource } from './server/demo.ts';
import { startFacilitator } from './server/facilitator.ts';
import { startRestartableX402 } from './restartable.ts';

/** Gas for the facilitator's own key (it pays for every settlement): 1,000 ETH. */
const FACILITATOR_GAS = 1000n * 10n ** 18n;

export default defineService({
  name: 'x402-demo',
  protocols: ['x402'],
  chains: ['base-sepolia'],
  async start({ chains, host, log, wants }) {
    const chain = chains.find((c) => c.profile.id === 'base-sepolia')!;
    const usdc = tokenOf(chain.profile, 'usdc');
    // The facilitator signs with a key of its own, so it never races another service for nonces.
    const key = serviceAccount('x402-facilitator');
    await rpcCall(chain.rpcUrl, 'anvil_setBalance', [key.address, `0x${FACILITATOR_GAS.toString(16)}`]);
    // The facilitator reaches its chain through the harness's RPC fault proxy (capability rpc-faults):
    // scenarios can lose the answer to its send and judge what it reports.
    const facilitator = await throughRpcFaults(chain.rpcUrl, (rpcUrl) => startFacilitator({ rpcUrl, privateKey: key.privateKey, host }));
    // Whatever fails after a server started stops it: a failed start must leave nothing listening.
    let demo: Awaited<ReturnType<typeof startDemoResource>> | undefined;
    let restartable: Awaited<ReturnType<typeof startRestartableX402>> | undefined;
    try {
      demo = await startDemoResource({
        facilitatorUrl: facilitator.url,
        // A role no scenario pays from, so x402 balance checks on payTo are not disturbed.
        payTo: roleAccount('judge').address,
        chainId: chain.chainId,
        asset: usdc.address,
        domain: { name: usdc.name, version: usdc.version },
        price: '$0.01',
        host,
      });
      // The crashable child only when a selected scenario crashes servers (it costs a process).
      if (!wants || wants.has('restart')) restartable = await startRestartableX402(chain, { log: (l) => log(`x402 (restartable resource): ${l}`) });
      return {
        endpoints: {
          'x402-resource': demo.resourceUrl,
          'x402-facilitator': facilitator.url,
          // The handler refuses an empty query after the payment verified: it must not be charged.
          'x402-resource-failing': { url: demo.queryUrl, method: 'POST', body: { query: '' } },
        },
        capabilities: ['rpc-faults', ...(restartable ? (['restart'] as const) : [])],
        ...(restartable ? { restart: { 'x402-resource': restartable.control } } : {}),
        facts: { facilitatorAddress: key.address, price: '$0.01', payTo: roleAccount('judge').address, ...(restartable ? { restartable: restartable.url } : {}) },
        // The facilitator forgets what it learned of its node (a scenario's node that refused the
        // sync send would leave it on plain sends for every later scenario); otherwise it keeps only
        // settlements in flight (none between scenarios) and reads its nonces from the chain, and
        // the resources keep no state. The restartable child starts afresh at each restart.
        reset: async () => {
          facilitator.facilitator.forgetNode();
        },
        async stop() {
          await Promise.allSettled([restartable?.stop(), demo!.stop(), facilitator.stop()]);
        },
      };
    } catch (e) {
      await Promise.allSettled([restartable?.stop(), demo?.stop(), facilitator.stop()]);
      throw e;
    }
  },
});
