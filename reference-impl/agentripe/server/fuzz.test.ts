/**
 * Malformed-input fuzzing of the Agentripe reference server (issue 4): thousands of seeded
 * fast-check requests across every route — wrong methods, bad path params, bad JSON, wrong types,
 * oversized bodies, bad vendor auth, malformed x402 payment headers, bad registrations — against a
 * real stack on anvil with real tasks in every state.
 *
 * Valid signed x402 payments are sent too, but only with bodies the paid route must refuse: they
 * must never be settled (the facilitator's /settle is counted through a proxy).
 *
 * Per request: no 5xx, 4xx for anything aimed at a state-changing route, every 4xx a JSON
 * `{error}`. After the run: the SQLite content (every table), the USDC and escrow balances, the
 * deposits, the nonces and the block height are exactly what they were, and no event was emitted.
 *
 * The same property is run through small proxies that break one class of input each (a 500, a
 * plain-text 400, an empty-body refusal, a 2xx for a refused request, a half-written row), and
 * against the real server with its test-only faults on (complete in any state, no ownership
 * check, wallet change always ok), to show each check fails when it should.
 *
 * Last, garbage is sent 6 requests at a time while real lifecycles run: every answer must still be
 * right, the lifecycles exact to the base unit, and nothing else touched.
 *
 * Env: FUZZ_SEED (default 4_2026), FUZZ_RUNS (default 2400).
 */
import { test, beforeAll, afterAll } from 'vitest';
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { DatabaseSync } from 'node:sqlite';
import fc from 'fast-check';
import { parseEventLogs, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { revert, roleAccount, snapshot } from '../../../harness/chain/index.ts';
import { fiatTokenV2_2Abi, identityRegistryAbi } from '../../../harness/chain/bindings/index.ts';
import { escrowAbi as agentripeEscrowAbi } from '../protocol/abi.ts';
import { startLab, type Lab } from './testkit.ts';
import { registerWithKeyMessage } from '../protocol/auth.ts';
import { hashApiKey } from './db.ts';
import type { AgentUriData } from '../protocol/agenturi.ts';
import type { AgentripeFaults } from './server.ts';
import type { RequirementsV2 } from '../../x402/protocol/wire.ts';
import { describeRequest, sendRaw } from '../../../harness/robustness/http.ts';
import { FUZZ_CLASSES, checkResponse, heavyRequests, malformedRequest, signNearMisses, type FuzzContext, type FuzzRequest, type FuzzResponse } from '../protocol/fuzz.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 4_2026);
const RUNS = Number(process.env.FUZZ_RUNS ?? 2400);
const ROLES = ['buyer1', 'buyer2', 'vendor1', 'vendor2', 'operator', 'admin', 'provider', 'attacker', 'reviewer'];

let lab: Lab;
let ctx: FuzzContext;
let before0: ChainAndDb;
/** Facilitator calls by path (the server reaches its facilitator through a counting proxy). */
const facilitatorCalls = new Map<string, number>();
let facilitatorProxy: { url: string; stop(): Promise<void> } | undefined;

// ---- HTTP: raw requests over one keep-alive connection ------------------------------------------

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** Sends `req` exactly as described (harness/robustness/http.ts); no answer at all is a failure here. */
async function send(baseUrl: string, req: FuzzRequest, agent: http.Agent = keepAlive): Promise<FuzzResponse> {
  const answer = await sendRaw(baseUrl, req, agent);
  if ('closed' in answer) throw new Error(answer.closed);
  return answer;
}

const describe = describeRequest;

/** The fuzz property against a server at `baseUrl`; `stats` counts requests by class and status. */
function fuzzProperty(baseUrl: string, stats?: Map<string, number>) {
  const arb = malformedRequest(ctx).map((r) => Object.defineProperty({ ...r }, fc.toStringMethod, { value: () => describe(r), enumerable: false }));
  return fc.asyncProperty(arb, async (req) => {
    const res = await send(baseUrl, req);
    if (stats) {
      stats.set(req.cls, (stats.get(req.cls) ?? 0) + 1);
      stats.set(`status ${res.status}`, (stats.get(`status ${res.status}`) ?? 0) + 1);
      stats.set('total', (stats.get('total') ?? 0) + 1);
    }
    const problem = checkResponse(req, res);
    if (problem) throw new Error(`${problem}\n  request: ${describe(req)}\n  answer: ${res.status} ${String(res.headers['content-type'] ?? '')} ${res.body.slice(0, 200)}`);
  });
}

// ---- state: every table, balances, deposits, nonces, height --------------------------------------

interface ChainAndDb {
  db: Record<string, unknown[]>;
  chain: Record<string, string>;
  block: bigint;
}

function dumpDb(path: string): Record<string, unknown[]> {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[];
    const out: Record<string, unknown[]> = {};
    for (const { name } of tables) out[name] = db.prepare(`SELECT * FROM "${name}" ORDER BY rowid`).all();
    return out;
  } finally {
    db.close();
  }
}

