/**
 * Malformed-input fuzzing of the AISP reference backend and inference server: thousands of seeded
 * fast-check requests across every route of both — wrong methods and paths, bad ids, bad JSON,
 * wrong types, missing and extra fields, oversized bodies and headers, bad or foreign signatures,
 * stale timestamps, bad API keys — against a real stack on anvil with a listing, a stored key, a
 * funded rental and an issued key in place. The requests are the protocol library's
 * (protocol/fuzz.ts, shared with the robustness scenario AISP-ROB-01), sent byte for byte by
 * harness/robustness/http.ts; this test sends all of them, the lenient-reading ones included.
 *
 * Per request: no 5xx; every refusal a JSON `{error}`; a request to a route that changes state is
 * refused (4xx); an answer is missing only where HTTP allows it (a transport-level defect, a body
 * over 64 KiB); no answer carries a key it was not sent (the stored key, the ADMIN keys, the issued key). After the
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
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, test } from 'vitest';
import { roleAccount, startChain, type RunningChain } from '../../../harness/chain/index.ts';
import { robustnessProblem } from '../../../harness/robustness/batch.ts';
import { describeRequest, sendRaw, type NoAnswer, type RawAnswer } from '../../../harness/robustness/http.ts';
import { leakedSecret, malformedRequest, signNearMisses, type AispFuzzContext, type AispFuzzRequest } from '../protocol/fuzz.ts';
import { DIEM } from '../protocol/profile.ts';
import { LAB_MODEL } from '../protocol/inference.ts';
import type { AispFaults } from './faults.ts';
import { startLab, type Lab } from './testkit.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 9_2026);
const RUNS = Number(process.env.FUZZ_RUNS ?? 2400);

/** The strict rule of the reference beyond the robustness requirement's: every refusal a JSON `{error}`, no answer at all only where HTTP allows it, no key in any answer. */
function problem(req: AispFuzzRequest, res: RawAnswer | NoAnswer, secrets: string[]): string | null {
  const general = robustnessProblem(req, res);
  if (general) return general;
  if ('closed' in res) return null;
  if (res.status >= 400 && req.method !== 'HEAD') {
    let body: unknown;
    try {
      body = JSON.parse(res.body);
    } catch {
      return `a ${res.status} refusal without a JSON body`;
    }
    if (!body || typeof body !== 'object' || !('error' in body)) return `a ${res.status} refusal without an error field`;
  }
  if (leakedSecret(req, res.body, secrets)) return 'the answer carries a key';
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

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

let chain: RunningChain;
let lab: Lab;
let dir: string;
let fix: AispFuzzContext;
const logs: string[] = [];

async function fixtureFor(l: Lab): Promise<AispFuzzContext> {
  const provider = privateKeyToAccount(roleAccount('provider').privateKey);
  const renter = privateKeyToAccount(roleAccount('buyer1').privateKey);
  const attacker = privateKeyToAccount(roleAccount('attacker').privateKey);
  const { listingId, key } = await l.provider().createListing({ pricePerDay: 1_000n, termDays: 30n, diemMin: DIEM, diemMax: 100n * DIEM });
  const rented = await l.renter('buyer1').rent(listingId, 30n, DIEM);
  const issued = await l.provider().issueKey('fuzz', 10n * DIEM);
  const now = await l.now();
  const unknownListingId = 10n ** 30n;
  const admin = l.stack.adminKeys;
  return {
    listingId,
    rentalId: rented.rentalId,
    unknownListingId,
    storedKey: key.apiKey,
    issuedKey: issued.apiKey,
    adminKeys: [admin.provider!, admin.vendor1!],
    model: LAB_MODEL,
    now,
    // Fresh, unused signatures of the provider and the funder: they appear only inside bodies with another defect.
    validStore: await l.backend.signStoreKey(provider, listingId),
    validGet: await l.backend.signGetKey(renter, rented.rentalId),
    sigs: await signNearMisses({ provider, renter, attacker, listingId, rentalId: rented.rentalId, unknownListingId, now }),
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
  const arb = malformedRequest(fix).map((r) => Object.defineProperty({ ...r }, fc.toStringMethod, { value: () => describeRequest(r), enumerable: false }));
  return fc.asyncProperty(arb, async (req) => {
    const res = await sendRaw(req.server === 'backend' ? l.stack.backend.url : l.stack.venice.url, req, agent);
    const status = 'closed' in res ? 'closed' : String(res.status);
    stats?.set(req.cls, (stats.get(req.cls) ?? 0) + 1);
    stats?.set(`status ${status}`, (stats.get(`status ${status}`) ?? 0) + 1);
    const p = problem(req, res, secrets);
    if (p) throw new Error(`${p}\n  request: ${describeRequest(req)}\n  answer: ${'closed' in res ? res.closed : `${res.status} ${res.body.slice(0, 200)}`}`);
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
  assert.match(await bites({ requestsAcceptAnything: true }), /201, not a refusal/);
});

test('bites: a backend whose listing views carry the stored key fails the property', { timeout: 120_000 }, async () => {
  assert.match(await bites({ keyInListing: true }), /carries a key/);
});
