/**
 * Malformed-input fuzzing of the AISP reference backend and inference server: thousands of seeded
 * fast-check requests across every route of both — wrong methods and paths, bad ids, bad JSON,
 * wrong types, missing and extra fields, oversized bodies and headers, bad or foreign signatures,
 * stale timestamps, bad API keys — against a real stack on anvil with a listing, a stored key, a
 * funded rental and an issued key in place.
 *
 * Per request: no 5xx; every refusal a JSON `{error}`; a request to a route that changes state is
 * refused (4xx); no answer carries a key (the stored key, the ADMIN keys, the issued key). After the
 * run: both SQLite databases (every table), the chain (height, balances, the rental) are exactly what
 * they were, and no log line carries a key. The property is also shown to fail against the servers
 * with a fault on (a 2xx to a malformed request; a key in a listing).
 *
 * Env: FUZZ_SEED (default 9_2026), FUZZ_RUNS (default 2400).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import fc from 'fast-check';
import type { LocalAccount } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, test } from 'vitest';
import { roleAccount, startChain, type RunningChain } from '../../../harness/chain/index.ts';
import { getKeyMessage, storeKeyMessage } from '../protocol/messages.ts';
import { DIEM } from '../protocol/profile.ts';
import { LAB_MODEL } from '../protocol/inference.ts';
import type { AispFaults } from './faults.ts';
import { startLab, type Lab } from './testkit.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 9_2026);
const RUNS = Number(process.env.FUZZ_RUNS ?? 2400);

interface Fixture {
  listingId: bigint;
  rentalId: bigint;
  storedKey: string;
  issuedKey: string;
  adminKeys: string[];
  provider: LocalAccount;
  renter: LocalAccount;
  attacker: LocalAccount;
  now: number;
  /** Signatures made up front (fast-check arbitraries are synchronous). */
  sigs: Record<string, string>;
}

/** One request as sent on the wire. */
interface FuzzRequest {
  cls: string;
  server: 'backend' | 'inference';
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Whether a refusal is required (the route would change state if it accepted). */
  mustRefuse: boolean;
}

