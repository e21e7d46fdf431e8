/**
 * The x402 facilitator under a real reorg (`anvil_reorg`, capability `reorg`): /settle reports a
 * settlement, then every block from the settlement's block up is replaced by a new branch of the
 * same height without it, so the authorization's nonce is unused again, and the same payment is
 * sent to /settle again. The facilitator must answer from the chain (X402-ORG-01): settle it again,
 * once, with a transaction on chain when it answers, or refuse it with nothing moved; never a
 * success from memory naming the transaction the reorg removed.
 */
import fc from 'fast-check';
import { TransactionReceiptNotFoundError, type Hex } from 'viem';
import { depthFrom, reorg } from '../../harness/chain/index.ts';
import type { RunContext } from '../../harness/engine/context.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import type { Settlement } from './client.ts';
import { FBASE, bodyOf, facilitatorVersions, post, showAnswer, type FacilitatorAnswer } from './facilitator-scenarios.ts';
import { isPending, PENDING_RETRIES } from './fault-scenarios.ts';
import { BUYERS, expectPaid, expectSettledOnChain, expectUnchanged, holdings, networkOf, nonceUsed, offer, sign, type Offer, type Signed } from './lab.ts';

const REQ = 'X402-ORG-01';

/** POST /settle of `p`, asked again (at most PENDING_RETRIES times) while it answers settlement_pending. */
async function settleToEnd(ctx: RunContext, o: Offer, p: Signed): Promise<FacilitatorAnswer> {
  let a = await post(ctx, '/settle', bodyOf(o, p));
  for (let retry = 1; retry <= PENDING_RETRIES && isPending(a); retry++) {
    ctx.act(`POST /settle again with the same payment (retry ${retry}: reconcile the pending settlement)`);
    a = await post(ctx, '/settle', bodyOf(o, p));
  }
  return a;
}

/** The block that holds a transaction, or undefined when it is not on chain. */
async function blockOf(o: Offer, hash: Hex): Promise<bigint | undefined> {
  try {
    return (await o.s.public.getTransactionReceipt({ hash })).blockNumber;
  } catch (e) {
    if (e instanceof TransactionReceiptNotFoundError) return undefined;
    throw e;
  }
}

export const settleReorg = defineScenario({
  kind: 'property',
  id: 'facilitator-settle-reorg',
  title: 'A settlement /settle reported is reorged out; the same payment sent to /settle again is settled again from the chain, once, or refused with nothing moved; never "settled" from memory',
  requirements: [REQ],
  ...FBASE,
  capabilities: ['reorg'],
  // Each run reorgs once per version; more runs only vary the buyer and the blocks on top.
  maxRuns: 2,
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS), extra: fc.integer({ min: 0, max: 2 }) }),
  async run(ctx, v) {
    const o = await offer(ctx);
    const payer = o.s.address(v.buyer);
    const rpcUrl = o.s.spec.rpcUrl;
    for (const version of await facilitatorVersions(ctx, o)) {
      const amount = BigInt(version === 2 ? o.req.amount : (o.v1?.maxAmountRequired ?? o.req.amount));
      const expected = { payer, amount, network: networkOf(o, version), version };
      const snap = await holdings(ctx, o, payer);
      const p = await sign(ctx, o, v.buyer, version);
      ctx.act(`POST /settle (v${version}): ${v.buyer}'s honest payment of ${amount}`);
      const first = await settleToEnd(ctx, o, p);
      if (first.json?.success !== true) throw new Indeterminate(REQ, `the facilitator did not settle an honest payment (${showAnswer(first)}): there is no settlement to reorg`);
      const tx = await expectSettledOnChain(ctx, REQ, o, first.json as Settlement, { ...expected, nonce: p.auth.nonce as Hex });
      const mined = (await blockOf(o, tx))!;
      if (v.extra) await o.s.test.mine({ blocks: v.extra });
      const depth = await depthFrom(rpcUrl, mined);
      ctx.act(`a reorg replaces the last ${depth} blocks (from the settlement's block ${mined} up) with blocks without it`);
      const r = await reorg(rpcUrl, depth);
      if ((await blockOf(o, tx)) !== undefined || (await nonceUsed(o, p.auth))) throw new Indeterminate(REQ, `the reorg did not remove the settlement ${tx}`);
      ctx.evidence.note(`reorg: blocks ${r.replaced.map((b) => b.number).join(', ')} replaced; ${tx} is no longer on chain and the authorization is unused again`);
      ctx.act('POST /settle again with the same payment (its settlement is no longer on chain)');
      const again = await settleToEnd(ctx, o, p);
      ctx.check(REQ, again.status < 500, '/settle of the payment whose settlement was reorged out answers (not a 5xx)', { expected: '200 (or a 4xx)', actual: showAnswer(again) });
      if (again.json?.success === true) {
        // Checked at once: the transaction it names must be on chain when it answers.
        await expectSettledOnChain(ctx, REQ, o, again.json as Settlement, { ...expected, nonce: p.auth.nonce as Hex });
        await expectPaid(ctx, REQ, o, snap, amount, 'a payment settled, reorged out and settled again: once on the new branch');
      } else {
        if (isPending(again)) throw new Indeterminate(REQ, `the payment sent again is still settlement_pending after ${PENDING_RETRIES} retries (${showAnswer(again)})`);
        await expectUnchanged(ctx, REQ, o, snap, p.auth, `the payment refused after its settlement was reorged out (${showAnswer(again)})`);
      }
    }
  },
});

export const reorgScenarios = [settleReorg];
