/**
 * Malformed APS-1 requests as fast-check arbitraries, for an agent server (`/manifest`,
 * `/negotiate`, `/execute`, `/status/:jobId`, `/health`) and a marketplace (`/agents`,
 * `/agents/:id`, `/agents/:id/execute`): bodies that are not JSON or not an object, envelopes,
 * negotiation messages and hires with a field missing or of the wrong type, broken escrow claims,
 * bad caller signatures, wrong methods, unpublished paths, oversized bodies, transport-level
 * defects. Used by the reference's fuzz test (server/fuzz.test.ts: every request, its strict answer
 * check) and by the robustness scenario (scenarios/aps1/robustness.ts: the requests every reading of
 * the seed and the profile refuses, {@link thirdPartyRequest}, judged by harness/robustness/batch.ts).
 *
 * Every request is malformed by construction. The real credentials (an unused escrow that pays the
 * agent, the caller's fresh signature) only ride with a defect no reading can get past: no task (a
 * prompt missing, empty or not a string), no JSON object, a signature over another request. A
 * request that is refused only because its escrow claim pays nothing is marked
 * {@link Aps1FuzzRequest.unpaid} (a free agent may run it); one that only the reference's strictness
 * refuses (the validator's bounds and formats, a field a server may ignore) is marked
 * {@link Aps1FuzzRequest.lenientMayAct} and kept from third parties (profile APS-PROF-17).
 */
import fc from 'fast-check';
import type { Address, Hex, LocalAccount } from 'viem';
import { badAddress, badSignature, deeplyNested, headerValue, hex32, malformedJson, notObject, notString, transportDefects } from '../../../harness/robustness/arbitraries.ts';
import type { MalformedRequest } from '../../../harness/robustness/http.ts';
import { AUTH_HEADERS, executeAuthMessage } from './marketplace.ts';
import type { APS1Envelope } from './schemas.ts';

/** Which published server a request goes to. */
export type Aps1Server = 'agent' | 'marketplace';

/** One malformed request and the server it is for (paths are relative to that server's base URL). */
export interface Aps1FuzzRequest extends MalformedRequest {
  server: Aps1Server;
  /** Only the reference's strictness refuses it: a lenient but careful server could act on it, so third parties never get it. */
  lenientMayAct?: true;
  /** Refused by every reading only because its escrow claim pays nothing: a free agent (basePrice 0) may run it. */
  unpaid?: true;
  /** The jobId its envelope names (fresh): afterwards the agent has recorded nothing under it. */
  jobId?: string;
}

/** An envelope's escrow claim. */
export type EscrowClaim = NonNullable<APS1Envelope['escrow']>;

/** What the agent requests aim at. */
export interface AgentFuzzTarget {
  /** The agent's manifest id. */
  id: string;
  /** The employer named as callerWallet. */
  callerWallet: Address;
  /** A real escrow that pays this agent and has paid for nothing yet (absent for a free agent). */
  escrow?: EscrowClaim;
  /** A job the agent finished: a request naming it must not change what /status answers. */
  doneJobId: string;
}

/** What the marketplace requests aim at: a listed agent, a caller who lets the marketplace spend, fresh signatures. */
export interface MarketplaceFuzzTarget {
  agentId: string;
  victim: Address;
  /** The jobId and prompt the victim's signature covers (never sent together as a valid hire). */
  signedJobId: string;
  signedPrompt: string;
  /** Unix seconds the signatures carry. */
  now: number;
  sigs: HireSignatures;
}

/** Signatures over the one hire `(agentId, signedJobId, victim, signedPrompt, now)`. */
export interface HireSignatures {
  /** The victim's own (valid for that exact request only). */
  victim: Hex;
  /** The attacker's, over the victim's request. */
  attacker: Hex;
}

/** Signs {@link HireSignatures}. */
export async function signHire(o: { victim: LocalAccount; attacker: LocalAccount; agentId: string; jobId: string; prompt: string; now: number }): Promise<HireSignatures> {
  const message = executeAuthMessage({ agentId: o.agentId, jobId: o.jobId, callerWallet: o.victim.address, prompt: o.prompt, timestamp: o.now });
  return { victim: await o.victim.signMessage({ message }), attacker: await o.attacker.signMessage({ message }) };
}

/** What a batch aims at: `tag` (fresh per batch) starts every jobId it names. */
export interface Aps1FuzzContext {
  tag: string;
  agent?: AgentFuzzTarget;
  marketplace?: MarketplaceFuzzTarget;
}

