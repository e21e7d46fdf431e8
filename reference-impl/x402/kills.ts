/**
 * Kill table for `x402`: our facilitator and demo resource with one deliberate defect each (their
 * test-only `faults` switches, or a proxy that mangles the facilitator's answers), on one
 * base-sepolia anvil shared by every variant, described as a Target (endpoints + chain + role
 * accounts only). `simulate: false` lets a defective verify pass a payment the token would refuse,
 * so the defect reaches settlement (where the demo's serveOnSettleFailure then serves it anyway).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { keepAliveFetch, roleAccount, roleAccounts, startChain, tokenOf, type RunningChain, targetChainEntry } from '../../harness/chain/index.ts';
import { throughRpcFaults } from '../../harness/faults/rpc.ts';
import { defineKills } from '../../harness/testing/kill.ts';
import { parseTarget } from '../../harness/target/schema.ts';
import { startDemoResource, type DemoFaults } from './server/demo.ts';
import { startFacilitator, type FacilitatorFaults } from './server/facilitator.ts';
import { startRestartableX402 } from './restartable.ts';

/** Defects a proxy in front of the facilitator adds (the facilitator's own HTTP layer stays as it is). */
type ProxyFault = 'malformed500' | 'supportedOtherNetwork' | 'emptyErrorObject' | 'emptyFailureReason' | 'validInError' | 'transactionInFailure';

interface Variant {
  facilitator?: FacilitatorFaults;
  /** The facilitator's receipt wait (default 30 s): short where a defect makes it wait for a receipt that never comes. */
  receiptTimeoutMs?: number;
  simulate?: boolean;
  demo?: DemoFaults;
  proxy?: ProxyFault;
  /** Faults of the restartable resource the crash scenarios kill (serve.ts --fault SCOPE.NAME); set: it is started. */
  restartable?: string[];
}

/**
 * A proxy in front of `upstream` that answers a client's mistake with 500, lists another network in
 * /supported, answers a client's mistake with `"error": {}` (an Error object through JSON.stringify),
 * empties the reason of every failure it passes on (`"error": {}` in a 5xx, `""` as the
 * invalidReason or errorReason of a refusal), says isValid:true in every 5xx of /verify (a
 * facilitator failing open), or names "n/a" as the transaction of every failed /settle.
 */