async function capture(): Promise<ChainAndDb> {
  const pub = lab.clients.publicClient;
  const chain: Record<string, string> = {};
  for (const role of ROLES) {
    const a = roleAccount(role).address;
    chain[`usdc ${role}`] = (await lab.usdcBalance(a)).toString();
    chain[`withdrawable ${role}`] = (await lab.withdrawable(a)).toString();
    chain[`nonce ${role}`] = String(await pub.getTransactionCount({ address: a }));
  }
  chain['usdc escrow'] = (await lab.usdcBalance(lab.addr.escrow)).toString();
  chain['usdc totalSupply'] = (await pub.readContract({ address: lab.addr.usdc, abi: fiatTokenV2_2Abi, functionName: 'totalSupply' })).toString();
  for (const [name, id] of Object.entries(ctx?.tasks ?? {})) {
    chain[`deposit ${name}`] = (await pub.readContract({ address: lab.addr.escrow, abi: agentripeEscrowAbi, functionName: 'getDeposit', args: [id] })).join(',');
  }
  return { db: dumpDb(lab.stack.dbPath), chain, block: await pub.getBlockNumber({ cacheTime: 0 }) };
}

/** Events emitted by the Agentripe contracts after `block`. */
async function eventsSince(block: bigint) {
  const pub = lab.clients.publicClient;
  const latest = await pub.getBlockNumber({ cacheTime: 0 });
  if (latest <= block) return [];
  return pub.getLogs({ address: [lab.addr.escrow, lab.addr.usdc, lab.addr.identityRegistry, lab.addr.reputationRegistry], fromBlock: block + 1n, toBlock: latest });
}

// ---- a proxy that breaks one class of input -------------------------------------------------------

interface Intercepted {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}
/** Answers in the proxy's name, or returns undefined to forward `r` (whose body it may replace). */
type Hook = (r: Intercepted) => { status: number; contentType: string; body: string } | undefined;

/**
 * A proxy in front of `target` that answers itself when `hook` says so, and forwards the rest
 * unchanged (Host included). Its own HTTP layer behaves like the server's (64 KiB of headers,
 * JSON refusals, any Expect forwarded), so only the hook's defect differs.
 */