// ---- building blocks ----------------------------------------------------------------------------

const JSON_HEADERS = { 'content-type': 'application/json' };

/** Bodies that are not a JSON object: not JSON at all, JSON of another type, nested past any parser's sense. */
const notAnObjectBody: fc.Arbitrary<{ body: string | Uint8Array; note: string }> = fc.oneof(
  { arbitrary: malformedJson.map((body) => ({ body, note: 'not JSON' })), weight: 3 },
  notObject.map((v) => ({ body: JSON.stringify(v), note: 'JSON that is not an object' })),
  fc.integer({ min: 100, max: 5000 }).map((n) => ({ body: `${'['.repeat(n)}${']'.repeat(n)}`, note: `arrays nested ${n} deep` })),
  fc.integer({ min: 200, max: 2000 }).map((n) => ({ body: deeplyNested('prompt', n), note: `prompt nested ${n} deep` })),
);

/** Path ids that name nothing (percent-encoded, so the request-target stays valid). */
const junkId = fc.oneof(
  fc.constantFrom('', '%00', '..%2f..%2fetc', '%zz', '%', 'null', '9'.repeat(100), '%7B%7D'),
  fc.string({ maxLength: 30 }).map((s) => `zz-${encodeURIComponent(s)}`),
);

/** An escrow claim that pays nothing: no such transaction, no such job. */
const deadEscrow = fc.record({
  contractAddress: fc.constantFrom('0x6A467Cd4156093bB528e448C04366586a1052Fab', '0x20c0000000000000000000000000000000000001'),
  onChainId: fc.integer({ min: 1_000_000_000, max: 2 ** 40 }),
  txHash: hex32,
  method: fc.constantFrom('nexus-escrow', 'stream-milestone', 'direct-transfer'),
});

/** One field of an escrow claim broken in a way the validator refuses. */
const brokenEscrowField: fc.Arbitrary<{ key: keyof EscrowClaim; value: unknown; note: string }> = fc.oneof(
  fc.constantFrom<unknown>(-1, 0.5, '1', null, 1e21, [], {}).map((value) => ({ key: 'onChainId' as const, value, note: `escrow.onChainId ${JSON.stringify(value)}` })),
  fc.oneof(fc.constantFrom('0xabc', `0x${'1'.repeat(63)}`, '', 'pending'), notString).map((value) => ({ key: 'txHash' as const, value, note: 'escrow.txHash not 32 bytes of hex' })),
  fc.oneof(fc.constantFrom('iou', 'credit-card', '', 'NEXUS-ESCROW'), notString).map((value) => ({ key: 'method' as const, value, note: 'escrow.method unknown' })),
  fc.oneof(badAddress, notString).map((value) => ({ key: 'contractAddress' as const, value, note: 'escrow.contractAddress not an address' })),
);

/** Values that are no prompt under any reading: missing, empty, not a string. */
const noTask: fc.Arbitrary<{ value: unknown; note: string }> = fc.oneof(
  fc.constant({ value: undefined, note: 'no prompt' }),
  fc.constant({ value: '', note: 'empty prompt' }),
  notString.map((value) => ({ value, note: `prompt ${JSON.stringify(value).slice(0, 20)}` })),
);

/** A JSON body with `key` set to `value` (removed when undefined). */
function withField(o: Record<string, unknown>, key: string, value: unknown): string {
  const out: Record<string, unknown> = { ...o };
  if (value === undefined) delete out[key];
  else out[key] = value;
  return JSON.stringify(out);
}

// ---- the agent ----------------------------------------------------------------------------------

