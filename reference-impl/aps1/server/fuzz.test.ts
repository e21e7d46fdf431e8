/**
 * Malformed-input fuzzing of the APS-1 reference servers (the honest agent and the marketplace):
 * thousands of seeded fast-check requests across every route (wrong methods and paths, non-JSON and
 * non-object bodies, bodies past the limit, every field constraint of the envelope, negotiation and
 * marketplace schemas broken one way or several at once, with a real unused escrow in them, forged
 * or missing caller signatures) against the real servers on anvil.
 *
 * Per request: no 5xx, a 4xx for anything aimed at a state-changing route, every 4xx a JSON
 * `{error}`. After the run: every server's SQLite content, the token balances of every party and
 * contract, the servers' nonces, the escrows' counters and the block height are exactly what they
 * were; and the unused escrow named by thousands of refused envelopes still pays for a valid one.
 *
 * Env: FUZZ_SEED (default 2026_0412), FUZZ_RUNS (default 2400).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { afterAll, beforeAll, test } from 'vitest';
import type { Address } from 'viem';
import { agentClient } from '../agents/clients.ts';
import { allowAll, envelope, escrowNexus, negotiation, payDirect, type Escrow } from '../agents/employer.ts';
import { AUTH_HEADERS } from '../protocol/marketplace.ts';
import { nexusAbi, proofAbi, streamAbi } from '../protocol/abi.ts';
import { startLab, type Lab } from './testkit.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 2026_0412);
const RUNS = Number(process.env.FUZZ_RUNS ?? 2400);

let lab: Lab;
let unused: Escrow;
let before: string;

interface Req {
  cls: string;
  method: string;
  url: string;
  body?: string;
  headers?: Record<string, string>;
  /** Aimed at a state-changing route: must be refused with a 4xx. */
  mutating: boolean;
}

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
  await lab?.stop();
});

// ---- the requests ------------------------------------------------------------------------------

const junk = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: false }),
  fc.string({ maxLength: 40 }),
  fc.array(fc.integer(), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.integer(), { maxKeys: 3 }),
);

/** Breaks an envelope in at least one way the validator refuses (so it can never be valid). */
function brokenEnvelope(valid: Record<string, unknown>): fc.Arbitrary<{ note: string; body: unknown }> {
  const fields = Object.keys(valid);
  const breakOne: fc.Arbitrary<{ note: string; body: unknown }>[] = [
    fc.constantFrom(...fields.filter((f) => f !== 'payload' && f !== 'proof' && f !== 'timestamp' && f !== 'jobId')).map((f) => {
      const { [f]: _, ...rest } = valid;
      return { note: `without ${f}`, body: rest };
    }),
    fc
      .tuple(
        fc.constantFrom('agentId', 'prompt', 'callerWallet'),
        junk.filter((x) => typeof x !== 'string'),
      )
      .map(([f, x]) => ({ note: `${f} = ${JSON.stringify(x)}`, body: { ...valid, [f]: x } })),
    fc.constantFrom(
      { note: 'prompt empty', body: { ...valid, prompt: '' } },
      { note: 'prompt 10,001 chars', body: { ...valid, prompt: 'p'.repeat(10_001) } },
      { note: 'prompt of 5,001 emoji', body: { ...valid, prompt: '🙂'.repeat(5001) } },
      { note: 'jobId empty', body: { ...valid, jobId: '' } },
      { note: 'agentId of another agent', body: { ...valid, agentId: 'someone-else' } },
      { note: 'callerWallet short', body: { ...valid, callerWallet: '0x1234' } },
      { note: 'payload an array', body: { ...valid, payload: [1, 2, 3] } },
      { note: 'payload a string', body: { ...valid, payload: 'x' } },
      { note: 'timestamp with offset', body: { ...valid, timestamp: '2025-01-15T10:30:00+01:00' } },
      { note: 'timestamp impossible date', body: { ...valid, timestamp: '2025-02-30T10:30:00Z' } },
      { note: 'timestamp a number', body: { ...valid, timestamp: 1736937000 } },
      { note: 'escrow null', body: { ...valid, escrow: null } },
      { note: 'escrow.method unknown', body: { ...valid, escrow: { ...(valid.escrow as object), method: 'iou' } } },
      { note: 'escrow.onChainId -1', body: { ...valid, escrow: { ...(valid.escrow as object), onChainId: -1 } } },
      { note: 'escrow.onChainId 0.5', body: { ...valid, escrow: { ...(valid.escrow as object), onChainId: 0.5 } } },
      { note: 'escrow.txHash short', body: { ...valid, escrow: { ...(valid.escrow as object), txHash: '0xabc' } } },
      { note: 'escrow without txHash', body: { ...valid, escrow: { ...(valid.escrow as object), txHash: undefined } } },
      { note: 'escrow.contractAddress junk', body: { ...valid, escrow: { ...(valid.escrow as object), contractAddress: 'nexus' } } },
      { note: 'proof.commitmentId proof-42 (the seed’s example)', body: { ...valid, proof: { planHash: `0x${'d'.repeat(64)}`, commitmentId: 'proof-42', commitTxHash: `0x${'7'.repeat(64)}` } } },
      { note: 'proof naming no commitment of this agent', body: { ...valid, proof: { planHash: `0x${'d'.repeat(64)}`, commitmentId: `0x${'e'.repeat(64)}`, commitTxHash: `0x${'7'.repeat(64)}` } } },
    ),
  ];
  return fc.oneof(...breakOne);
}