async function startBrokenProxy(target: string | (() => string), hook: Hook): Promise<{ url: string; stop(): Promise<void> }> {
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Intercepted = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) };
      const own = hook(r);
      if (own) {
        res.writeHead(own.status, own.contentType ? { 'content-type': own.contentType } : {});
        res.end(own.body);
        return;
      }
      const headers: Record<string, string | string[]> = {};
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const k = req.rawHeaders[i]!;
        if (/^(connection|content-length|transfer-encoding)$/i.test(k)) continue;
        const prev = headers[k];
        headers[k] = prev === undefined ? req.rawHeaders[i + 1]! : ([] as string[]).concat(prev, req.rawHeaders[i + 1]!);
      }
      if (r.body.length || req.headers['content-length'] !== undefined) headers['content-length'] = String(r.body.length);
      const t = new URL(typeof target === 'string' ? target : target());
      // A fresh upstream connection per request: a pooled socket the server has just closed (after
      // a refusal it answers with Connection: close) would turn into a spurious ECONNRESET here.
      const up = http.request({ host: t.hostname, port: t.port, method: r.method, path: r.url, headers, agent: false }, (ur) => {
        const h = { ...ur.headers };
        delete h.connection;
        delete h['keep-alive'];
        res.writeHead(ur.statusCode ?? 502, h);
        ur.pipe(res);
      });
      up.on('error', (e) => {
        res.writeHead(599, { 'content-type': 'text/plain' });
        res.end(`proxy: ${e.message}`);
      });
      up.end(r.body);
    });
  };
  const server = http.createServer({ maxHeaderSize: 64 * 1024 }, handler);
  server.on('checkExpectation', handler);
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const body = JSON.stringify({ error: `proxy refused the request (${err.code})` });
    if (socket.writable) socket.end(`HTTP/1.1 ${status} Refused\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    else socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const headerOf = (h: http.IncomingHttpHeaders, n: string) => {
  const v = h[n];
  return Array.isArray(v) ? v.join(', ') : v;
};

// ---- setup: a lab with real agents, tasks in every state, a real API key -----------------------------

async function postJson(path: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${lab.stack.server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  // The facilitator URL is only known once the stack runs, so the proxy resolves it per request.
  let facilitatorUrl = '';
  facilitatorProxy = await startBrokenProxy(
    () => facilitatorUrl,
    (r) => {
      const path = r.url.split('?')[0]!;
      facilitatorCalls.set(path, (facilitatorCalls.get(path) ?? 0) + 1);
      return undefined;
    },
  );
  lab = await startLab({ facilitatorUrl: facilitatorProxy.url });
  facilitatorUrl = lab.stack.facilitator.url;
  const url = lab.stack.server.url;
  const agent = await lab.registerAgent('vendor1');
  const otherAgent = await lab.registerAgent('vendor2');
  const validData: AgentUriData = {
    name: 'fuzz agent',
    description: 'registered through the REST API',
    x402Support: true,
    services: [{ name: 'x402', endpoint: url, catalog: [{ path: 'summarize', price: '$0.05', type: 'async', description: 'summaries' }] }],
  };
  const reg = await postJson('/agents/register', { data: validData });
  assert.equal(reg.status, 201, JSON.stringify(reg.body));
  const restAgent = BigInt(reg.body.agentId);
  const reviewer = privateKeyToAccount(roleAccount('reviewer').privateKey);
  const ts = Math.floor(Date.now() / 1000);
  const rwk = await postJson('/agents/register-with-key', {
    walletAddress: reviewer.address,
    walletSignature: await reviewer.signMessage({ message: registerWithKeyMessage(reviewer.address, ts) }),
    timestamp: ts,
    data: validData,
  });
  assert.equal(rwk.status, 201, JSON.stringify(rwk.body));
  const keyAgent = BigInt(rwk.body.agentId);

  // One task in every state for vendor1's agent, and an open task of vendor2's.
  const buyer = lab.buyer('buyer1');
  const v = lab.vendor('vendor1', agent, { kind: 'honest' });
  const buy = async (id: bigint, req: Record<string, unknown> = { task_detail: 'fuzz target' }, who = buyer) => {
    const p = await who.buy(id, 'translate', req);
    assert.equal(p.status, 200, JSON.stringify(p.body));
    return p.taskId!;
  };
  const pending = await buy(agent);
  const processing = await buy(agent);
  assert.equal((await v.start(processing)).status, 200);
  const rejected = await buy(agent, { task_detail: 'r', reviewer_request: 'mention "ok"' });
  await v.start(rejected);
  assert.equal((await v.complete(rejected, 'REJECT-ME draft')).body.task.status, 'rejected');
  const completed = await buy(agent);
  await v.start(completed);
  assert.equal((await v.complete(completed, 'done')).body.task.status, 'completed');
  const failed = await buy(agent);
  assert.equal((await v.fail(failed, 'cannot')).body.task.status, 'failed');
  const otherPending = await buy(otherAgent, { task_detail: 'other' }, lab.buyer('buyer2'));

  // The exact requirements offered for vendor1's service (echoed as `accepted` by the near-misses).
  const q = await lab.buyer().quote(agent, 'translate');
  assert.equal(q.status, 402);
  const offered = JSON.parse(Buffer.from(q.headers.get('payment-required')!, 'base64').toString()).accepts[0] as RequirementsV2;

  const block = await lab.clients.publicClient.getBlock();
  const signed = await signNearMisses({
    vendorKey: roleAccount('vendor1').privateKey,
    otherVendorKey: roleAccount('vendor2').privateKey,
    attackerKey: roleAccount('attacker').privateKey,
    buyerKey: roleAccount('buyer1').privateKey,
    agent,
    otherAgent,
    offered,
    chainId: lab.chain.chainId,
    chainNow: block.timestamp,
    hostNow: Math.floor(Date.now() / 1000),
  });
  ctx = {
    agent,
    service: 'translate',
    otherAgent,
    restAgent,
    keyAgent,
    existingAgents: await existingAgents(),
    tasks: { pending, processing, rejected, completed, failed, otherPending },
    apiKey: rwk.body.apiKey,
    offered,
    validData,
    someAddress: '0x000000000000000000000000000000000000dEaD' as Address,
    ...signed,
  };
  // The valid credentials really are valid (so the bad ones are bad for the reason they say).
  const ok = await fetch(`${url}/vendor/tasks`, { headers: ctx.validAuth });
  assert.equal(ok.status, 200);
  const okKey = await fetch(`${url}/vendor/tasks`, { headers: { authorization: `Bearer ${ctx.apiKey}` } });
  assert.equal(okKey.status, 200);
  before0 = await capture();
});

afterAll(async () => {
  keepAlive.destroy();
  await lab?.stop();
  await facilitatorProxy?.stop();
});

async function existingAgents(): Promise<bigint[]> {
  const r = await (await fetch(`${lab.stack.server.url}/agents`)).json();
  return (r.agents as { agentId: number | string }[]).map((a) => BigInt(a.agentId));
}

async function assertUnchanged(label: string) {
  const now = await capture();
  assert.deepEqual(now.db, before0.db, `${label}: the SQLite content changed`);
  assert.deepEqual(now.chain, before0.chain, `${label}: balances, deposits or nonces changed`);
  assert.equal(now.block, before0.block, `${label}: a transaction was mined`);
  assert.deepEqual(await eventsSince(before0.block), [], `${label}: events were emitted`);
}

// ---- the fuzz run ----------------------------------------------------------------------------------

test(`${RUNS} malformed requests across every route: no 5xx, JSON 4xx errors, state untouched`, async (_t) => {
  const stats = new Map<string, number>();
  const settlesBefore = facilitatorCalls.get('/settle') ?? 0;
  const verifiesBefore = facilitatorCalls.get('/verify') ?? 0;
  const started = Date.now();
  const out = await fc.check(fuzzProperty(lab.stack.server.url, stats), { seed: SEED, numRuns: RUNS });
  const seconds = (Date.now() - started) / 1000;
  const byClass = FUZZ_CLASSES.map((c) => `${c}=${stats.get(c) ?? 0}`).join(' ');
  const byStatus = [...stats.entries()]
    .filter(([k]) => k.startsWith('status '))
    .sort()
    .map(([k, n]) => `${k.slice(7)}:${n}`)
    .join(' ');
  const verifies = (facilitatorCalls.get('/verify') ?? 0) - verifiesBefore;
  const settles = (facilitatorCalls.get('/settle') ?? 0) - settlesBefore;
  const line = `fuzz: ${stats.get('total') ?? 0} requests in ${seconds.toFixed(1)} s (seed ${SEED}); ${byClass}; statuses ${byStatus}; facilitator /verify ${verifies}, /settle ${settles}`;
  console.log(line);
  if (out.failed) assert.fail(fc.defaultReportMessage(out));
  assert.equal(stats.get('total'), RUNS, `all ${RUNS} requests were sent (default 2,400)`);
  for (const c of FUZZ_CLASSES) assert.ok((stats.get(c) ?? 0) > 0, `class ${c} was exercised`);
  // Signed near-misses got as far as the facilitator's /verify, and none reached settlement.
  assert.ok(verifies > 0, 'some malformed payments reached /verify');
  assert.equal(settles, 0, 'no malformed request reached /settle');
  await assertUnchanged('after the fuzz run');
});

// ---- the checks bite: the same property against deliberately broken servers ------------------------

test('bites: a server that answers 500 to an undecodable payment header fails the property', async () => {
  const proxy = await startBrokenProxy(lab.stack.server.url, (r) => {
    const v = headerOf(r.headers, 'payment-signature') ?? headerOf(r.headers, 'x-payment');
    return v !== undefined && !/^[A-Za-z0-9+/=\s]*$/.test(v) ? { status: 500, contentType: 'application/json', body: '{"error":"Internal server error"}' } : undefined;
  });
  try {
    const out = await fc.check(fuzzProperty(proxy.url), { seed: SEED, numRuns: RUNS, endOnFailure: true });
    assert.equal(out.failed, true, 'the property must fail');
    const [req] = out.counterexample!;
    assert.equal(req.cls, 'badPayment');
    assert.match(String((out.errorInstance as Error).message), /^500 for a malformed request/);
  } finally {
    await proxy.stop();
  }
});

test('bites: a server that answers a plain-text 400 to malformed JSON fails the property', async () => {
  const proxy = await startBrokenProxy(lab.stack.server.url, (r) => {
    if (r.method !== 'POST' && r.method !== 'PUT') return undefined;
    const text = r.body.toString('utf8');
    if (!text.trim()) return undefined;
    try {
      JSON.parse(text);
      return undefined;
    } catch {
      return { status: 400, contentType: 'text/plain', body: 'Bad Request' };
    }
  });
  try {
    const out = await fc.check(fuzzProperty(proxy.url), { seed: SEED, numRuns: RUNS, endOnFailure: true });
    assert.equal(out.failed, true, 'the property must fail');
    assert.equal(out.counterexample![0].cls, 'badJson');
    assert.match(String((out.errorInstance as Error).message), /content-type "text\/plain"/);
  } finally {
    await proxy.stop();
  }
});

test('bites: a server whose HTTP layer refuses a bad request-target with an empty body fails the property', async () => {
  // What @hono/node-server does by default (and this server did before the fuzz reported it).
  const proxy = await startBrokenProxy(lab.stack.server.url, (r) => (r.url.includes('\\') || /[\x80-\xff]/.test(r.url) ? { status: 400, contentType: '', body: '' } : undefined));
  try {
    const out = await fc.check(fuzzProperty(proxy.url), { seed: SEED, numRuns: RUNS, endOnFailure: true });
    assert.equal(out.failed, true, 'the property must fail');
    assert.equal(out.counterexample![0].transport, 'bad-request-target');
    assert.match(String((out.errorInstance as Error).message), /^400 with content-type ""/);
  } finally {
    await proxy.stop();
  }
});

test('bites: a server that lets a refused request through (2xx) fails the property', async () => {
  // Answers 200 to a vendor action whose credentials are bad, as a broken auth guard would.
  const proxy = await startBrokenProxy(lab.stack.server.url, (r) =>
    /^\/vendor\/tasks\/[^/]+\/start$/.test(r.url) && headerOf(r.headers, 'x-signature') === undefined && headerOf(r.headers, 'authorization') === undefined
      ? { status: 200, contentType: 'application/json', body: '{"task":{"status":"processing"}}' }
      : undefined,
  );
  try {
    const out = await fc.check(fuzzProperty(proxy.url), { seed: SEED, numRuns: RUNS, endOnFailure: true });
    assert.equal(out.failed, true, 'the property must fail');
    assert.match(String((out.errorInstance as Error).message), /^200 \(expected 4xx\)/);
  } finally {
    await proxy.stop();
  }
});

test('bites: a server that half-writes state on a bad API key fails the state comparison', async () => {
  // The broken server stores something about every refused Bearer key before refusing it.
  const writer = new DatabaseSync(lab.stack.dbPath);
  writer.exec('PRAGMA busy_timeout = 5000');
  const written: string[] = [];
  const proxy = await startBrokenProxy(lab.stack.server.url, (r) => {
    const a = headerOf(r.headers, 'authorization');
    if (a && a !== `Bearer ${ctx.apiKey}`) {
      const h = hashApiKey(`${a}#${written.length}`);
      writer.prepare('INSERT INTO api_keys (key_hash, agent_id, active, created_at) VALUES (?, ?, 0, ?)').run(h, 'refused', new Date().toISOString());
      written.push(h);
    }
    return undefined;
  });
  try {
    const out = await fc.check(fuzzProperty(proxy.url), { seed: SEED, numRuns: 400 });
    assert.equal(out.failed, false, `each answer is still fine on its own: ${out.failed ? fc.defaultReportMessage(out) : ''}`);
    assert.ok(written.length > 0, 'the fuzzer sent bad API keys');
    await assert.rejects(assertUnchanged('broken server'), /SQLite content changed/);
  } finally {
    await proxy.stop();
    for (const h of written) writer.prepare('DELETE FROM api_keys WHERE key_hash = ?').run(h);
    writer.close();
  }
  await assertUnchanged('after cleaning up the broken run');
});