function agentRequests(tag: string, t: AgentFuzzTarget): fc.Arbitrary<Aps1FuzzRequest> {
  const A = (r: Omit<Aps1FuzzRequest, 'server' | 'headers'> & { headers?: Record<string, string | string[]> }): Aps1FuzzRequest => ({ server: 'agent', headers: JSON_HEADERS, ...r });
  const jobIdOf = fc.string({ minLength: 1, maxLength: 12 }).map((s) => `${tag}-${s}`);
  const envelopeOf = (jobId: string, escrow: EscrowClaim | undefined): Record<string, unknown> => ({
    jobId,
    agentId: t.id,
    prompt: 'a task for the robustness batch',
    callerWallet: t.callerWallet,
    ...(escrow ? { escrow } : {}),
    timestamp: new Date().toISOString(),
  });
  const negotiationOf = (jobId: string): Record<string, unknown> => ({ type: 'propose', jobId, price: 3, currency: 'USD', timestamp: new Date().toISOString() });
  // The done job's id sometimes, a fresh one mostly: a refused envelope must not overwrite a stored result either.
  const someJobId = fc.oneof({ arbitrary: jobIdOf, weight: 4 }, { arbitrary: fc.constant(t.doneJobId), weight: 1 });
  const fresh = (jobId: string) => (jobId === t.doneJobId ? {} : { jobId });
  return fc.oneof(
    // ---- /execute: no task, with the real escrow (no reading can run it)
    {
      weight: 4,
      arbitrary: fc
        .tuple(someJobId, noTask)
        .map(([jobId, p]) =>
          A({ cls: 'envelope-no-task', note: p.note, method: 'POST', path: '/execute', body: withField(envelopeOf(jobId, t.escrow), 'prompt', p.value), expect4xx: true, ...fresh(jobId) }),
        ),
    },
    // ---- /execute: not a JSON object
    { weight: 3, arbitrary: notAnObjectBody.map((b) => A({ cls: 'envelope-not-object', note: b.note, method: 'POST', path: '/execute', body: b.body, expect4xx: true })) },
    // ---- /execute: a broken escrow claim that pays nothing, or none at all (refused for want of payment)
    {
      weight: 3,
      arbitrary: fc.tuple(jobIdOf, deadEscrow, fc.option(brokenEscrowField, { nil: undefined, freq: 4 })).map(([jobId, dead, broken]) =>
        A({
          cls: 'envelope-escrow',
          note: broken?.note ?? 'an escrow claim of no transaction',
          method: 'POST',
          path: '/execute',
          body: JSON.stringify(envelopeOf(jobId, (broken ? { ...dead, [broken.key]: broken.value } : dead) as EscrowClaim)),
          expect4xx: true,
          unpaid: true,
          jobId,
        }),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(jobIdOf, fc.constantFrom<unknown>(undefined, null, 'nexus', [], 42)).map(([jobId, e]) =>
        A({
          cls: 'envelope-escrow',
          note: `escrow ${JSON.stringify(e) ?? 'missing'}`,
          method: 'POST',
          path: '/execute',
          body: withField(envelopeOf(jobId, undefined), 'escrow', e),
          expect4xx: true,
          unpaid: true,
          jobId,
        }),
      ),
    },
    // ---- /execute: what only the validator's strictness refuses, with the real escrow (the reference's own fuzz test only)
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          jobIdOf,
          fc.constantFrom<[string, unknown, string]>(
            ['timestamp', '2025-01-15T10:30:00+01:00', 'timestamp with an offset'],
            ['timestamp', '2025-02-30T10:30:00Z', 'timestamp an impossible date'],
            ['timestamp', 1736937000, 'timestamp a number'],
            ['prompt', 'p'.repeat(10_001), 'prompt of 10,001 characters'],
            ['prompt', '🙂'.repeat(5001), 'prompt of 5,001 emoji'],
            ['agentId', 'someone-else', 'agentId of another agent'],
            ['agentId', 42, 'agentId a number'],
            ['callerWallet', '0x1234', 'callerWallet short'],
            ['callerWallet', undefined, 'no callerWallet'],
            ['payload', [1, 2, 3], 'payload an array'],
            ['payload', 'x', 'payload a string'],
            ['payload', null, 'payload null'],
            ['jobId', '', 'jobId empty'],
            ['jobId', 7, 'jobId a number'],
            ['proof', { planHash: `0x${'d'.repeat(64)}`, commitmentId: 'proof-42', commitTxHash: `0x${'7'.repeat(64)}` }, 'proof.commitmentId proof-42 (the seed’s example)'],
            ['proof', { planHash: `0x${'2'.repeat(62)}`, commitmentId: `0x${'3'.repeat(64)}`, commitTxHash: `0x${'4'.repeat(64)}` }, 'proof.planHash 31 bytes'],
          ),
        )
        .map(([jobId, [k, v, note]]) =>
          A({
            cls: 'envelope-strict',
            note,
            method: 'POST',
            path: '/execute',
            body: withField(envelopeOf(jobId, t.escrow), k, v),
            expect4xx: true,
            lenientMayAct: true,
            ...(k === 'jobId' ? {} : { jobId }),
          }),
        ),
    },
    // ---- /execute: a body past any sane limit (an escrow of nothing inside)
    {
      weight: 1,
      arbitrary: fc.tuple(jobIdOf, deadEscrow, fc.integer({ min: 300, max: 1100 })).map(([jobId, dead, kb]) =>
        A({
          cls: 'envelope-oversized',
          note: `${kb} KiB payload`,
          method: 'POST',
          path: '/execute',
          body: JSON.stringify({ ...envelopeOf(jobId, dead as EscrowClaim), payload: { blob: 'x'.repeat(kb * 1024) } }),
          expect4xx: true,
          unpaid: true,
          jobId,
        }),
      ),
    },
    // ---- /execute and /negotiate: a body that is no JSON under another content type
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom('/execute', '/negotiate'), fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', ''))
        .map(([path, ct]) =>
          A({ cls: 'content-type', note: `content-type ${ct || '(empty)'}`, method: 'POST', path, headers: { 'content-type': ct }, body: 'type=propose&jobId=x&prompt=y', expect4xx: true }),
        ),
    },
    // ---- /negotiate: not an object; a message no reading can take
    { weight: 2, arbitrary: notAnObjectBody.map((b) => A({ cls: 'negotiation-not-object', note: b.note, method: 'POST', path: '/negotiate', body: b.body, expect4xx: true })) },
    {
      weight: 3,
      arbitrary: fc
        .tuple(
          jobIdOf,
          fc.oneof(
            fc.constantFrom('type', 'jobId', 'price').map((k) => ({ k, v: undefined as unknown, note: `no ${k}` })),
            fc.oneof(fc.constantFrom('offer', 'haggle', '', 'PROPOSE'), notString).map((v) => ({ k: 'type', v, note: `type ${JSON.stringify(v).slice(0, 20)}` })),
            fc.constantFrom<unknown>('', null, [], {}, true).map((v) => ({ k: 'jobId', v, note: `jobId ${JSON.stringify(v)}` })),
            fc.constantFrom<unknown>(-0.01, -1, -1e9, 'abc', '', null, true, [], {}).map((v) => ({ k: 'price', v, note: `price ${JSON.stringify(v)}` })),
          ),
        )
        .map(([jobId, { k, v, note }]) => A({ cls: 'negotiation-field', note, method: 'POST', path: '/negotiate', body: withField(negotiationOf(jobId), k, v), expect4xx: true })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          jobIdOf,
          fc.constantFrom<[string, unknown, string]>(
            ['price', '3', 'price a numeric string'],
            ['price', 0.0000001, 'price with 7 decimals'],
            ['currency', 'EUR', 'currency EUR'],
            ['message', 'm'.repeat(1025), 'message of 1,025 characters'],
            ['timestamp', '2025-01-15', 'timestamp without a time'],
            ['jobId', 42, 'jobId a number'],
          ),
        )
        .map(([jobId, [k, v, note]]) => A({ cls: 'negotiation-strict', note, method: 'POST', path: '/negotiate', body: withField(negotiationOf(jobId), k, v), expect4xx: true, lenientMayAct: true })),
    },
    // ---- reads: /status of ids that name nothing
    { weight: 1, arbitrary: junkId.map((id) => A({ cls: 'status-id', note: `status of ${id.slice(0, 20)}`, method: 'GET', path: `/status/${id}`, headers: {}, expect4xx: false })) },
    // ---- wrong methods on the published routes (not /health: a liveness route may answer any method)
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom('PUT', 'PATCH', 'DELETE'), fc.constantFrom('/manifest', `/status/${encodeURIComponent(t.doneJobId)}`, '/execute', '/negotiate'))
        .map(([m, p]) => A({ cls: 'agent-method', note: `${m} ${p}`, method: m, path: p, body: '{}', expect4xx: true })),
    },
    {
      weight: 1,
      arbitrary: fc.constant(A({ cls: 'agent-method', note: 'POST /manifest', method: 'POST', path: '/manifest', body: '{}', expect4xx: true })),
    },
    // ---- unpublished paths (a GET may be answered: a site may serve pages beside the agent)
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom('GET', 'POST', 'DELETE', 'OPTIONS'), fc.string({ maxLength: 15 }), fc.constantFrom('/', '/execute/', '/negotiate/', '/status/x/')).map(([m, s, prefix]) =>
        A({
          cls: 'agent-unknown-route',
          note: `${m} on an unpublished path`,
          method: m,
          path: `${prefix}${encodeURIComponent(s)}zz`,
          ...(m === 'GET' ? {} : { body: '{}' }),
          expect4xx: m !== 'GET',
        }),
      ),
    },
    { weight: 1, arbitrary: transportDefects([{ server: 'agent' as const, read: '/manifest', write: '/execute' }]) },
  );
}