interface FuzzResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function send(base: string, req: FuzzRequest): Promise<FuzzResponse> {
  const u = new URL(base);
  const body = req.body === undefined ? undefined : Buffer.from(req.body, 'utf8');
  const headers: Record<string, string> = { ...req.headers };
  if (body !== undefined) headers['content-length'] = String(body.length);
  const own = Object.keys(req.headers).some((h) => h.length > 100 || /expect/i.test(h)) || (body?.length ?? 0) > 64 * 1024;
  if (own) headers.connection = 'close';
  return new Promise((resolve, reject) => {
    const r = http.request(
      { host: u.hostname, port: u.port, method: req.method, path: `${u.pathname.replace(/\/+$/, '')}${req.path}`, headers, agent: own ? false : agent, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    r.on('timeout', () => r.destroy(new Error('no answer within 10 s')));
    r.on('error', reject);
    if (body) r.write(body);
    r.end();
  });
}

// ---- arbitraries ---------------------------------------------------------------------------------

const junkId = fc.oneof(
  fc.constantFrom('', 'abc', '-1', '1.5', '0x10', '1e3', '%00', '..%2f..%2fetc', '9'.repeat(100), ' 1', '١٢', 'null', '[]', '%7B%7D').map((s) => (s.includes('%') ? s : encodeURIComponent(s))),
  fc.string({ maxLength: 30 }).map((s) => encodeURIComponent(s)),
);
const junkJson = fc.oneof(
  fc.constantFrom('{', '[', 'nul', '{"a":', '"\\u0000', '{}}', '\u0000', '\ufeff{}', '{"__proto__":{"x":1}}', 'true', '123', '"str"', '[]', 'null'),
  fc.string({ maxLength: 50 }),
  fc.json({ maxDepth: 3 }),
);
const deep = fc.integer({ min: 100, max: 5000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`);
/** Values no field of any of these bodies accepts (a valid number or string would not be a defect). */
const wrongType = fc.constantFrom<unknown>(null, true, false, [], {}, -1, 1.5, '', 'x'.repeat(300), { nested: { deep: [1] } });

/** A body built from a valid one with exactly one defect: a required field removed or retyped, an extra field, or not JSON at all. */
function broken(valid: Record<string, unknown>, strictExtra = true, required: string[] = Object.keys(valid)): fc.Arbitrary<string> {
  const keys = Object.keys(valid);
  return fc.oneof(
    fc.constantFrom(...required).map((k) => JSON.stringify(Object.fromEntries(Object.entries(valid).filter(([x]) => x !== k)))),
    fc.tuple(fc.constantFrom(...required), wrongType).map(([k, v]) => JSON.stringify({ ...valid, [k]: v })),
    ...(strictExtra
      ? [
          fc
            .string({ minLength: 1, maxLength: 10 })
            .filter((k) => !keys.includes(k) && k !== '__proto__')
            .map((k) => JSON.stringify({ ...valid, [k]: 1 })),
        ]
      : []),
    junkJson,
    deep,
  );
}

const json = { 'content-type': 'application/json' };

function requests(f: Fixture): fc.Arbitrary<FuzzRequest> {
  const B = (cls: string, method: string, p: string, body?: string, headers: Record<string, string> = json, mustRefuse = true): FuzzRequest => ({
    cls,
    server: 'backend',
    method,
    path: p,
    headers,
    body,
    mustRefuse,
  });
  const V = (cls: string, method: string, p: string, body?: string, headers: Record<string, string> = json, mustRefuse = true): FuzzRequest => ({
    cls,
    server: 'inference',
    method,
    path: p,
    headers,
    body,
    mustRefuse,
  });
  const rid = f.rentalId.toString();
  const lid = f.listingId.toString();
  const storeValid = { listingId: lid, apiKey: 'vn-scoped-0123456789abcdef', signature: f.sigs.providerStore!, timestamp: f.now };
  const getValid = { signature: f.sigs.renterGet!, timestamp: f.now };
  const chatValid = { model: LAB_MODEL, messages: [{ role: 'user', content: 'hi' }] };
  const createValid = { apiKeyType: 'INFERENCE', description: 'fuzz', consumptionLimit: { diem: 1 } };
  const auth = (k: string) => ({ ...json, authorization: `Bearer ${k}` });
  const junkAuth = fc.oneof(
    fc.constant({ ...json }),
    fc
      .constantFrom('Bearer', 'Bearer ', 'Basic abc', `Bearer ${'a'.repeat(600)}`, 'Bearer vn-scoped-nope', `bearer ${f.issuedKey.slice(0, -1)}`, `Bearer ${f.issuedKey} extra`)
      .map((h) => ({ ...json, authorization: h })),
  );
  return fc.oneof(
    // backend: listings
    junkId.map((id) => B('listing-id', 'GET', `/api/listings/${id}`, undefined, {}, false)),
    fc.constantFrom('/api/listings', `/api/listings/${lid}`, '/api/listings?limit=-1&x[]=1').map((p) => B('listing-read', 'GET', p, undefined, {}, false)),
    fc.constantFrom('POST', 'PUT', 'DELETE', 'PATCH').map((m) => B('listings-method', m, fc.sample(fc.constantFrom('/api/listings', `/api/listings/${lid}`), 1)[0]!, '{}')),
    // backend: store-key, each body with one defect, and signatures that must not pass
    broken(storeValid).map((b) => B('store-key-body', 'POST', '/api/keys', b)),
    fc
      .constantFrom(
        { ...storeValid, signature: f.sigs.attackerStore! },
        { ...storeValid, signature: f.sigs.providerStoreStale!, timestamp: f.now - 3600 },
        { ...storeValid, signature: f.sigs.providerStoreOther!, listingId: (f.listingId + 1n).toString() },
        { ...storeValid, listingId: '999999', signature: f.sigs.providerStoreMissing! },
        { ...storeValid, signature: `0x${'00'.repeat(65)}` },
        { ...storeValid, timestamp: f.now + 10_000 },
      )
      .map((b) => B('store-key-near-miss', 'POST', '/api/keys', JSON.stringify(b))),
    // backend: get-key
    fc.tuple(junkId, junkJson).map(([id, b]) => B('get-key-id', 'POST', `/api/key/${id}`, b)),
    broken(getValid).map((b) => B('get-key-body', 'POST', `/api/key/${rid}`, b)),
    fc
      .constantFrom(
        { signature: f.sigs.attackerGet!, timestamp: f.now },
        { signature: f.sigs.renterGetStale!, timestamp: f.now - 3600 },
        { signature: f.sigs.renterGet!, timestamp: f.now, address: f.attacker.address },
        { signature: f.sigs.renterGetOther!, timestamp: f.now },
        { signature: `0x${'ff'.repeat(65)}`, timestamp: f.now },
      )
      .map((b) => B('get-key-near-miss', 'POST', `/api/key/${rid}`, JSON.stringify(b))),
    fc.constantFrom('GET', 'PUT', 'DELETE').map((m) => B('get-key-method', m, `/api/key/${rid}`, JSON.stringify(getValid))),
    // backend: balance (a read: 200 is allowed for a real key, never with the key in it)
    broken({ apiKey: 'vn-scoped-0123456789abcdef' }).map((b) => B('balance-body', 'POST', '/api/balance', b)),
    fc.constantFrom(f.issuedKey, f.storedKey, 'vn-scoped-unknown-000000').map((k) => B('balance-key', 'POST', '/api/balance', JSON.stringify({ apiKey: k }), json, false)),
    // backend: requests (never a valid one: a valid request is stored)
    broken({ diemAmount: '1000000', termDays: 3, maxPricePerDay: '1000' }).map((b) => B('requests-body', 'POST', '/api/requests', b)),
    // backend: transport-level oddities
    fc
      .constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '')
      .map((ct) => B('content-type', 'POST', '/api/keys', 'listingId=1&apiKey=x', { 'content-type': ct })),
    fc.integer({ min: 17, max: 40 }).map((kb) => B('oversized-body', 'POST', '/api/keys', JSON.stringify({ listingId: lid, apiKey: 'x'.repeat(kb * 1024), signature: '0x', timestamp: 1 }))),
    fc.integer({ min: 33, max: 60 }).map((kb) => B('oversized-header', 'GET', '/api/listings', undefined, { 'x-junk': 'y'.repeat(kb * 1024) }, false)),
    fc.constant(B('expect', 'POST', '/api/keys', '{}', { ...json, expect: '200-ok' })),
    fc
      .tuple(fc.constantFrom('GET', 'POST', 'DELETE', 'OPTIONS'), fc.string({ maxLength: 20 }))
      .map(([m, s]) => B('unknown-route', m, `/api/${encodeURIComponent(s)}x/y`, m === 'GET' ? undefined : '{}')),
    // inference: chat with the issued key and a broken body (never a valid call: it would be charged)
    broken(chatValid, false).map((b) => V('chat-body', 'POST', '/chat/completions', b, auth(f.issuedKey))),
    fc
      .constantFrom(
        { ...chatValid, model: 'no-such-model' },
        { ...chatValid, messages: [] },
        { ...chatValid, messages: [{ role: 'wizard', content: 'x' }] },
        { ...chatValid, max_tokens: -1 },
        { ...chatValid, stream: true },
        { ...chatValid, temperature: 9 },
      )
      .map((b) => V('chat-near-miss', 'POST', '/chat/completions', JSON.stringify(b), auth(f.issuedKey))),
    junkAuth.map((h) => V('chat-auth', 'POST', '/chat/completions', JSON.stringify(chatValid), h)),
    junkAuth.map((h) => V('rate-limits-auth', 'GET', '/api_keys/rate_limits', undefined, h)),
    // inference: admin routes
    broken(createValid, true, ['apiKeyType', 'description']).map((b) => V('create-key-body', 'POST', '/api_keys', b, auth(f.adminKeys[0]!))),
    fc
      .constantFrom(
        { ...createValid, apiKeyType: 'ROOT' },
        { ...createValid, expiresAt: '2000-01-01T00:00:00Z' },
        { ...createValid, expiresAt: 'tomorrow' },
        { ...createValid, consumptionLimit: { diem: -1 } },
      )
      .map((b) => V('create-key-near-miss', 'POST', '/api_keys', JSON.stringify(b), auth(f.adminKeys[0]!))),
    fc
      .tuple(fc.constantFrom(f.issuedKey, 'vn-admin-wrong'), fc.constantFrom('POST', 'GET', 'DELETE'))
      .map(([k, m]) => V('admin-with-inference-key', m, m === 'DELETE' ? '/api_keys?id=x' : '/api_keys', m === 'POST' ? JSON.stringify(createValid) : undefined, auth(k))),
    junkId.map((id) => V('delete-key-id', 'DELETE', `/api_keys?id=${id}`, undefined, auth(f.adminKeys[1]!))),
    junkId.map((id) => V('get-key-id', 'GET', `/api_keys/${id}x`, undefined, auth(f.adminKeys[0]!), false)),
    fc.tuple(fc.constantFrom('GET', 'POST', 'PUT'), fc.string({ maxLength: 15 })).map(([m, s]) => V('inference-unknown-route', m, `/${encodeURIComponent(s)}zz`, m === 'GET' ? undefined : '{}', json)),
    fc
      .integer({ min: 1025, max: 1100 })
      .map((kb) => V('chat-oversized', 'POST', '/chat/completions', JSON.stringify({ ...chatValid, messages: [{ role: 'user', content: 'x'.repeat(kb * 1024) }] }), auth(f.issuedKey))),
  );
}

/** What is wrong with an answer, or null. */
function problem(req: FuzzRequest, res: FuzzResponse, secrets: string[]): string | null {
  if (res.status >= 500 || res.status < 100) return `answered ${res.status}`;
  if (req.mustRefuse && (res.status < 400 || res.status >= 500)) return `a request that must be refused answered ${res.status}`;
  if (res.status >= 400) {
    let body: unknown;
    try {
      body = JSON.parse(res.body);
    } catch {
      return `a ${res.status} refusal without a JSON body`;
    }
    if (!body || typeof body !== 'object' || !('error' in body)) return `a ${res.status} refusal without an error field`;
  }
  for (const s of secrets) if (res.body.includes(s)) return 'the answer carries a key';
  return null;
}

// ---- state -----------------------------------------------------------------------------------------

function dump(file: string): Record<string, unknown[]> {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[];
    return Object.fromEntries(tables.map(({ name }) => [name, db.prepare(`SELECT * FROM "${name}" ORDER BY rowid`).all()]));
  } finally {
    db.close();
  }
}

let chain: RunningChain;
let lab: Lab;
let dir: string;
let fix: Fixture;
const logs: string[] = [];

async function fixtureFor(l: Lab): Promise<Fixture> {
  const provider = privateKeyToAccount(roleAccount('provider').privateKey);
  const renter = privateKeyToAccount(roleAccount('buyer1').privateKey);
  const attacker = privateKeyToAccount(roleAccount('attacker').privateKey);
  const { listingId, key } = await l.provider().createListing({ pricePerDay: 1_000n, termDays: 30n, diemMin: DIEM, diemMax: 100n * DIEM });
  const rented = await l.renter('buyer1').rent(listingId, 30n, DIEM);
  const issued = await l.provider().issueKey('fuzz', 10n * DIEM);
  const now = await l.now();
  const sign = (a: LocalAccount, m: string) => a.signMessage({ message: m });
  return {
    listingId,
    rentalId: rented.rentalId,
    storedKey: key.apiKey,
    issuedKey: issued.apiKey,
    adminKeys: Object.values(l.stack.adminKeys),
    provider,
    renter,
    attacker,
    now,
    sigs: {
      // The provider's and renter's fresh signatures appear only inside bodies with another defect.
      providerStore: await sign(provider, storeKeyMessage(listingId, now)),
      attackerStore: await sign(attacker, storeKeyMessage(listingId, now)),
      providerStoreStale: await sign(provider, storeKeyMessage(listingId, now - 3600)),
      providerStoreOther: await sign(provider, storeKeyMessage(listingId, now)),
      providerStoreMissing: await sign(provider, storeKeyMessage(999999n, now)),
      renterGet: await sign(renter, getKeyMessage(rented.rentalId, now)),
      attackerGet: await sign(attacker, getKeyMessage(rented.rentalId, now)),
      renterGetStale: await sign(renter, getKeyMessage(rented.rentalId, now - 3600)),
      renterGetOther: await sign(renter, getKeyMessage(rented.rentalId + 1n, now)),
    },
  };
}

async function chainState(l: Lab): Promise<string> {
  const pub = l.market('buyer1').pub;
  const r = await l.rental(fix.rentalId);
  return JSON.stringify({
    block: String(await pub.getBlockNumber({ cacheTime: 0 })),
    balances: await Promise.all(['provider', 'buyer1', 'attacker'].map(async (x) => String(await l.balance(roleAccount(x).address)))),
    market: String(await l.balance(l.marketplace)),
    rental: String(r.status),
  });
}

function fuzzProperty(l: Lab, stats?: Map<string, number>) {
  const secrets = [fix.storedKey, fix.issuedKey, ...fix.adminKeys];
  return fc.asyncProperty(requests(fix), async (req) => {
    const res = await send(req.server === 'backend' ? l.stack.backend.url : l.stack.venice.url, req);
    stats?.set(req.cls, (stats.get(req.cls) ?? 0) + 1);
    stats?.set(`status ${res.status}`, (stats.get(`status ${res.status}`) ?? 0) + 1);
    const p = problem(req, res, secrets);
    if (p) throw new Error(`${p}\n  request: [${req.cls}] ${req.method} ${req.path.slice(0, 120)} ${(req.body ?? '').slice(0, 160)}\n  answer: ${res.status} ${res.body.slice(0, 200)}`);
  });
}

beforeAll(async () => {
  chain = await startChain({ profile: 'base' });
  dir = mkdtempSync(path.join(tmpdir(), 'aisp-fuzz-'));
  lab = await startLab({ chain, dir, log: (m) => logs.push(m), backend: { pollIntervalMs: 200 } });
  fix = await fixtureFor(lab);
}, 120_000);

afterAll(async () => {
  await lab?.stop();
  await chain?.stop();
  agent.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test(`${RUNS} malformed requests across the backend and inference routes: no 5xx, JSON refusals, no key in any answer or log, nothing changed`, { timeout: 600_000 }, async () => {
  const before = { backend: dump(path.join(dir, 'aisp.sqlite')), venice: dump(path.join(dir, 'venice.sqlite')), chain: await chainState(lab) };
  const stats = new Map<string, number>();
  const out = await fc.check(fuzzProperty(lab, stats), { seed: SEED, numRuns: RUNS });
  assert.equal(out.failed, false, out.failed ? `${String(out.errorInstance)}\ncounterexample: ${fc.stringify(out.counterexample)}` : '');
  await lab.stack.backend.sync();
  const after = { backend: dump(path.join(dir, 'aisp.sqlite')), venice: dump(path.join(dir, 'venice.sqlite')), chain: await chainState(lab) };
  assert.deepEqual(after, before, 'the databases and the chain are exactly as before');
  const secrets = [fix.storedKey, fix.issuedKey, ...fix.adminKeys];
  assert.ok(
    logs.every((l) => !secrets.some((s) => l.includes(s))),
    'no log line carries a key',
  );
  const total = [...stats].filter(([k]) => !k.startsWith('status')).reduce((s, [, n]) => s + n, 0);
  assert.ok(total >= 2000, `at least 2,000 requests (sent ${total})`);
  const classes = [...stats].filter(([k]) => !k.startsWith('status'));
  assert.ok(classes.length >= 25, `every class was exercised (${classes.length}): ${classes.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  process.stdout.write(`fuzz: ${total} requests; ${[...stats].map(([k, n]) => `${k}: ${n}`).join(', ')}\n`);
});

/** The same property against the servers with one fault on must fail. */
async function bites(faults: AispFaults, runs = 600): Promise<string> {
  const d = mkdtempSync(path.join(tmpdir(), 'aisp-fuzz-bite-'));
  const broken = await startLab({ chain, dir: d, faults });
  try {
    const saved = fix;
    fix = await fixtureFor(broken);
    try {
      const out = await fc.check(fuzzProperty(broken), { seed: SEED, numRuns: runs, endOnFailure: true });
      assert.equal(out.failed, true, `the fuzz property should fail with ${JSON.stringify(faults)}`);
      return String(out.errorInstance);
    } finally {
      fix = saved;
    }
  } finally {
    await broken.stop();
    rmSync(d, { recursive: true, force: true });
  }
}

test('bites: a backend that answers 201 to malformed rental requests fails the property', { timeout: 120_000 }, async () => {
  assert.match(await bites({ requestsAcceptAnything: true }), /must be refused answered 201/);
});

test('bites: a backend whose listing views carry the stored key fails the property', { timeout: 120_000 }, async () => {
  assert.match(await bites({ keyInListing: true }), /carries a key/);
});