test('bites: a chain-side change (a vendor withdraw the server never made) fails the state comparison', async () => {
  const snap = await snapshot(lab.chain.rpcUrl);
  try {
    await lab.withdraw('vendor1');
    await assert.rejects(assertUnchanged('after a withdraw'), /balances, deposits or nonces changed/);
  } finally {
    await revert(lab.chain.rpcUrl, snap);
  }
  await assertUnchanged('after reverting the withdraw');
});

// ---- regression: refusals made below the app are JSON too (found by this fuzz, fixed in server.ts) --

test("every refusal, including the HTTP layer's own (header too large, bad request-target, unknown method, bad Expect), is a JSON {error}", async () => {
  const u = lab.stack.server.url;
  const cases: FuzzRequest[] = [
    {
      cls: 'transport',
      note: '17 KiB PAYMENT-SIGNATURE (the paywall answers)',
      method: 'POST',
      path: `/${ctx.agent}/${ctx.service}`,
      headers: { 'PAYMENT-SIGNATURE': 'A'.repeat(17_000) },
      expect4xx: true,
      transport: 'header-too-large',
    },
    {
      cls: 'transport',
      note: '80 KiB PAYMENT-SIGNATURE (node answers)',
      method: 'POST',
      path: `/${ctx.agent}/${ctx.service}`,
      headers: { 'PAYMENT-SIGNATURE': 'A'.repeat(80_000) },
      expect4xx: true,
      transport: 'header-too-large',
    },
    { cls: 'transport', note: 'backslash in the request-target', method: 'GET', path: '/tasks/a\\b', headers: {}, expect4xx: true, transport: 'bad-request-target' },
    { cls: 'transport', note: 'raw latin-1 in the request-target', method: 'GET', path: '/agents/\xe9', headers: {}, expect4xx: true, transport: 'bad-request-target' },
    { cls: 'transport', note: 'bad Host', method: 'GET', path: '/health', headers: { host: 'a/b' }, expect4xx: true, transport: 'bad-host' },
    { cls: 'transport', note: 'unknown method', method: 'FOO', path: '/health', headers: {}, expect4xx: true, transport: 'unknown-method' },
    { cls: 'transport', note: 'Expect: nonsense', method: 'POST', path: '/agents/register', headers: { expect: 'nonsense' }, body: '{}', expect4xx: true, transport: 'bad-expect' },
  ];
  const problems: string[] = [];
  for (const c of cases) {
    const p = checkResponse(c, await send(u, c));
    if (p) problems.push(`${c.note}: ${p}`);
  }
  assert.deepEqual(problems, []);
});