function requests(): fc.Arbitrary<Req> {
  const agent = lab.stack.agent.url;
  const market = lab.stack.marketplace.url;
  const buyer = lab.actor('buyer1').address;
  const valid = envelope({ jobId: 'fuzz-job', agentId: 'data-analyzer', prompt: 'spend the unused escrow', callerWallet: buyer, escrow: unused }) as unknown as Record<string, unknown>;
  const neg = negotiation('propose', 'fuzz-neg', 3) as unknown as Record<string, unknown>;
  const json = (x: unknown) => JSON.stringify(x);
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .tuple(brokenEnvelope(valid), fc.string({ minLength: 1, maxLength: 12 }))
        // A fresh jobId each time, unless the break is the jobId itself (an empty one must stay empty).
        .map(([b, id]) => ({
          cls: `envelope: ${b.note}`,
          method: 'POST',
          url: `${agent}/execute`,
          body: json(b.note.startsWith('jobId') ? b.body : { ...(b.body as object), jobId: `fuzz-${id}` }),
          mutating: true,
        })),
    },
    {
      weight: 3,
      arbitrary: fc
        .oneof(
          fc.constantFrom('type', 'jobId', 'price').map((f) => ({ ...neg, [f]: undefined })),
          fc.constantFrom(
            { ...neg, type: 'offer' },
            { ...neg, price: -0.01 },
            { ...neg, price: '3' },
            { ...neg, currency: 'EUR' },
            { ...neg, message: 'm'.repeat(1025) },
            { ...neg, timestamp: '2025-01-15' },
            { ...neg, price: 0.0000001 },
          ),
          fc
            .tuple(fc.constantFrom('type', 'jobId', 'price', 'currency', 'timestamp'), junk)
            .map(([f, x]) => ({ ...neg, [f]: x }))
            .filter(
              (m) => !(typeof m.price === 'number' && m.type === 'propose' && typeof m.jobId === 'string' && (m.jobId as string).length > 0 && (m.currency === 'USD' || m.currency === undefined)),
            ),
        )
        .map((m) => ({ cls: 'negotiation', method: 'POST', url: `${agent}/negotiate`, body: json(m), mutating: true })),
    },
    {
      weight: 2,
      arbitrary: fc
        .oneof(
          fc.constantFrom('', ' ', '{', '{"jobId":', 'null', '[]', '"envelope"', '42', 'true', '\u0000'),
          fc.string({ maxLength: 60 }).filter((s) => {
            try {
              const v = JSON.parse(s);
              return v === null || typeof v !== 'object' || Array.isArray(v);
            } catch {
              return true;
            }
          }),
        )
        .chain((body) => fc.constantFrom('/execute', '/negotiate').map((p) => ({ cls: `raw body ${JSON.stringify(body).slice(0, 20)}`, method: 'POST', url: `${agent}${p}`, body, mutating: true }))),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(300_000, 1_000_000)
        .map((n) => ({ cls: `body of ${n} bytes`, method: 'POST', url: `${agent}/execute`, body: json({ ...valid, jobId: 'fuzz-big', payload: { blob: 'x'.repeat(n) } }), mutating: true })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom('PUT', 'PATCH', 'DELETE', 'POST'), fc.constantFrom('/manifest', '/health', '/status/fuzz-done', '/nope', '/execute/x', '/negotiate/x'))
        .map(([method, p]) => ({ cls: `${method} ${p}`, method, url: `${agent}${p}`, body: json(valid), mutating: true })),
    },
    { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 80 }).map((id) => ({ cls: 'GET /status/<junk>', method: 'GET', url: `${agent}/status/${encodeURIComponent(id)}`, mutating: false })) },
    {
      weight: 3,
      arbitrary: fc
        .tuple(
          fc.oneof(
            fc.constant({ jobId: 'fuzz-mk', prompt: 'x', callerWallet: buyer }),
            fc.constantFrom(
              { prompt: 'x', callerWallet: buyer },
              { jobId: 'fuzz-mk', callerWallet: buyer },
              { jobId: 'fuzz-mk', prompt: '', callerWallet: buyer },
              { jobId: 'fuzz-mk', prompt: 'x', callerWallet: '0x12' },
              { jobId: 'fuzz-mk', prompt: 'x', callerWallet: buyer, token: 'alpha' },
            ),
          ),
          fc.oneof(
            fc.constant({}),
            fc.record({
              [AUTH_HEADERS.signature]: fc.constantFrom('0x', `0x${'ab'.repeat(65)}`, 'not-hex'),
              [AUTH_HEADERS.timestamp]: fc.constantFrom('0', 'now', String(Math.floor(Date.now() / 1000))),
            }),
          ),
          fc.constantFrom('data-analyzer', 'failing-analyzer', 'no-such-agent', '../etc'),
        )
        .map(([body, headers, id]) => ({
          cls: 'marketplace execute (unsigned or malformed)',
          method: 'POST',
          url: `${market}/agents/${encodeURIComponent(id)}/execute`,
          body: json(body),
          headers: headers as Record<string, string>,
          mutating: true,
        })),
    },
    {
      weight: 1,
      arbitrary: fc.string({ minLength: 1, maxLength: 40 }).map((id) => ({ cls: 'GET /agents/<junk>', method: 'GET', url: `${market}/agents/${encodeURIComponent(`zz-${id}`)}`, mutating: false })),
    },
  );
}