// ---- the marketplace ----------------------------------------------------------------------------

function marketplaceRequests(tag: string, t: MarketplaceFuzzTarget): fc.Arbitrary<Aps1FuzzRequest> {
  const M = (r: Omit<Aps1FuzzRequest, 'server'>): Aps1FuzzRequest => ({ server: 'marketplace', ...r });
  const hirePath = `/agents/${encodeURIComponent(t.agentId)}/execute`;
  const signed = (sig: Hex, ts = t.now) => ({ ...JSON_HEADERS, [AUTH_HEADERS.signature]: sig, [AUTH_HEADERS.timestamp]: String(ts) });
  const victimAuth = signed(t.sigs.victim);
  const signedHire = { jobId: t.signedJobId, prompt: t.signedPrompt, callerWallet: t.victim };
  const jobIdOf = fc.string({ minLength: 1, maxLength: 12 }).map((s) => `${tag}-${s}`);
  // Authorization that proves nothing: none, junk, the victim's signature for another request, the attacker's.
  const junkAuth = fc.oneof(
    fc.constant({ note: 'unsigned', headers: { ...JSON_HEADERS } as Record<string, string> }),
    fc
      .tuple(fc.oneof(badSignature, fc.constantFrom(`0x${'ab'.repeat(64)}`, `0x${'00'.repeat(65)}`)), fc.oneof(fc.constant(String(t.now)), headerValue(12)))
      .map(([sig, ts]) => ({ note: 'a signature header that is no signature', headers: { ...JSON_HEADERS, [AUTH_HEADERS.signature]: sig, [AUTH_HEADERS.timestamp]: ts } })),
    fc.constant({ note: 'the victim’s signature over another request', headers: victimAuth }),
    fc.constant({ note: 'the attacker’s signature', headers: signed(t.sigs.attacker) }),
  );
  return fc.oneof(
    // ---- a hire that is not a JSON object (the victim's valid headers on it)
    {
      weight: 4,
      arbitrary: fc
        .tuple(notAnObjectBody, fc.boolean())
        .map(([b, withAuth]) => M({ cls: 'hire-not-object', note: b.note, method: 'POST', path: hirePath, headers: withAuth ? victimAuth : JSON_HEADERS, body: b.body, expect4xx: true })),
    },
    // ---- the signed hire with its task, job or caller broken (the signature covers the originals)
    {
      weight: 3,
      arbitrary: fc
        .oneof(
          noTask.map((p) => ({ k: 'prompt', v: p.value, note: p.note })),
          fc.constantFrom<unknown>(undefined, '', null, 42, [], {}).map((v) => ({ k: 'jobId', v, note: `jobId ${JSON.stringify(v) ?? 'missing'}` })),
          fc.oneof(badAddress, notString, fc.constant(undefined)).map((v) => ({ k: 'callerWallet', v, note: `callerWallet ${JSON.stringify(v)?.slice(0, 20) ?? 'missing'}` })),
        )
        .map(({ k, v, note }) => M({ cls: 'hire-field', note, method: 'POST', path: hirePath, headers: victimAuth, body: withField(signedHire, k, v), expect4xx: true })),
    },
    // ---- a well-formed hire whose authorization proves nothing
    {
      weight: 3,
      arbitrary: fc.tuple(jobIdOf, junkAuth).map(([jobId, a]) =>
        M({
          cls: 'hire-auth',
          note: a.note,
          method: 'POST',
          path: hirePath,
          headers: a.headers,
          body: JSON.stringify({ jobId, prompt: 'spend the victim’s money', callerWallet: t.victim }),
          expect4xx: true,
        }),
      ),
    },
    // ---- the signed request changed after signing
    {
      weight: 2,
      arbitrary: fc
        .constantFrom(
          { note: 'another prompt under the victim’s signature', body: { ...signedHire, prompt: `${t.signedPrompt}!` }, headers: victimAuth },
          { note: 'another jobId under the victim’s signature', body: { ...signedHire, jobId: `${t.signedJobId}-2` }, headers: victimAuth },
          { note: 'the timestamp header moved by a second', body: signedHire, headers: signed(t.sigs.victim, t.now + 1) },
          { note: 'the timestamp header an hour earlier', body: signedHire, headers: signed(t.sigs.victim, t.now - 3600) },
        )
        .map((x) => M({ cls: 'hire-near-miss', note: x.note, method: 'POST', path: hirePath, headers: x.headers, body: JSON.stringify(x.body), expect4xx: true })),
    },
    // ---- the signed request with a field a lenient marketplace may ignore (the reference's own fuzz test only)
    {
      weight: 1,
      arbitrary: fc
        .constantFrom<[string, unknown, string]>(
          ['token', 'alpha', 'token not an address'],
          ['token', 42, 'token a number'],
          ['payload', [1, 2], 'payload an array'],
          ['payload', 'x', 'payload a string'],
        )
        .map(([k, v, note]) => M({ cls: 'hire-strict', note, method: 'POST', path: hirePath, headers: victimAuth, body: withField(signedHire, k, v), expect4xx: true, lenientMayAct: true })),
    },
    // ---- a hire of an agent that is not listed
    {
      weight: 1,
      arbitrary: fc.tuple(junkId, jobIdOf).map(([id, jobId]) =>
        M({
          cls: 'hire-unknown-agent',
          note: `agent ${id.slice(0, 20)}`,
          method: 'POST',
          path: `/agents/${id}/execute`,
          headers: JSON_HEADERS,
          body: JSON.stringify({ jobId, prompt: 'x', callerWallet: t.victim }),
          expect4xx: true,
        }),
      ),
    },
    // ---- reads of agents that are not listed
    { weight: 1, arbitrary: junkId.map((id) => M({ cls: 'agent-id', note: `agent ${id.slice(0, 20)}`, method: 'GET', path: `/agents/${id}`, headers: {}, expect4xx: false })) },
    // ---- wrong methods (not /health, as for the agent)
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom('PUT', 'PATCH', 'DELETE'), fc.constantFrom('/agents', `/agents/${encodeURIComponent(t.agentId)}`, hirePath))
        .map(([m, p]) => M({ cls: 'market-method', note: `${m} ${p}`, method: m, path: p, headers: JSON_HEADERS, body: '{}', expect4xx: true })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('/agents', `/agents/${encodeURIComponent(t.agentId)}`)
        .map((p) => M({ cls: 'market-method', note: `POST ${p}`, method: 'POST', path: p, headers: JSON_HEADERS, body: JSON.stringify(signedHire), expect4xx: true })),
    },
    // ---- unpublished paths
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom('GET', 'POST', 'DELETE', 'OPTIONS'), fc.string({ maxLength: 15 }), fc.constantFrom('/', '/agents/x/y/', `${hirePath}/`)).map(([m, s, prefix]) =>
        M({
          cls: 'market-unknown-route',
          note: `${m} on an unpublished path`,
          method: m,
          path: `${prefix}${encodeURIComponent(s)}zz`,
          headers: JSON_HEADERS,
          ...(m === 'GET' ? {} : { body: '{}' }),
          expect4xx: m !== 'GET',
        }),
      ),
    },
    { weight: 1, arbitrary: transportDefects([{ server: 'marketplace' as const, read: '/agents', write: hirePath }]) },
  );
}