// ---- keep-alive after a refusal: the connection must stay usable, or be announced closed ----------

/**
 * Sends `first` raw on one socket, reads its answer, then (unless that answer said
 * `Connection: close`) sends `GET /health` on the same socket. Returns both answers' status lines
 * and the first answer's Connection header.
 */
async function sameSocketTwice(first: { head: string; body: string }): Promise<{ first: string; connection: string; second: string }> {
  const u = new URL(lab.stack.server.url);
  return new Promise((resolve) => {
    const c = net.connect(Number(u.port), u.hostname);
    let buf = '';
    let firstDone: { first: string; connection: string } | undefined;
    const finish = (second: string) => {
      c.destroy();
      resolve({ first: firstDone?.first ?? '(no answer)', connection: firstDone?.connection ?? '', second });
    };
    const timer = setTimeout(() => finish(firstDone ? '(no answer within 3 s)' : '(no first answer)'), 3_000);
    c.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        const len = /\r\ncontent-length: *(\d+)/i.exec(buf.slice(0, end));
        if (end < 0 || !len || buf.length < end + 4 + Number(len[1])) return;
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4 + Number(len[1]));
        if (!firstDone) {
          firstDone = { first: head.split('\r\n')[0]!, connection: /\r\nconnection: *([^\r]*)/i.exec(head)?.[1] ?? '' };
          if (/close/i.test(firstDone.connection)) {
            clearTimeout(timer);
            return finish('(closed as announced)');
          }
          c.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        } else {
          clearTimeout(timer);
          return finish(head.split('\r\n')[0]!);
        }
      }
    });
    c.on('error', (e) => {
      clearTimeout(timer);
      finish(`(socket error: ${e.message})`);
    });
    c.write(first.head);
    // The body in two parts, the second after a pause: the server meets its limit while the body is
    // still arriving, as it does with any client slower than loopback.
    const cut = Math.floor(first.body.length * 0.95);
    c.write(first.body.slice(0, cut));
    setTimeout(() => c.write(first.body.slice(cut)), 200);
  });
}