test(`${RUNS} malformed requests: no 5xx, 4xx JSON refusals, and nothing changes`, { timeout: 1_200_000 }, async () => {
  const stats = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(requests(), async (r) => {
      let res: Response;
      try {
        res = await fetch(r.url, { method: r.method, body: r.body, headers: { 'content-type': 'application/json', ...r.headers } });
      } catch (e) {
        // A body past the limit may be cut off by the server's 413 + close before the client sent it all.
        if (r.cls.startsWith('body of ')) {
          stats.set('closed', (stats.get('closed') ?? 0) + 1);
          return;
        }
        throw e;
      }
      const text = await res.text();
      stats.set(String(res.status), (stats.get(String(res.status)) ?? 0) + 1);
      assert.ok(res.status < 500, `${r.cls}: ${res.status} ${text.slice(0, 200)}`);
      if (r.mutating) assert.ok(res.status >= 400, `${r.cls}: a malformed request to ${r.method} ${new URL(r.url).pathname} was accepted (${res.status} ${text.slice(0, 200)})`);
      if (res.status >= 400) {
        const body = JSON.parse(text) as { error?: unknown };
        assert.ok(typeof body.error === 'string' && body.error.length > 0, `${r.cls}: the ${res.status} names an error (${text.slice(0, 120)})`);
      }
    }),
    { seed: SEED, numRuns: RUNS },
  );
  const after = await snapshot();
  assert.equal(after, before, 'no table, balance, nonce, counter or block changed');
  // The escrow named by every refused envelope is still good.
  const ok = await agentClient(lab.stack.agent.url).execute(
    envelope({ jobId: 'fuzz-after', agentId: 'data-analyzer', prompt: 'spend the unused escrow', callerWallet: lab.actor('buyer1').address, escrow: unused }),
  );
  assert.equal(ok.status, 200, ok.text);
  console.log(`fuzz: ${RUNS} requests, statuses ${JSON.stringify(Object.fromEntries(stats))}`);
});

test('the fuzz bites: against an agent that answers malformed requests with 500, or runs envelopes without an escrow, it fails', { timeout: 300_000 }, async () => {
  const { startAps1Stack } = await import('./stack.ts');
  for (const fault of ['malformed500', 'executeWithoutEscrow'] as const) {
    const broken = await startAps1Stack(lab.chain, { faults: { [fault]: true } });
    try {
      const agent = lab.stack.agent.url;
      let failed = false;
      await fc
        .assert(
          fc.asyncProperty(requests(), async (r) => {
            const res = await fetch(r.url.replace(agent, broken.agent.url), { method: r.method, body: r.body, headers: { 'content-type': 'application/json', ...r.headers } }).catch(() => null);
            if (!res) return;
            await res.text();
            assert.ok(res.status < 500 && (!r.mutating || res.status >= 400));
          }),
          { seed: SEED, numRuns: 400 },
        )
        .catch(() => {
          failed = true;
        });
      assert.ok(failed, `the fuzz did not notice ${fault}`);
    } finally {
      await broken.stop();
    }
  }
});