/** Junk that changes nothing on any request: an unknown header, a chunked body. */
function withJunk(r: Aps1FuzzRequest): fc.Arbitrary<Aps1FuzzRequest> {
  if (r.transport) return fc.constant(r);
  return fc
    .record({
      junk: fc.option(fc.dictionary(fc.constantFrom('x-forwarded-for', 'x-request-id', 'accept', 'x-junk', 'x-aps-version'), headerValue(40), { maxKeys: 2 }), { nil: undefined, freq: 3 }),
      chunked: fc.boolean(),
    })
    .map(({ junk, chunked }) => ({ ...r, headers: { ...(junk ?? {}), ...r.headers }, ...(chunked && r.body !== undefined ? { chunked: true } : {}) }));
}

/** Any malformed request to the servers `f` describes (an agent, a marketplace, or both). */
export function malformedRequest(f: Aps1FuzzContext): fc.Arbitrary<Aps1FuzzRequest> {
  const parts: fc.Arbitrary<Aps1FuzzRequest>[] = [];
  if (f.agent) parts.push(agentRequests(f.tag, f.agent));
  if (f.marketplace) parts.push(marketplaceRequests(f.tag, f.marketplace));
  if (!parts.length) throw new Error('malformedRequest: neither an agent nor a marketplace to aim at');
  return fc.oneof(...parts).chain(withJunk);
}

/**
 * Whether the robustness scenario may send `r` to a third party: every careful reading refuses it
 * without acting (for a free agent, an envelope refused only for want of payment is not).
 */
export function thirdPartyRequest(r: Aps1FuzzRequest, o: { freeAgent: boolean }): boolean {
  return !r.lenientMayAct && !(r.unpaid && o.freeAgent);
}