// Regression (found by this fuzz, fixed in server.ts): readRawBody stopped reading a GET body at
// 1 MB and answered 413 with Connection: keep-alive, leaving a dead socket.
test('after a 413 for an oversized GET body to the paid route, the keep-alive connection still answers (or the 413 says Connection: close)', async () => {
  const body = `{"task_detail":"${'x'.repeat(1_100_000)}"}`;
  const seen: string[] = [];
  for (const method of ['POST', 'GET']) {
    const r = await sameSocketTwice({ head: `${method} /${ctx.agent}/${ctx.service} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`, body });
    seen.push(`${method}: ${r.first} (Connection: ${r.connection || '-'}) then ${r.second}`);
  }
  for (const line of seen) assert.match(line, /: HTTP\/1\.1 413 .* then (HTTP\/1\.1 200 |\(closed as announced\))/, seen.join('\n'));
});

// ---- heavy refusals: answered right here; what each costs is measured by `npm run bench` ----------

test('heavy malformed requests (60 KB headers, 1 MB bodies, deep nesting) are each refused with a JSON 4xx (their CPU cost: bench-refusals.ts)', async () => {
  const problems: string[] = [];
  for (const req of heavyRequests(ctx, Math.floor(Date.now() / 1000))) {
    const p = checkResponse(req, await send(lab.stack.server.url, req));
    if (p) problems.push(`${req.note}: ${p}`);
  }
  assert.deepEqual(problems, []);
});

// ---- last (it changes state): garbage in parallel with real lifecycles ----------------------------

