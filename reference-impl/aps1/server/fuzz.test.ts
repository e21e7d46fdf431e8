/**
 * Malformed-input fuzzing of the APS-1 reference servers (the honest agent and the marketplace):
 * thousands of seeded requests from the protocol library's generator (protocol/fuzz.ts, shared with
 * the robustness scenario APS-ROB-01), sent byte for byte by harness/robustness/http.ts, across every
 * route of both servers: wrong methods and paths, bodies that are not JSON or not an object, bodies
 * past the limit, envelopes, negotiation messages and hires broken one field at a time (with the real
 * unused escrow or the caller's real signature inside), forged or missing caller signatures,
 * transport-level defects. This test sends all of them, the ones only the reference's strict
 * reading refuses included (the scenario keeps those from third parties).
 *
 * Per request: no 5xx, a 4xx for anything aimed at a state-changing route, every refusal a JSON
 * `{error}`. After the run: every server's SQLite content, the token balances of every party and
 * contract, the servers' nonces, the escrows' counters and the block height are exactly what they
 * were; and the unused escrow named by thousands of refused envelopes still pays for a valid one.
 *
 * Env: FUZZ_SEED (default 2026_0412), FUZZ_RUNS (default 2400).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import http from 'node:http';
import { afterAll, beforeAll, test } from 'vitest';
import type { Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { robustnessProblem } from '../../../harness/robustness/batch.ts';
import { describeRequest, sendRaw, type NoAnswer, type RawAnswer } from '../../../harness/robustness/http.ts';
import { agentClient } from '../agents/clients.ts';
import { allowAll, envelope, escrowNexus, negotiation, payDirect, type Escrow } from '../agents/employer.ts';
import { malformedRequest, signHire, type Aps1FuzzContext, type Aps1FuzzRequest, type Aps1Server } from '../protocol/fuzz.ts';
import { nexusAbi, proofAbi, streamAbi } from '../protocol/abi.ts';
import { startLab, type Lab } from './testkit.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 2026_0412);
const RUNS = Number(process.env.FUZZ_RUNS ?? 2400);

let lab: Lab;
let unused: Escrow;
let before: string;
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });

async function snapshot(): Promise<string> {
  const { chain, stack, contracts, alpha } = lab;
  const { createPublicClient, http } = await import('viem');
  const pub = createPublicClient({ transport: http(chain.rpcUrl) });
  const who = [
    ...['buyer1', 'buyer2', 'judge', 'attacker'].map((r) => lab.actor(r).address),
    ...stack.agents.map((a) => a.server.wallet),
    stack.marketplace.address,
    contracts.nexus,
    contracts.stream,
  ];
  const state = {
    block: (await pub.getBlockNumber()).toString(),
    balances: await Promise.all(who.map(async (w) => (await lab.balance(alpha, w as Address)).toString())),
    nonces: await Promise.all([...stack.agents.map((a) => a.server.wallet), stack.marketplace.address].map((w) => pub.getTransactionCount({ address: w }))),
    nexus: (await pub.readContract({ address: contracts.nexus, abi: nexusAbi, functionName: 'nextJobId' })).toString(),
    streams: (await pub.readContract({ address: contracts.stream, abi: streamAbi, functionName: 'nextStreamId' })).toString(),
    proofs: (await pub.readContract({ address: contracts.proof, abi: proofAbi, functionName: 'getStats' })).map(String),
    dbs: [...stack.agents.map((a) => a.server.db.dump()), stack.marketplace.db.dump()],
  };
  return JSON.stringify(state);
}

beforeAll(async () => {
  lab = await startLab();
  const buyer = lab.actor('buyer1');
  await allowAll(buyer, lab.alpha, lab.contracts.nexus);
  await allowAll(buyer, lab.alpha, lab.stack.marketplace.address);
  // Real state in every table: an agreement, a finished job, a marketplace hire...
  const a = agentClient(lab.stack.agent.url);
  await a.negotiate(negotiation('propose', 'fuzz-agreed', 4));
  const paid = await escrowNexus(buyer, lab.contracts, { worker: lab.stack.agent.wallet, judge: lab.actor('judge').address, token: lab.alpha, amount: 5_000_000n, duration: 3600n });
  await a.execute(envelope({ jobId: 'fuzz-done', agentId: 'data-analyzer', prompt: 'done before the fuzz', callerWallet: buyer.address, escrow: paid as Escrow }));
  // ...and a real payment nobody has used yet: refused envelopes must not consume it.
  unused = (await payDirect(buyer, { token: lab.alpha, to: lab.stack.agent.wallet, amount: 5_000_000n })) as Escrow;
  before = await snapshot();
}, 180_000);

afterAll(async () => {
  keepAlive.destroy();
  await lab?.stop();
});

// ---- the requests ------------------------------------------------------------------------------

/** The batch's aim: the honest agent (the unused payment, the finished job) and the marketplace (buyer1 lets it spend). */
async function fuzzContext(): Promise<Aps1FuzzContext> {
  const buyer = privateKeyToAccount(lab.key('buyer1'));
  const now = Math.floor(Date.now() / 1000);
  const signedJobId = 'fuzz-signed';
  const signedPrompt = 'a hire never sent as signed';
  return {
    tag: 'fuzz',
    agent: {
      id: 'data-analyzer',
      callerWallet: buyer.address,
      escrow: { contractAddress: unused.contractAddress, onChainId: unused.onChainId, txHash: unused.txHash, method: unused.method },
      doneJobId: 'fuzz-done',
    },
    marketplace: {
      agentId: 'data-analyzer',
      victim: buyer.address,
      signedJobId,
      signedPrompt,
      now,
      sigs: await signHire({ victim: buyer, attacker: privateKeyToAccount(lab.key('attacker')), agentId: 'data-analyzer', jobId: signedJobId, prompt: signedPrompt, now }),
    },
  };
}

