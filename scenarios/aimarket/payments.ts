/**
 * Per-call payment: the 402 requirement, the on-chain check of X-Payment (every attack kind in every
 * run: a counterfeit token, another recipient, one base unit short, a hash not on chain, a demo hash),
 * the correct payment with its signed receipt (tampered copies refused), the receipt lookup, the
 * stats feed, and a transaction hash presented twice (to the same and another capability, and to
 * open a channel).
 */
import fc from 'fast-check';
import { type Address, createWalletClient, type Hex } from 'viem';
import { keepAliveTransport } from '../../harness/chain/transport.ts';
import type { RunContext } from '../../harness/engine/context.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import type { ChainSession } from '../../harness/engine/session.ts';
import { COUNTERFEIT_TOKEN_CODE, tamperedReceipts } from '../../reference-impl/aimarket/agents/adversary.ts';
import { checkReceipt, receiptOf, requirementOf } from '../../reference-impl/aimarket/agents/buyer.ts';
import { parseUsdMicros } from '../../reference-impl/aimarket/protocol/money.ts';
import { PyFloat, type PyValue } from '../../reference-impl/aimarket/protocol/pyjson.ts';
import { signerFromSeed, verifiesUnderAnyGeneration, verifyReceipt } from '../../reference-impl/aimarket/protocol/sign.ts';
import { chainFor, discovered, HUB, hubOf, payerOf, short, textTools, transfersIn } from './lab.ts';

async function counterfeitToken(ctx: RunContext, s: ChainSession, role: string): Promise<Address> {
  const wallet = createWalletClient({ account: s.account(role), chain: s.public.chain, transport: keepAliveTransport(s.spec.rpcUrl) });
  ctx.act(`${role} deploys a counterfeit token that emits ERC-20 Transfer events`);
  const hash = await wallet.sendTransaction({ data: COUNTERFEIT_TOKEN_CODE, chain: s.public.chain });
  const r = await s.public.waitForTransactionReceipt({ hash, pollingInterval: 20 });
  if (r.status !== 'success' || !r.contractAddress) throw new Indeterminate('AIM-PAY-02', 'setup: the counterfeit token did not deploy');
  return r.contractAddress;
}

const ATTACKS = ['counterfeit-token', 'other-recipient', 'one-unit-short', 'not-on-chain', 'demo-hash'] as const;
type Attack = (typeof ATTACKS)[number];

type Doc = { [k: string]: PyValue };