test('600 malformed requests, 6 in flight, while 3 real lifecycles run: answers right, lifecycles exact, nothing else touched', async () => {
  const PRICE = 100_000n; // "$0.10", vendor1's catalog price
  const LIFECYCLES = 3;
  const base = await capture();
  const url = lab.stack.server.url;
  const reqs = fc.sample(malformedRequest(ctx), { seed: SEED + 1, numRuns: 600 });
  const pool = new http.Agent({ keepAlive: true, maxSockets: 6 });
  const problems: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < reqs.length) {
      const r = reqs[next++]!;
      const res = await send(url, r, pool);
      const p = checkResponse(r, res);
      if (p) problems.push(`${p} :: ${describe(r)}`);
    }
  };
  const newTasks: Hex[] = [];
  const lifecycles = async () => {
    const buyer = lab.buyer('buyer1');
    const v = lab.vendor('vendor1', ctx.agent, { kind: 'honest' });
    for (let i = 0; i < LIFECYCLES; i++) {
      const p = await buyer.buy(ctx.agent, ctx.service, { task_detail: `under fire ${i}` });
      assert.equal(p.status, 200, JSON.stringify(p.body));
      newTasks.push(p.taskId!);
      assert.equal((await v.start(p.taskId!)).status, 200);
      const c = await v.complete(p.taskId!, `done ${i}`);
      assert.equal(c.body.escrowAction, 'released', JSON.stringify(c.body));
    }
  };
  try {
    await Promise.all([lifecycles(), ...Array.from({ length: 6 }, worker)]);
  } finally {
    pool.destroy();
  }
  assert.deepEqual(problems, []);
  assert.equal(newTasks.length, LIFECYCLES);

  const now = await capture();
  // DB: the seeded rows and the API keys are untouched; the only new rows are the real tasks, completed.
  assert.deepEqual(now.db.api_keys, base.db.api_keys);
  const rows = now.db.tasks as { id: string; status: string; deposit_state: string }[];
  const seeded = new Set((base.db.tasks as { id: string }[]).map((r) => r.id));
  assert.deepEqual(
    rows.filter((r) => seeded.has(r.id)),
    base.db.tasks,
  );
  const added = rows.filter((r) => !seeded.has(r.id));
  assert.deepEqual(added.map((r) => [r.id, r.status, r.deposit_state]).sort(), newTasks.map((id) => [id, 'completed', 'released']).sort());
  // Chain: exactly the lifecycles' money moved.
  const delta = PRICE * BigInt(LIFECYCLES);
  const expected = { ...base.chain };
  expected['usdc buyer1'] = (BigInt(base.chain['usdc buyer1']!) - delta).toString();
  expected['usdc escrow'] = (BigInt(base.chain['usdc escrow']!) + delta).toString();
  expected['withdrawable vendor1'] = (BigInt(base.chain['withdrawable vendor1']!) + delta).toString();
  const ignoreNonces = (c: Record<string, string>) => Object.fromEntries(Object.entries(c).filter(([k]) => !k.startsWith('nonce ')));
  assert.deepEqual(ignoreNonces(now.chain), ignoreNonces(expected));
  // Escrow events: one record and one release per real task, nothing else.
  const logs = await lab.clients.publicClient.getLogs({ address: lab.addr.escrow, fromBlock: base.block + 1n, toBlock: now.block });
  const events = parseEventLogs({ abi: agentripeEscrowAbi, logs }).map((e) => `${e.eventName} ${(e.args as { depositId: Hex }).depositId}`);
  assert.deepEqual(events.sort(), newTasks.flatMap((id) => [`DepositRecorded ${id}`, `DepositReleased ${id}`]).sort());
});

test('bites: a server that settles before validating the body is caught (a 2xx, a /settle call, money moved)', async () => {
  const settles0 = facilitatorCalls.get('/settle') ?? 0;
  const base = await capture();
  // The broken server drops the body of a paid request that carries a payment (as if it settled
  // first and validated after): a valid payment with a refused body then buys a task.
  const paidPath = `/${ctx.agent}/${ctx.service}`;
  const proxy = await startBrokenProxy(lab.stack.server.url, (r) => {
    const paying = headerOf(r.headers, 'payment-signature') ?? headerOf(r.headers, 'x-payment');
    if (r.url.split('?')[0] === paidPath && paying !== undefined) r.body = Buffer.from('{}');
    return undefined;
  });
  try {
    const out = await fc.check(fuzzProperty(proxy.url), { seed: SEED, numRuns: RUNS, endOnFailure: true });
    assert.equal(out.failed, true, 'the property must fail');
    assert.match(out.counterexample![0].note, /^valid payment, body/);
    assert.match(String((out.errorInstance as Error).message), /^200 \(expected 4xx\)/);
  } finally {
    await proxy.stop();
  }
  assert.ok((facilitatorCalls.get('/settle') ?? 0) > settles0, 'the facilitator was asked to settle');
  const now = await capture();
  assert.notEqual(now.chain['usdc buyer1'], base.chain['usdc buyer1'], 'the buyer paid');
});

// ---- last: the real server with its test-only faults switched on (changes state, so after the rest) --

const FAULT_BITES: { fault: keyof AgentripeFaults; what: string; message: RegExp; request: RegExp }[] = [
  { fault: 'anyStateComplete', what: 'complete accepted in any state', message: /^200 \(expected 4xx\)/, request: /complete on a task in the wrong state/ },
  { fault: 'noOwnershipCheck', what: 'any vendor may act on any task', message: /^200 \(expected 4xx\)/, request: /another agent/ },
  { fault: 'walletChangeAlwaysOk', what: 'a refused wallet change answered 200', message: /^200 \(expected 4xx\)/, request: /wallet: invalid or unsigned/ },
];
for (const { fault, what, message, request } of FAULT_BITES) {
  test(`bites: the real server with fault ${fault} (${what}) fails the property`, async () => {
    const server = await lab.stack.restart({ faults: { [fault]: true } });
    try {
      const out = await fc.check(fuzzProperty(server.url), { seed: SEED, numRuns: RUNS, endOnFailure: true });
      assert.equal(out.failed, true, 'the property must fail');
      assert.match(String((out.errorInstance as Error).message), message);
      assert.match(out.counterexample![0].note, request, 'it fails on the request the fault mishandles');
    } finally {
      await lab.stack.restart({ faults: {} });
    }
  });
}