/** The reference's strict rule beyond the robustness requirement's: every refusal a JSON `{error}` naming it. */
function problem(req: Aps1FuzzRequest, res: RawAnswer | NoAnswer): string | null {
  const general = robustnessProblem(req, res);
  if (general || 'closed' in res || res.status < 400) return general;
  try {
    const body = JSON.parse(res.body) as { error?: unknown };
    return typeof body.error === 'string' && body.error.length > 0 ? null : `a ${res.status} refusal without an error message`;
  } catch {
    return `a ${res.status} refusal without a JSON body`;
  }
}

/** Every request of the generator (the lenient-reading ones included) against `stack`'s agent and marketplace. */
function fuzzProperty(f: Aps1FuzzContext, urls: Record<Aps1Server, string>, stats?: Map<string, number>) {
  const arb = malformedRequest(f).map((r) => Object.defineProperty({ ...r }, fc.toStringMethod, { value: () => describeRequest(r), enumerable: false }));
  return fc.asyncProperty(arb, async (req) => {
    const res = await sendRaw(urls[req.server], req, keepAlive);
    stats?.set(req.cls, (stats.get(req.cls) ?? 0) + 1);
    const status = `status ${'closed' in res ? 'closed' : res.status}`;
    stats?.set(status, (stats.get(status) ?? 0) + 1);
    const p = problem(req, res);
    if (p) throw new Error(`${p}\n  request: ${describeRequest(req)}\n  answer: ${'closed' in res ? res.closed : `${res.status} ${res.body.slice(0, 200)}`}`);
  });
}

test(`${RUNS} malformed requests: no 5xx, 4xx JSON refusals, and nothing changes`, { timeout: 1_200_000 }, async () => {
  const stats = new Map<string, number>();
  const out = await fc.check(fuzzProperty(await fuzzContext(), { agent: lab.stack.agent.url, marketplace: lab.stack.marketplace.url }, stats), { seed: SEED, numRuns: RUNS });
  assert.equal(out.failed, false, out.failed ? `${String(out.errorInstance)}\ncounterexample: ${fc.stringify(out.counterexample)}` : '');
  const after = await snapshot();
  assert.equal(after, before, 'no table, balance, nonce, counter or block changed');
  // The escrow named by every refused envelope is still good.
  const ok = await agentClient(lab.stack.agent.url).execute(
    envelope({ jobId: 'fuzz-after', agentId: 'data-analyzer', prompt: 'spend the unused escrow', callerWallet: lab.actor('buyer1').address, escrow: unused }),
  );
  assert.equal(ok.status, 200, ok.text);
  const classes = [...stats].filter(([k]) => !k.startsWith('status '));
  assert.ok(classes.length >= 22, `every class was exercised (${classes.length}): ${classes.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  console.log(`fuzz: ${RUNS} requests; ${[...stats].map(([k, n]) => `${k}: ${n}`).join(', ')}`);
});

test('the fuzz bites: against an agent that answers malformed requests with 500, or runs envelopes without an escrow, it fails', { timeout: 300_000 }, async () => {
  const { startAps1Stack } = await import('./stack.ts');
  for (const fault of ['malformed500', 'executeWithoutEscrow'] as const) {
    const broken = await startAps1Stack(lab.chain, { faults: { [fault]: true } });
    try {
      const out = await fc.check(fuzzProperty(await fuzzContext(), { agent: broken.agent.url, marketplace: broken.marketplace.url }), { seed: SEED, numRuns: 400, endOnFailure: true });
      assert.ok(out.failed, `the fuzz did not notice ${fault}`);
    } finally {
      await broken.stop();
    }
  }
});