export const payPerCall = defineScenario({
  kind: 'property',
  id: 'pay-per-call',
  title: '402 → X-Payment: the requirement, every bad payment refused, the exact one paid once with a verifying receipt, lookup and stats',
  requirements: ['AIM-PAY-01', 'AIM-PAY-02', 'AIM-PAY-03', 'AIM-RCP-01', 'AIM-RCP-03', 'AIM-SIG-02', 'AIM-STA-01'],
  ...HUB,
  roles: ['buyer1', 'buyer2'],
  signers: ['attacker'],
  arbitrary: () =>
    fc.record({
      tool: fc.nat(),
      text: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !s.includes('fail')),
      payer: fc.constantFrom('buyer1', 'buyer2'),
      attacks: fc.shuffledSubarray([...ATTACKS], { minLength: ATTACKS.length }),
    }),
  async run(ctx, v) {
    const hub = hubOf(ctx);
    const d = await discovered(ctx, hub, 'AIM-PAY-01');
    const tools = textTools(d.manifest.tools);
    if (!tools.length) throw new Indeterminate('AIM-PAY-01', 'the catalog has no tool callable with {text}');
    const t = tools[v.tool % tools.length]!;
    const input = { text: v.text };
    const statsBefore = await hub.stats();
    ctx.act(`${v.payer} invokes ${t.name} without paying`);
    const unpaid = await hub.invoke(t.product_id, t.capability_id, input);
    ctx.expectStatus('AIM-PAY-01', { status: unpaid.status, body: unpaid.body }, 402, 'an unpaid invoke answers 402');
    const rq = requirementOf(unpaid);
    ctx.check('AIM-PAY-01', rq.ok, `X-Payment-Required is raw JSON with amount, token, chain, recipient, nonce (${rq.ok ? 'ok' : rq.reason})`, {
      expected: 'raw JSON requirement',
      actual: unpaid.headers.get('x-payment-required') ?? '(absent)',
    });
    if (!rq.ok) return;
    const { req, amount } = rq;
    ctx.check('AIM-PAY-01', typeof req.expires_at === 'string' && typeof req.receipt_url === 'string', 'the requirement names expires_at and receipt_url', {
      expected: 'both',
      actual: JSON.stringify(req),
    });
    ctx.check('AIM-PAY-01', amount >= parseUsdMicros(t.price_per_call_usd), 'the amount is at least the manifest price', { expected: `>= ${t.price_per_call_usd}`, actual: req.amount });
    const tokens = d.wellKnown.supported_tokens;
    const chains = d.wellKnown.supported_chains;
    if (tokens) ctx.check('AIM-PAY-01', tokens.includes(req.token), 'the token is a supported token', { expected: tokens.join('|'), actual: req.token });
    if (chains) ctx.check('AIM-PAY-01', chains.includes(req.chain), 'the chain is a supported chain', { expected: chains.join('|'), actual: req.chain });
    const chain = await chainFor(ctx, req, 'AIM-PAY-02');
    const payer = payerOf(ctx, chain.session, v.payer);

    for (const kind of v.attacks as Attack[]) {
      let hash: string;
      if (kind === 'counterfeit-token') {
        const fake = await counterfeitToken(ctx, chain.session, v.payer);
        const r = await payer.transfer(fake, req.recipient, amount);
        if (!r.ok) throw new Indeterminate('AIM-PAY-02', `setup: counterfeit transfer failed (${r.reason})`);
        hash = r.hash;
      } else if (kind === 'other-recipient') {
        const r = await payer.transfer(chain.token, chain.session.address('attacker'), amount);
        if (!r.ok) throw new Indeterminate('AIM-PAY-02', `setup: transfer failed (${r.reason})`);
        hash = r.hash;
      } else if (kind === 'one-unit-short') {
        const r = await payer.transfer(chain.token, req.recipient, amount - 1n);
        if (!r.ok) throw new Indeterminate('AIM-PAY-02', `setup: transfer failed (${r.reason})`);
        hash = r.hash;
      } else if (kind === 'not-on-chain') {
        hash = `0x${[...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
      } else {
        hash = `demo-${Math.random().toString(36).slice(2)}`;
      }
      ctx.act(`${v.payer} presents ${kind} payment ${short(hash)}`);
      const a = await hub.invoke(t.product_id, t.capability_id, input, { txHash: hash, chain: req.chain });
      ctx.expectRefused('AIM-PAY-02', { status: a.status, body: a.body }, `a ${kind} payment is refused with a 4xx`);
      ctx.check('AIM-PAY-02', (a.body as { success?: unknown } | undefined)?.success !== true && receiptOf(a.text) === undefined, `a ${kind} payment runs nothing (no result, no receipt)`, {
        expected: 'no receipt',
        actual: a.text.slice(0, 160),
      });
    }

    const tx = await payer.transfer(chain.token, req.recipient, amount);
    if (!tx.ok) throw new Indeterminate('AIM-PAY-02', `setup: the payment transfer failed (${tx.reason})`);
    const moved = await transfersIn(chain.session, chain.token, tx.hash as Hex);
    if (!moved?.some((m) => m.to.toLowerCase() === req.recipient.toLowerCase() && m.value === amount)) throw new Indeterminate('AIM-PAY-02', 'setup: the payment did not move on chain');
    ctx.act(`${v.payer} retries with X-Payment {"tx_hash": ${short(tx.hash)}}`);
    const paid = await hub.invoke(t.product_id, t.capability_id, input, { txHash: tx.hash, chain: req.chain });
    ctx.expectStatus('AIM-PAY-02', { status: paid.status, body: paid.body }, 200, 'the exact payment is accepted');
    ctx.check('AIM-PAY-02', (paid.body as { success?: unknown }).success === true, 'the paid call succeeds with a result', { expected: 'success: true', actual: paid.text.slice(0, 200) });
    const pinned = d.wellKnown.signer_public_key;
    const rc = receiptOf(paid.text);
    if (!rc) {
      ctx.check('AIM-RCP-01', false, 'the paid call returns a receipt', { expected: 'receipt', actual: paid.text.slice(0, 200) });
      return;
    }
    // Tampered copies of the receipt (the negative vectors' kinds, on this hub's own receipt).
    const sig = rc.signature as Doc;
    const tamper = tamperedReceipts(rc);
    for (const [what, doc] of tamper)
      ctx.check('AIM-SIG-02', !verifiesUnderAnyGeneration(doc, pinned, 'receipt'), `a receipt with ${what} verifies under no canonical generation`, { expected: 'refused', actual: 'verifies' });
    ctx.check('AIM-SIG-02', !verifyReceipt(rc, signerFromSeed('43'.repeat(32)).publicB64).ok, 'the receipt does not verify under another key', { expected: 'refused', actual: 'verifies' });

    const verdict = checkReceipt(paid.text, pinned);
    ctx.check('AIM-RCP-01', verdict.ok, `the receipt verifies under the pinned key (${verdict.generation}: ${verdict.reason})`, {
      expected: 'receipt-v1-7field | receipt-v2',
      actual: verdict.generation,
    });
    ctx.expectEqual('AIM-RCP-01', [rc.product_id, rc.capability_id, rc.success], [t.product_id, t.capability_id, true], 'the receipt names this call and success');
    const rprice = parseUsdMicros(rc.price_usd instanceof PyFloat ? rc.price_usd.value : rc.price_usd);
    ctx.check('AIM-RCP-01', rprice === amount || rprice === parseUsdMicros(t.price_per_call_usd), 'the receipt’s price_usd is the price paid', {
      expected: `${req.amount} or ${t.price_per_call_usd}`,
      actual: String(rc.price_usd),
    });
    const bodyPrice = (paid.body as { price_usd?: unknown }).price_usd;
    if (bodyPrice !== undefined) ctx.expectEqual('AIM-RCP-01', parseUsdMicros(bodyPrice), rprice, 'the body’s price_usd agrees with the receipt');

    ctx.act(`the buyer looks the receipt up: GET /ai-market/receipt/${rc.nonce}`);
    const look = await hub.receipt(String(rc.nonce));
    ctx.expectStatus('AIM-RCP-03', { status: look.status, body: look.body }, 200, 'the receipt nonce is found');
    const lv = checkReceipt(look.text, pinned);
    ctx.check('AIM-RCP-03', lv.ok && (receiptOf(look.text)?.signature as Doc | undefined)?.value === sig.value, 'it is the same signed receipt', {
      expected: String(sig.value),
      actual: look.text.slice(0, 200),
    });
    const unknown = await hub.receipt(`rcpt_${Math.random().toString(36).slice(2)}`);
    ctx.expectStatus('AIM-RCP-03', { status: unknown.status, body: unknown.body }, 404, 'an unknown nonce answers 404');

    ctx.act(`${v.payer} presents ${short(tx.hash)} again`);
    const again = await hub.invoke(t.product_id, t.capability_id, input, { txHash: tx.hash, chain: req.chain });
    ctx.expectRefused('AIM-PAY-03', { status: again.status, body: again.body }, 'a used transaction hash is refused for the same capability');
    const other = tools.find((x) => x !== t && parseUsdMicros(x.price_per_call_usd) <= amount);
    if (other) {
      const o = await hub.invoke(other.product_id, other.capability_id, input, { txHash: tx.hash, chain: req.chain });
      ctx.expectRefused('AIM-PAY-03', { status: o.status, body: o.body }, `a used transaction hash is refused for ${other.name}`);
    }
    if (amount % 10_000n === 0n) {
      const ch = await hub.openChannel(Number(amount) / 1e6, tx.hash);
      ctx.expectRefused('AIM-PAY-03', { status: ch.status, body: ch.body }, 'a used transaction hash cannot open a channel');
    }
    const statsAfter = await hub.stats();
    const count = (s: typeof statsAfter) => (s.body as { invocations?: unknown } | undefined)?.invocations;
    if (statsBefore.status === 200 && typeof count(statsBefore) === 'number')
      ctx.check('AIM-STA-01', statsAfter.status === 200 && (count(statsAfter) as number) > (count(statsBefore) as number), 'the stats feed counted the paid call', {
        expected: `> ${count(statsBefore)}`,
        actual: count(statsAfter),
      });
    else
      ctx.check('AIM-STA-01', false, 'GET /ai-market/stats answers 200 with an invocation count', { expected: '200 {invocations}', actual: `${statsBefore.status} ${statsBefore.text.slice(0, 100)}` });
  },
});