// ---- hostile on-chain input: agent URIs that never answer --------------------------------------------

// Regression (found by this fuzz, fixed in server.ts): URIs were resolved one after another with a
// 5 s timeout each, so every hostile agent added 5 s to GET /agents.
test("GET /agents asks the agents' http URIs side by side: hosts that never answer (anyone can register one) do not add up", async () => {
  // A TCP server that accepts and never answers: what a hostile or dead agent-card host looks like.
  // It counts the connections open at once: hosts asked one after another never overlap.
  let open = 0;
  let mostOpen = 0;
  const sink = net.createServer((sock) => {
    mostOpen = Math.max(mostOpen, ++open);
    sock.on('close', () => open--);
    sock.on('data', () => {});
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const port = (sink.address() as AddressInfo).port;
  try {
    const attacker = lab.clients.walletClient('attacker');
    const hostile: bigint[] = [];
    for (let i = 0; i < 4; i++) {
      const hash = await attacker.writeContract({ address: lab.addr.identityRegistry, abi: identityRegistryAbi, functionName: 'register', args: [`http://127.0.0.1:${port}/card${i}.json`] });
      const receipt = await lab.clients.publicClient.waitForTransactionReceipt({ hash });
      hostile.push((parseEventLogs({ abi: identityRegistryAbi, logs: receipt.logs, eventName: 'Registered' })[0]!.args as { agentId: bigint }).agentId);
    }
    // The 30 s limit is a hang guard (four dead hosts asked one after another at 5 s each stayed under it).
    const res = await fetch(`${lab.stack.server.url}/agents`, { signal: AbortSignal.timeout(30_000) });
    const body = (await res.json()) as { agents: { agentId: number | string; data: unknown }[] };
    assert.equal(res.status, 200);
    assert.ok(
      body.agents.some((a) => BigInt(a.agentId) === ctx.agent && a.data !== null),
      'the honest agents are still listed',
    );
    for (const id of hostile) assert.equal(body.agents.find((a) => BigInt(a.agentId) === id)?.data, null, `agent ${id} listed without data`);
    // Four dead hosts resolved one after another took 4 x 5 s; they must be asked side by side, under one deadline.
    assert.equal(mostOpen, hostile.length, `the dead agent-URI hosts were asked ${mostOpen} at a time`);
  } finally {
    sink.close();
  }
});

// Regression (found by this fuzz, fixed in agenturi.ts): the card was read whole with res.json();
// 200 MB cost +451 MB of RSS and a 2 s event-loop stall.
test('an agent card that never ends (an http agent URI streaming 64 MB) is cut off, not buffered whole', async () => {
  const TOTAL = 64 * 1024 * 1024;
  const chunk = Buffer.alloc(1024 * 1024, 0x20); // JSON whitespace: only the end would make it a value
  let sent = 0;
  const streamer = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const pump = () => {
      while (sent < TOTAL && !res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end('{"name":"x","services":[]}');
    };
    pump();
  });
  await new Promise<void>((r) => streamer.listen(0, '127.0.0.1', r));
  try {
    const attacker = lab.clients.walletClient('attacker');
    const hash = await attacker.writeContract({
      address: lab.addr.identityRegistry,
      abi: identityRegistryAbi,
      functionName: 'register',
      args: [`http://127.0.0.1:${(streamer.address() as AddressInfo).port}/card.json`],
    });
    const receipt = await lab.clients.publicClient.waitForTransactionReceipt({ hash });
    const id = (parseEventLogs({ abi: identityRegistryAbi, logs: receipt.logs, eventName: 'Registered' })[0]!.args as { agentId: bigint }).agentId;
    const res = await fetch(`${lab.stack.server.url}/agents/${id}`, { signal: AbortSignal.timeout(30_000) });
    const body = (await res.json()) as { error?: string };
    assert.equal(res.status, 404, JSON.stringify(body));
    // A capped reader stops the transfer after its limit (plus what the sockets buffer).
    assert.ok(sent < 16 * 1024 * 1024, `the server let the agent-card host send ${(sent / 1024 / 1024).toFixed(0)} MB`);
  } finally {
    streamer.closeAllConnections();
    streamer.close();
  }
});