async function facilitatorProxy(upstream: string, fault: ProxyFault): Promise<{ url: string; stop(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const up = await keepAliveFetch(`${upstream}${req.url}`, { method: req.method, headers: { 'content-type': 'application/json' }, body: req.method === 'POST' ? body : undefined });
      let text = await up.text();
      let status = up.status;
      if (fault === 'malformed500' && status === 400) status = 500;
      if (fault === 'supportedOtherNetwork' && req.url === '/supported') text = text.replace(/eip155:\d+/g, 'eip155:1').replace(/"base(-sepolia)?"/g, '"ethereum"');
      // Our facilitator answers every POST with JSON (parsed once); a mangling fault changes some of its fields.
      const j = req.method === 'POST' ? (JSON.parse(text) as Record<string, unknown>) : {};
      const put = (fields: Record<string, unknown>) => {
        text = JSON.stringify({ ...j, ...fields });
      };
      if (fault === 'emptyErrorObject' && status >= 400 && status < 500) put({ error: {} });
      if (fault === 'emptyFailureReason' && req.method === 'POST') {
        if (status >= 500) put({ error: {} });
        else if (j.isValid === false) put({ invalidReason: '' });
        else if (j.success === false) put({ errorReason: '' });
      }
      if (fault === 'validInError' && req.url === '/verify' && status >= 500) put({ isValid: true });
      if (fault === 'transactionInFailure' && req.url === '/settle' && j.success !== true) put({ transaction: 'n/a' });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

let chain: RunningChain | undefined;

/** A defect that lets the facilitator pass a payment and the resource serve it when settling fails. */
const passesToServe = (facilitator: FacilitatorFaults): Variant => ({ simulate: false, facilitator, demo: { serveOnSettleFailure: true } });
/** A defect of the proxy in front of the facilitator, against one scenario. */
const proxied = (requirement: string, grep: string, proxy: ProxyFault, defect: string, runs = 1) => ({ requirement, defect, grep, runs, variant: { proxy } });
/** A facilitator fault against one node-fault scenario (one run: each run tries every fault case). */
const nodeFault = (requirement: string, grep: string, fault: keyof FacilitatorFaults, defect: string) => ({ requirement, defect, grep, runs: 1, variant: { facilitator: { [fault]: true } } });

export default defineKills<Variant>({
  protocol: 'x402',
  seed: 11,
  // Two runs: certify.test.ts certifies the reference facilitator and a resource through a target file at 3.
  controlRuns: 2,
  async setup() {
    chain = await startChain({ profile: 'base-sepolia' });
  },
  async teardown() {
    await chain?.stop();
  },
  async start(v) {
    const c = chain!;
    const usdc = tokenOf(c.profile, 'usdc');
    // The facilitator's RPC goes through the harness's fault proxy (capability rpc-faults), as in the reference target.
    const fac = await throughRpcFaults(c.rpcUrl, (rpcUrl) =>
      startFacilitator({ rpcUrl, privateKey: roleAccount('provider').privateKey, faults: v?.facilitator, simulate: v?.simulate ?? true, receiptTimeoutMs: v?.receiptTimeoutMs }),
    );
    const proxy = v?.proxy ? await facilitatorProxy(fac.url, v.proxy) : undefined;
    const demo = await startDemoResource({
      facilitatorUrl: fac.url,
      payTo: roleAccount('judge').address,
      chainId: c.chainId,
      asset: usdc.address,
      domain: { name: usdc.name, version: usdc.version },
      faults: v?.demo,
    }).catch(async (e) => {
      await proxy?.stop();
      await fac.stop();
      throw e;
    });
    // The crashable child (a second resource process) for the control and the crash variants only.
    const restartable =
      !v || v.restartable
        ? await startRestartableX402(c, { args: (v?.restartable ?? []).flatMap((f) => ['--fault', f]) }).catch(async (e) => {
            await Promise.allSettled([demo.stop(), proxy?.stop(), fac.stop()]);
            throw e;
          })
        : undefined;
    const target = parseTarget({
      name: `x402 reference variant ${JSON.stringify(v ?? {})}`,
      chains: [targetChainEntry(c)],
      endpoints: {
        'x402-resource': demo.resourceUrl,
        'x402-facilitator': proxy?.url ?? fac.url,
        'x402-resource-failing': { url: demo.queryUrl, method: 'POST', body: { query: '' } },
      },
      accounts: roleAccounts.map((a) => ({ role: a.role, kind: 'evm', address: a.address, privateKey: a.privateKey })),
      capabilities: ['clock-control', 'set-code', 'impersonate', 'rpc-faults', 'reorg', ...(restartable ? ['restart'] : [])],
      ...(restartable ? { restart: { 'x402-resource': restartable.control } } : {}),
    });
    return {
      target,
      async stop() {
        await restartable?.stop();
        await demo.stop();
        await proxy?.stop();
        await fac.stop();
      },
    };
  },
  variants: [
    { requirement: 'X402-CH-01', defect: 'the 402 carries no challenge', grep: 'x402/challenge$', runs: 2, variant: { demo: { omitChallenge: true } } },
    { requirement: 'X402-CH-02', defect: 'the 402 does not expose PAYMENT-REQUIRED to browsers', grep: 'challenge-cors', runs: 2, variant: { demo: { noCorsExpose: true } } },
    { requirement: 'X402-PAY-01', defect: 'never settles; reports success with a made-up transaction hash', grep: 'pay-exact', runs: 2, variant: { demo: { fakeSettlement: true } } },
    { requirement: 'X402-PAY-01', defect: "settles, but reports the first settlement's hash for later payments", grep: 'pay-exact', runs: 2, variant: { demo: { staleSettlementHash: true } } },
    { requirement: 'X402-PAY-01', defect: 'no PAYMENT-RESPONSE after settling', grep: 'pay-exact', runs: 2, variant: { demo: { omitPaymentResponse: true } } },
    { requirement: 'X402-HDR-01', defect: "a v2 payment's settlement in X-PAYMENT-RESPONSE (the v1 name)", grep: 'pay-exact', runs: 2, variant: { demo: { otherGenerationHeader: true } } },
    { requirement: 'X402-PAY-02', defect: "a refused payment's 402 claims success", grep: 'x402/wrong-payto', runs: 2, variant: { demo: { claimSuccessOnRefusal: true } } },
    { requirement: 'X402-AMT-01', defect: 'facilitator skips the amount check', grep: 'amount-v2-exact', runs: 2, variant: { facilitator: { skipAmountCheck: true } } },
    { requirement: 'X402-AMT-02', defect: 'facilitator skips the amount check (v1)', grep: 'amount-v1-readings', runs: 2, variant: { facilitator: { skipAmountCheck: true } } },
    { requirement: 'X402-NEG-01', defect: 'facilitator skips the recipient check', grep: 'x402/wrong-payto', runs: 2, variant: { facilitator: { skipRecipientCheck: true } } },
    { requirement: 'X402-NEG-02', defect: 'resource serves when payment is refused (fail open)', grep: 'x402/wrong-asset', runs: 2, variant: { demo: { failOpen: true } } },
    { requirement: 'X402-NEG-03', defect: 'resource serves when payment is refused (fail open)', grep: 'x402/wrong-network', runs: 2, variant: { demo: { failOpen: true } } },
    { requirement: 'X402-NEG-04', defect: 'no nonce check, and the resource serves on a failed settlement', grep: 'x402/replay$', runs: 2, variant: passesToServe({ skipNonceCheck: true }) },
    {
      requirement: 'X402-NEG-05',
      defect: "paywall trusts the payload's `accepted` instead of its own requirements",
      grep: 'x402/tampered-accepted',
      runs: 2,
      variant: { demo: { paywall: { trustAccepted: true } } },
    },
    { requirement: 'X402-NEG-06', defect: 'a malformed header crashes the resource (500)', grep: 'malformed-header', runs: 2, variant: { demo: { crashOnMalformed: true } } },
    { requirement: 'X402-NEG-07', defect: 'an oversized header crashes the resource (500)', grep: 'huge-header', runs: 2, variant: { demo: { crashOnMalformed: true } } },
    {
      requirement: 'X402-NEG-08',
      defect: 'facilitator reads the host clock, and the resource serves on a failed settlement',
      grep: 'expires-before-settlement',
      runs: 2,
      variant: passesToServe({ hostClock: true }),
    },
    {
      requirement: 'X402-NEG-09',
      defect: 'facilitator skips the validAfter check, and the resource serves on a failed settlement',
      grep: 'not-yet-valid',
      runs: 2,
      variant: passesToServe({ skipValidAfterCheck: true }),
    },
    {
      requirement: 'X402-NEG-10',
      defect: 'facilitator skips the signature check, and the resource serves on a failed settlement',
      grep: 'bad-signature',
      runs: 2,
      variant: passesToServe({ skipSignatureCheck: true }),
    },
    {
      requirement: 'X402-NEG-11',
      defect: 'facilitator skips the balance check, and the resource serves on a failed settlement',
      grep: 'insufficient-balance',
      runs: 2,
      variant: passesToServe({ skipBalanceCheck: true }),
    },
    {
      requirement: 'X402-NEG-11',
      defect: 'the resource serves although settlement failed (funds for one payment, two sent at once)',
      grep: 'insufficient-balance-race',
      runs: 2,
      variant: { demo: { serveOnSettleFailure: true } },
    },
    { requirement: 'X402-SET-01', defect: 'the resource settles although the handler failed', grep: 'failed-work', runs: 2, variant: { demo: { settleOnHandlerError: true } } },
    {
      requirement: 'X402-RACE-01',
      defect: 'no replay guard, no nonce check, and the resource serves on a failed settlement',
      grep: 'replay-race',
      runs: 4,
      variant: { simulate: false, facilitator: { skipNonceCheck: true }, demo: { serveOnSettleFailure: true, paywall: { noReplayGuard: true } } },
    },
    { requirement: 'X402-RACE-01', defect: 'the race loser gets a 500 instead of a 4xx', grep: 'replay-race', runs: 6, variant: { demo: { crashOnDuplicate: true } } },
    {
      requirement: 'X402-FLT-01',
      defect: 'the retry of a settled payment whose answer was lost is served again without a settlement (no nonce check, serves on a failed settlement)',
      grep: 'fault-lost-retry',
      runs: 2,
      variant: passesToServe({ skipNonceCheck: true }),
    },
    { requirement: 'X402-FLT-02', defect: 'one of two deliveries of a paid request gets a 500', grep: 'fault-duplicate-delivery', runs: 4, variant: { demo: { crashOnDuplicate: true } } },
    {
      requirement: 'X402-FLT-02',
      defect: 'no replay guard, no nonce check, serves on a failed settlement: the second delivery is served without a settlement',
      grep: 'fault-duplicate-delivery',
      runs: 2,
      variant: { simulate: false, facilitator: { skipNonceCheck: true }, demo: { serveOnSettleFailure: true, paywall: { noReplayGuard: true } } },
    },
    {
      requirement: 'X402-FLT-03',
      defect: 'the facilitator reports a settlement whose send answer was lost as failed, although it landed',
      grep: 'fault-facilitator-lost-send',
      runs: 2,
      variant: { facilitator: { lostSendIsFailure: true } },
    },
    {
      requirement: 'X402-FLT-04',
      defect: 'the facilitator waits for a transaction whose send never reached the node instead of sending it again: settlement_pending for a transaction the node never saw',
      grep: 'fault-facilitator-send-never-arrived',
      runs: 1,
      variant: { facilitator: { noRebroadcast: true }, receiptTimeoutMs: 1500 },
    },
    {
      requirement: 'X402-SW-01',
      defect: "the facilitator handles 65-byte (EOA) signatures only: a deployed smart wallet's own 97-byte signature is refused as invalid",
      grep: 'smart-wallet-payer',
      runs: 1,
      variant: { facilitator: { eoaSignaturesOnly: true } },
    },
    {
      requirement: 'X402-SIG-01',
      defect: "the facilitator reads v only from the parsed signature's v field: a signature with v written as its parity (0/1) makes /verify answer 500, and the resource 502",
      grep: 'signature-parity-v',
      runs: 1,
      variant: { facilitator: { vFieldOnly: true } },
    },
    nodeFault(
      'X402-FLT-11',
      'fault-facilitator-nonce-taken',
      'chainNonceOnly',
      'the facilitator reports a send refused for a nonce another sender took as it is, without counting again: the payment is refused although a second send would settle it',
    ),
    nodeFault(
      'X402-FLT-05',
      'fault-facilitator-no-sync-send',
      'sendErrorIsPending',
      "the facilitator reports any error answer to its send as settlement_pending with the hash, also the node's refusal of eth_sendRawTransactionSync (a pending transaction the node never took)",
    ),
    {
      requirement: 'X402-FLT-10',
      defect: "the facilitator waits for the receipt of a send the node refused (nonce too low) and answers settlement_pending with that transaction's hash, which never lands",
      grep: 'fault-facilitator-nonce-taken',
      runs: 1,
      variant: { facilitator: { refusedSendAwaited: true }, receiptTimeoutMs: 1500 },
    },
    nodeFault(
      'X402-FLT-06',
      'fault-facilitator-no-sync-send',
      'noSendFallback',
      'the facilitator has no eth_sendRawTransaction fallback: on a node without eth_sendRawTransactionSync every settlement fails',
    ),
    nodeFault(
      'X402-FLT-07',
      'fault-facilitator-send-timeout-answer',
      'lostSendIsFailure',
      'the facilitator reports a settlement whose send was answered with a timeout error or a gateway 504 as failed, although the node mined it',
    ),
    nodeFault(
      'X402-FLT-07',
      'fault-facilitator-send-timeout-answer',
      'forgetPending',
      'the facilitator answers settlement_pending without remembering the transaction: the retried /settle refuses the landed payment (nonce already used)',
    ),
    nodeFault(
      'X402-FLT-07',
      'fault-facilitator-send-timeout-answer',
      'neverClearPending',
      'the facilitator never forgets a pending transaction once it settled: the settled payment sent again is answered success again',
    ),
    nodeFault(
      'X402-FLT-09',
      'fault-facilitator-plain-node',
      'noReadFallback',
      'the facilitator needs eth_createAccessList and a pending block of its node: on a node without them an honest payment is neither verified nor settled',
    ),
    nodeFault(
      'X402-FLT-12',
      'fault-facilitator-node-execution-fails',
      'nodeErrorBlamesPayment',
      "the facilitator reads a call its node failed (an execution timeout) as the token's answer: a valid payment is refused as invalid_exact_evm_eip3009_not_supported",
    ),
    nodeFault(
      'X402-FLT-12',
      'fault-facilitator-node-execution-fails',
      'simulationErrorBlamesPayment',
      "the facilitator reads a simulation its node failed (an execution timeout; the token's reads answered) as the payment's revert: /verify refuses a valid payment as simulation failed",
    ),
    nodeFault(
      'X402-FLT-12',
      'fault-facilitator-node-execution-fails',
      'countErrorBlamesPayment',
      "the facilitator reads a failed count of its own transactions (a gateway's rate limit) as the payment's failure: /settle answers invalid_exact_evm_transaction_failed",
    ),
    nodeFault(
      'X402-FAC-03',
      'fault-resource-settlement-pending',
      'neverClearPending',
      'the facilitator keeps a pending transaction after it settled: the payment the resource served after settlement_pending, sent to /settle again, is answered success again',
    ),
    {
      requirement: 'X402-SET-03',
      defect: 'the resource keeps its in-flight claim on an authorization after the settlement ended: a payment whose settlement failed is answered duplicate_settlement for good',
      grep: 'fault-resource-send-refused',
      runs: 1,
      variant: { demo: { paywall: { claimOutlivesSettle: true } } },
    },
    {
      requirement: 'X402-SET-02',
      defect: 'the 402 after a failed settlement carries no PAYMENT-RESPONSE (v2 asks for one with success:false)',
      grep: 'fault-resource-send-refused',
      runs: 1,
      variant: { demo: { paywall: { noFailureHeader: true } } },
    },
    {
      requirement: 'X402-SET-02',
      defect:
        "the facilitator answers any error to its send as settlement_pending with the refused transaction's hash: asked directly while the node refuses every send, it claims a pending settlement the node never took",
      grep: 'fault-resource-send-refused',
      runs: 1,
      variant: { facilitator: { sendErrorIsPending: true }, receiptTimeoutMs: 1500 },
    },
    {
      requirement: 'X402-FAC-03',
      defect:
        'the facilitator reports every mined settlement as settled without reading the receipt: of authorizations of a payer with funds for one, sent at once, a reverted transfer is reported settled too',
      grep: 'facilitator-settle-concurrent',
      // Both runs: the race it needs (two pass the checks before one lands) may not happen on a loaded machine in one.
      runs: 2,
      variant: { facilitator: { revertedIsSettled: true } },
    },
    {
      requirement: 'X402-FLT-08',
      defect: 'the paywall takes settlement_pending as a failed settlement (402, never asks again): the buyer pays and is never served',
      grep: 'fault-resource-settlement-pending',
      runs: 1,
      variant: { demo: { paywall: { pendingIsFailure: true } } },
    },
    {
      requirement: 'X402-RST-01',
      defect: 'after a restart the paywall takes a payment whose authorization is already used as one it settled before the crash and serves it, naming no settlement of its own',
      grep: 'x402/restart-answer-held',
      runs: 1,
      variant: { restartable: ['paywall.usedNonceIsPaid'] },
    },
    {
      requirement: 'X402-ORG-01',
      defect: 'the facilitator answers a payment sent again from its memory of the settlement, without reading the chain: a reorged-out settlement is reported settled',
      grep: 'facilitator-settle-reorg',
      runs: 1,
      variant: { facilitator: { settledFromMemory: true } },
    },
    proxied('X402-FAC-01', 'facilitator-supported', 'supportedOtherNetwork', '/supported lists another network', 2),
    {
      requirement: 'X402-FAC-02',
      defect: '/verify skips the nonce check (and does not simulate)',
      grep: 'facilitator-verify',
      runs: 2,
      variant: { simulate: false, facilitator: { skipNonceCheck: true } },
    },
    { requirement: 'X402-FAC-02', defect: '/verify skips the recipient check', grep: 'facilitator-verify', runs: 2, variant: { facilitator: { skipRecipientCheck: true } } },
    {
      requirement: 'X402-FAC-03',
      defect: '/settle skips the recipient check (pays whoever the authorization names)',
      grep: 'facilitator-settle',
      runs: 2,
      variant: { facilitator: { skipRecipientCheck: true } },
    },
    {
      requirement: 'X402-FAC-05',
      defect: "the facilitator numbers each send by the chain's pending count alone: settlements sent at once take the same nonce, and all but one fail",
      grep: 'facilitator-settle-concurrent',
      // Two bursts: one burst whose four requests happen to arrive spread out (a loaded machine) shows no collision.
      runs: 2,
      variant: { facilitator: { chainNonceOnly: true } },
    },
    proxied('X402-FAC-04', 'facilitator-malformed', 'malformed500', 'a malformed /verify or /settle body gets 500', 2),
    proxied('X402-FAC-04', 'facilitator-malformed', 'emptyErrorObject', 'the 4xx for a malformed /verify or /settle body carries "error": {} (an Error object serialized with JSON.stringify)'),
    proxied('X402-FAC-04', 'facilitator-malformed', 'transactionInFailure', 'a /settle refused for a malformed body names "n/a" as its transaction', 2),
    proxied(
      'X402-FLT-12',
      'fault-facilitator-node-execution-fails',
      'emptyFailureReason',
      'the facilitator answers the node\'s failure with an empty reason ("error": {} in its 5xx, "" as the reason of its refusal): the failure is named by nothing',
    ),
    proxied('X402-FLT-12', 'fault-facilitator-node-execution-fails', 'validInError', "the facilitator fails open: the 500 of its /verify for the node's failure says isValid:true"),
    proxied('X402-FLT-12', 'fault-facilitator-node-execution-fails', 'transactionInFailure', 'a /settle failed by the node\'s failure names "n/a" as its transaction'),
    {
      requirement: 'X402-ROB-01',
      defect: 'the paywall reads the payload\'s authorization numbers with BigInt() before checking them (500 on "1e6" or "0x")',
      grep: 'x402/robustness',
      runs: 5,
      variant: { demo: { bigIntOnPayload: true } },
    },
    {
      requirement: 'X402-ROB-01',
      defect: 'the paywall guards every path and settles whatever the handler answered: a valid payment sent with another method or to an unpublished path is settled, then refused (404)',
      grep: 'x402/robustness',
      runs: 5,
      variant: { demo: { paywallOnEveryPath: true, settleOnHandlerError: true } },
    },
  ],
});
