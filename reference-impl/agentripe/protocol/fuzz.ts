/**
 * Malformed Agentripe requests as fast-check arbitraries: one per class of bad input, composed
 * into {@link malformedRequest}, plus the reference's strict response check ({@link checkResponse}).
 * Used by the reference server's fuzz test (server/fuzz.test.ts: every request, the strict check)
 * and by the robustness scenario (scenarios/agentripe/robustness.ts: the requests every reading of
 * the seed refuses, {@link thirdPartyRequest}, judged by harness/robustness/batch.ts).
 *
 * Every generated request is malformed *by construction* for the state it targets: a body that
 * could be valid is only ever paired with bad credentials or a target that cannot act, and a valid
 * credential is only ever paired with a body the server must refuse (or a target it must refuse).
 * The fuzz test's after-run state comparison is the backstop for that promise.
 */
import fc from 'fast-check';
import type { Address, Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  badAddress,
  badSignature,
  badUint,
  deeplyNested,
  headerValue,
  hex32,
  hexString,
  malformedJson,
  notArray,
  unreadableAsJson,
  notBoolean,
  notObject,
  notString,
  tooLong,
} from '../../../harness/robustness/arbitraries.ts';
import type { MalformedRequest } from '../../../harness/robustness/http.ts';
import { badPaymentHeader, signPaymentNearMisses, type NearMiss } from '../../x402/protocol/fuzz.ts';
import type { RequirementsV2 } from '../../x402/protocol/wire.ts';
import type { AgentUriData } from './agenturi.ts';
import { registerWithKeyMessage, vendorAuthMessage } from './auth.ts';

/** Classes of malformed input (used for counting and for the broken-server demos). */
export const FUZZ_CLASSES = ['wrongMethod', 'badPathParam', 'badJson', 'wrongTypes', 'oversized', 'badVendorAuth', 'badPayment', 'badRegistration', 'transport'] as const;
export type FuzzClass = (typeof FUZZ_CLASSES)[number];

/** One HTTP request, sent byte-for-byte as described (raw request-target, raw headers). */
export interface FuzzRequest extends MalformedRequest {
  cls: FuzzClass;
  /**
   * A defect the HTTP layer below the app catches (node's parser and header-size limit,
   * @hono/node-server's request-target and Host validation): the reference answers a JSON `{error}`
   * with the status in {@link TRANSPORT_STATUS} (it installs handlers for these).
   */
  transport?: keyof typeof TRANSPORT_STATUS;
}

/** The status each transport-level defect must be answered with. */
export const TRANSPORT_STATUS = {
  'header-too-large': 431,
  'bad-request-target': 400,
  'bad-host': 400,
  'unknown-method': 400,
  'bad-expect': 417,
} as const;

/** What the fuzzer aims at: real ids, real credentials, pre-signed near-misses. */
export interface FuzzContext {
  /** vendor1's agent (registered on chain by vendor1) and its service path. */
  agent: bigint;
  service: string;
  /** vendor2's agent, a registrar-owned agent (REST register) and the register-with-key agent. */
  otherAgent: bigint;
  restAgent: bigint;
  keyAgent: bigint;
  /** Every agent id that exists (bad ids are drawn outside this set). */
  existingAgents: bigint[];
  /** Task ids of `agent` by status, and a pending task of `otherAgent`. */
  tasks: { pending: Hex; processing: Hex; rejected: Hex; completed: Hex; failed: Hex; otherPending: Hex };
  /** Valid EVM vendor-auth headers of vendor1 for `agent` (signed at setup; valid for 5 min). */
  validAuth: Record<string, string>;
  /** The real API key of `keyAgent` (valid, but for an agent that owns none of the tasks). */
  apiKey: string;
  /** Pre-signed vendor-auth headers that must all be refused (401). */
  badAuth: { note: string; headers: Record<string, string> }[];
  /** Pre-signed x402 headers (base64) that must all be refused (400/402): near-misses. */
  badPayments: NearMiss[];
  /**
   * Pre-signed x402 headers that are *valid* (buyer1 pays the exact price to the escrow). Only ever
   * sent with a body the paid route must refuse: the payment must then never be settled.
   */
  validPayments: string[];
  /** The exact v2 requirements the server offers for `agent`/`service` (echoed as `accepted`). */
  offered: RequirementsV2;
  /** Pre-signed register-with-key bodies that must be refused (401). */
  badRegisterWithKey: { note: string; body: Record<string, unknown> }[];
  /** A valid AgentURIData, the base that the wrong-type generators corrupt. */
  validData: AgentUriData;
  /** A syntactically valid address that is nobody's. */
  someAddress: Address;
}

// ---- bodies -------------------------------------------------------------------------------------

/** AgentURIData with exactly one defect the server's schema must refuse (or not an object at all). */
export function corruptData(valid: AgentUriData): fc.Arbitrary<unknown> {
  const svc = valid.services[0]!;
  const entry = svc.catalog[0]!;
  const withEntry = (patch: Record<string, unknown>) => ({ ...valid, services: [{ ...svc, catalog: [{ ...entry, ...patch }] }] });
  const withService = (patch: Record<string, unknown>) => ({ ...valid, services: [{ ...svc, ...patch }] });
  const badPath = fc.oneof(fc.constantFrom('', '/lead', 'trail/', 'a b', 'a//b', 'x?y', 'x#y', 'x%20y', 'ü', '💥', 'a\\b', 'x/'), tooLong(200));
  // $0 is well-formed but refused (AGR-PROF-18: nothing to escrow).
  const badPrice = fc.oneof(fc.constantFrom('0.10', '$', '$.1', '$1.1234567', '$-1', '$1e3', '€1', '$ 1', '$1,00', '1$', '', '$0', '$0.00', '$0.000000'), notString);
  return fc.oneof(
    notObject,
    fc.oneof(fc.constant(''), notString).map((name) => ({ ...valid, name })),
    fc.record({ k: fc.constantFrom('description', 'iconUrl', 'solanaWallet'), v: notString }).map(({ k, v }) => ({ ...valid, [k]: v })),
    notBoolean.map((x402Support) => ({ ...valid, x402Support })),
    fc.oneof(fc.constant([]), notArray).map((services) => ({ ...valid, services })),
    fc.constant((({ services: _s, ...rest }) => rest)(valid)),
    fc.constant((({ name: _n, ...rest }) => rest)(valid)),
    fc.oneof(fc.constant(''), notString).map((name) => withService({ name })),
    notString.map((endpoint) => withService({ endpoint })),
    notArray.map((catalog) => withService({ catalog })),
    notObject.map((e) => withService({ catalog: [e] })),
    badPath.map((path) => withEntry({ path })),
    badPrice.map((price) => withEntry({ price })),
    fc.oneof(fc.constant(''), notString).map((type) => withEntry({ type })),
    fc.oneof(fc.constant(''), notString).map((description) => withEntry({ description })),
  );
}

/** Bodies of the paid route with a wrong-typed known field (or not an object). */
function corruptPaidBody(): fc.Arbitrary<unknown> {
  return fc.oneof(
    notObject.filter((v) => !(typeof v === 'string' && v.trim() === '')),
    fc.oneof(notString, tooLong(100_000)).map((task_detail) => ({ task_detail })),
    notObject.map((task_metadata) => ({ task_detail: 'x', task_metadata })),
    fc.oneof(notString, tooLong(20_000)).map((reviewer_request) => ({ reviewer_request, task_detail: 'y' })),
  );
}

/** Bodies of `/complete` the server must refuse: no result, a null result, or not an object. */
const badCompleteBody: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant({}),
  fc.constant({ result: null }),
  // A result only on the prototype chain is no result.
  fc.constant({ ['__proto__']: { result: 'x' } }),
  fc.constant({ constructor: { prototype: { result: 'x' } } }),
  fc.dictionary(fc.constantFrom('Result', 'results', 'res', 'output', 'data'), fc.jsonValue({ maxDepth: 1 }), { minKeys: 1, maxKeys: 2 }),
  notObject,
);
/** Bodies of `/fail` the server must refuse (NOT `{}`: that is a valid failure report). */
const badFailBody: fc.Arbitrary<unknown> = fc.oneof(
  notString.map((errorMessage) => ({ errorMessage })),
  tooLong(10_000).map((errorMessage) => ({ errorMessage })),
  notObject,
);

function badRegisterBody(ctx: FuzzContext): fc.Arbitrary<unknown> {
  const wallet = { address: ctx.someAddress, deadline: 1, signature: `0x${'ab'.repeat(65)}` };
  return fc.oneof(
    notObject,
    fc.constant({}),
    corruptData(ctx.validData).map((data) => ({ data })),
    fc
      .oneof(
        notObject.filter((v) => v !== undefined),
        badAddress.map((address) => ({ ...wallet, address })),
        badUint(20).map((deadline) => ({ ...wallet, deadline })),
        badSignature.map((signature) => ({ ...wallet, signature })),
        fc.constant({ deadline: 1, signature: wallet.signature }),
      )
      .map((w) => ({ data: ctx.validData, wallet: w })),
  );
}

function badRegisterWithKeyBody(ctx: FuzzContext): fc.Arbitrary<unknown> {
  const base = {
    walletAddress: ctx.someAddress,
    walletSignature: `0x${'cd'.repeat(65)}`,
    timestamp: Math.floor(Date.now() / 1000),
    data: ctx.validData,
  };
  return fc.oneof(
    notObject,
    fc.constant({}),
    // Well-formed but signed by nobody: 401.
    hexString(2, 140).map((h) => ({ ...base, walletSignature: `0x${h}` })),
    badAddress.map((walletAddress) => ({ ...base, walletAddress })),
    badSignature.map((walletSignature) => ({ ...base, walletSignature })),
    badUint(12).map((timestamp) => ({ ...base, timestamp })),
    corruptData(ctx.validData).map((data) => ({ ...base, data })),
    fc.constantFrom(...ctx.badRegisterWithKey).map((b) => b.body),
    fc.constant({ ['__proto__']: base }),
  );
}

function badWalletBody(ctx: FuzzContext): fc.Arbitrary<unknown> {
  const base = { walletAddress: ctx.someAddress, deadline: Math.floor(Date.now() / 1000) + 60, signature: `0x${'ef'.repeat(65)}` };
  return fc.oneof(
    notObject,
    fc.constant({}),
    // Well-formed, garbage signature: the registry refuses it in simulation (400/403/404).
    hexString(2, 140).map((h) => ({ ...base, signature: `0x${h}` })),
    badAddress.map((walletAddress) => ({ ...base, walletAddress })),
    badUint(20).map((deadline) => ({ ...base, deadline })),
    badSignature.map((signature) => ({ ...base, signature })),
  );
}

// ---- vendor auth --------------------------------------------------------------------------------

/** Vendor auth headers the server must refuse (dynamic garbage plus the pre-signed near-misses). */
function badVendorAuth(ctx: FuzzContext): fc.Arbitrary<{ note: string; headers: Record<string, string> }> {
  const v = ctx.validAuth;
  const drop = fc.constantFrom('x-vendor-address', 'x-agent-id', 'x-timestamp', 'x-signature').map((k) => {
    const h = { ...v };
    delete h[k];
    return { note: `missing ${k}`, headers: h };
  });
  const garbageSig = fc
    .oneof(
      hexString(0, 140).map((h) => `0x${h}`),
      headerValue(150),
    )
    .map((s) => ({ note: 'garbage signature', headers: { ...v, 'x-signature': s } }));
  const badTs = fc
    .oneof(
      headerValue(20).filter((s) => s.trim() !== v['x-timestamp']),
      fc.integer({ min: 0, max: 10 ** 9 }).map(String),
    )
    .map((ts) => ({ note: 'timestamp not the signed one', headers: { ...v, 'x-timestamp': ts } }));
  const isOwnAgent = (s: string) => /^\s*\d+\s*$/.test(s) && BigInt(s.trim()) === ctx.agent;
  const badAgentId = fc
    .oneof(
      fc.constantFrom(String(ctx.otherAgent), String(ctx.restAgent), String(ctx.keyAgent), '-1', 'abc', '1'.repeat(31), '0x1', '1.0', '1e2'),
      fc.bigInt({ min: 10n ** 6n, max: 10n ** 30n - 1n }).map(String),
      headerValue(40),
    )
    .filter((s) => s.trim() !== '' && !isOwnAgent(s))
    .map((id) => ({ note: 'wrong X-Agent-Id', headers: { ...v, 'x-agent-id': id } }));
  const badAddr = badAddress.filter((a) => a.trim() !== '').map((a) => ({ note: 'bad X-Vendor-Address', headers: { ...v, 'x-vendor-address': a } }));
  const bearer = fc
    .oneof(
      fc.constantFrom(
        'Bearer',
        'Bearer ',
        'Bearer ak_',
        'Basic dXNlcjpwYXNz',
        'Token ak_x',
        `${ctx.apiKey}`,
        `Bearer ${ctx.apiKey} extra`,
        `Bearer ${ctx.apiKey.toUpperCase()}`,
        `Bearer ${ctx.apiKey.slice(0, -1)}`,
        `Bearer ${ctx.apiKey}0`,
      ),
      hexString(1, 64).map((h) => `Bearer ak_${h}`),
      hexString(48, 48).map((h) => `Bearer ak_${h}`),
      fc.nat({ max: ctx.apiKey.length - 4 }).map((i) => {
        // Flip one character of the real key (after "ak_").
        const at = 3 + i;
        const c = ctx.apiKey[at] === 'a' ? 'b' : 'a';
        return `Bearer ${ctx.apiKey.slice(0, at)}${c}${ctx.apiKey.slice(at + 1)}`;
      }),
      headerValue(80).filter((s) => !s.includes(ctx.apiKey)),
    )
    .filter((a) => a.trim() !== '')
    .chain((authorization) =>
      // A bad bearer key must not fall through to (valid) EVM headers sent alongside it.
      fc.boolean().map((withEvm) => ({ note: `bad Authorization${withEvm ? ' + valid EVM headers' : ''}`, headers: withEvm ? { ...v, authorization } : { authorization } })),
    );
  // Solana auth with a key that is not the agent's, or not a key: bad base58, wrong length, bad hex.
  const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'.split('');
  const solana = fc
    .record({
      address: fc.oneof(
        fc.constantFrom('So11111111111111111111111111111111111111112', '11111111111111111111111111111111', '0OIl', ''),
        fc.string({ unit: fc.constantFrom(...B58), minLength: 1, maxLength: 1_000 }),
        headerValue(60),
      ),
      signature: fc.oneof(hexString(128, 128), hexString(0, 140), headerValue(40)),
      ts: fc.constantFrom(v['x-timestamp']!, '0', 'x'),
    })
    .filter((x) => x.address.trim() !== '')
    .map((x) => ({ note: "solana auth (not the agent's key)", headers: { 'x-solana-address': x.address, 'x-agent-id': String(ctx.agent), 'x-timestamp': x.ts, 'x-signature': x.signature } }));
  const duplicated = fc
    .record({ k: fc.constantFrom('x-signature', 'x-agent-id', 'x-timestamp', 'x-vendor-address'), a: headerValue(20), b: headerValue(20) })
    .map(({ k, a, b }) => ({ note: `${k} sent twice (both wrong)`, headers: { ...v, [k]: [a, b] } as unknown as Record<string, string> }));
  return fc.oneof(fc.constant({ note: 'no auth', headers: {} }), duplicated, drop, garbageSig, badTs, badAgentId, badAddr, bearer, solana, fc.constantFrom(...ctx.badAuth));
}

// ---- the request arbitrary ---------------------------------------------------------------------

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'SEARCH', 'PURGE', 'LOCK', 'QUERY'] as const;

interface RouteSpec {
  template: string;
  methods: readonly string[];
}
/** Every route of the server (protocols.md C.3 and server.ts). */
export const ROUTES: RouteSpec[] = [
  { template: '/health', methods: ['GET'] },
  { template: '/tasks/:task', methods: ['GET'] },
  { template: '/tasks/:task/detail', methods: ['GET'] },
  { template: '/tasks/:task/result', methods: ['GET'] },
  { template: '/agents', methods: ['GET'] },
  { template: '/agents/next-id', methods: ['GET'] },
  { template: '/agents/register', methods: ['POST'] },
  { template: '/agents/register-with-key', methods: ['POST'] },
  { template: '/agents/:agent/wallet', methods: ['POST'] },
  { template: '/agents/:agent/stats', methods: ['GET'] },
  { template: '/agents/:agent', methods: ['GET'] },
  { template: '/vendor/tasks', methods: ['GET'] },
  { template: '/vendor/tasks/:task/start', methods: ['POST'] },
  { template: '/vendor/tasks/:task/complete', methods: ['POST'] },
  { template: '/vendor/tasks/:task/fail', methods: ['POST'] },
  { template: '/vendor/agent-uri', methods: ['GET', 'PUT'] },
  { template: '/:agent/:service', methods: ['GET', 'POST'] },
];

const fill = (template: string, p: { task?: string; agent?: string; service?: string }) =>
  template
    .replace(':task', p.task ?? '')
    .replace(':agent', p.agent ?? '')
    .replace(':service', p.service ?? '');

const json = (v: unknown) => JSON.stringify(v);
const jsonHeaders = { 'content-type': 'application/json' };

/** Task ids that match no task (case variants of real ids are *not* bad: the server lowercases). */
function badTaskId(ctx: FuzzContext): fc.Arbitrary<string> {
  const real = ctx.tasks.pending;
  return fc.oneof(
    fc.constantFrom(
      real.slice(0, -1),
      `${real}0`,
      real.slice(2),
      `0x${real.slice(2, -1)}g`,
      '0x',
      '0',
      '-1',
      'null',
      'undefined',
      '..',
      '..%2F..%2Fetc%2Fpasswd',
      '%2e%2e',
      `${real}%00`,
      `${real}${encodeURIComponent("';drop table tasks;--")}`,
      encodeURIComponent("' OR '1'='1"),
      '%zz',
      '%',
      '%E2%82%AC',
      `${real}%20`,
      `${real}/`,
    ),
    hex32.filter((h) => !Object.values(ctx.tasks).includes(h as Hex)),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).map(encodeURIComponent),
    fc.integer({ min: 100, max: 12_000 }).map((n) => 'f'.repeat(n)),
    fc.bigInt({ min: 0n, max: 2n ** 256n }).map(String),
  );
}

/** Agent ids that name no agent (leading zeros of a real id would name it, so none are drawn). */
function badAgentId(ctx: FuzzContext): fc.Arbitrary<string> {
  const exists = (s: string) => /^\d+$/.test(s) && ctx.existingAgents.includes(BigInt(s));
  return fc
    .oneof(
      fc.constantFrom('-1', 'abc', '0x1', '1.0', '1e2', '+1', '%20', '..%2F..', '%00', '%zz', 'NaN', 'Infinity', encodeURIComponent('١'), encodeURIComponent('𝟙')),
      fc.bigInt({ min: 10n ** 6n, max: 10n ** 30n - 1n }).map(String),
      fc.bigInt({ min: 10n ** 30n, max: 2n ** 300n }).map(String),
      fc.integer({ min: 31, max: 5_000 }).map((n) => '9'.repeat(n)),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).map(encodeURIComponent),
    )
    .filter((s) => !exists(s));
}

/** A valid body for a route (used only with bad credentials or bad targets). */
function plausibleBody(ctx: FuzzContext, template: string): fc.Arbitrary<unknown> {
  switch (template) {
    case '/vendor/tasks/:task/complete':
      return fc
        .jsonValue({ maxDepth: 2 })
        .filter((r) => r !== null)
        .map((result) => ({ result }));
    case '/vendor/tasks/:task/fail':
      return fc.option(fc.string({ maxLength: 30 }), { nil: undefined }).map((errorMessage) => (errorMessage === undefined ? {} : { errorMessage }));
    case '/vendor/agent-uri':
      return fc.constant({ data: ctx.validData });
    case '/:agent/:service':
      return fc.record({ task_detail: fc.string({ maxLength: 30 }), reviewer_request: fc.constant('mention "ok"') }, { requiredKeys: [] });
    default:
      return fc.constant({});
  }
}

/** Open tasks of the vendor's own agent: any action on them would change state. */
const openTasks = (ctx: FuzzContext) => [ctx.tasks.pending, ctx.tasks.processing, ctx.tasks.rejected];
const allTasks = (ctx: FuzzContext) => Object.values(ctx.tasks);

function wrongMethod(ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      route: fc.constantFrom(...ROUTES),
      method: fc.constantFrom(...METHODS),
      task: fc.constantFrom(...allTasks(ctx)),
      agent: fc.constantFrom(String(ctx.agent), String(ctx.restAgent)),
      auth: fc.constantFrom({}, ctx.validAuth),
      body: fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }),
    })
    .filter(({ route, method }) => !route.methods.includes(method) && !(method === 'HEAD' && route.methods.includes('GET')))
    .map(({ route, method, task, agent, auth, body }) => ({
      cls: 'wrongMethod',
      note: `${method} on ${route.template}`,
      method,
      path: fill(route.template, { task, agent, service: ctx.service }),
      headers: { ...auth, ...(body !== undefined ? jsonHeaders : {}) },
      body: body === undefined || method === 'HEAD' ? undefined : json(body),
      expect4xx: true,
    }));
}

function badPathParam(ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const taskRoutes = ROUTES.filter((r) => r.template.includes(':task'));
  const agentRoutes = ROUTES.filter((r) => r.template.includes(':agent') && r.template !== '/:agent/:service');
  const byTask = fc
    .record({
      route: fc.constantFrom(...taskRoutes),
      id: badTaskId(ctx),
      auth: fc.constantFrom({}, ctx.validAuth),
      query: fc.option(fc.string({ maxLength: 20 }).map(encodeURIComponent), { nil: undefined }),
    })
    .chain(({ route, id, auth, query }) =>
      plausibleBody(ctx, route.template).map((body) => ({
        cls: 'badPathParam' as const,
        note: `bad task id on ${route.template}`,
        method: route.methods[0]!,
        path: fill(route.template, { task: id }) + (query !== undefined ? `?${query}` : ''),
        headers: { ...auth, ...jsonHeaders },
        body: route.methods[0] === 'GET' ? undefined : json(body),
        expect4xx: true,
      })),
    );
  const byAgent = fc.record({ route: fc.constantFrom(...agentRoutes), id: badAgentId(ctx) }).map(({ route, id }) => ({
    cls: 'badPathParam' as const,
    note: `bad agent id on ${route.template}`,
    method: route.methods[0]!,
    path: fill(route.template, { agent: id }),
    headers: jsonHeaders,
    body: route.methods[0] === 'GET' ? undefined : json({ walletAddress: ctx.someAddress, deadline: 1, signature: '0x00' }),
    expect4xx: true,
  }));
  const paid = fc
    .record({
      method: fc.constantFrom('GET', 'POST'),
      target: fc.oneof(
        badAgentId(ctx).map((a) => ({ agent: a, service: ctx.service })),
        fc
          .oneof(
            fc.constantFrom('nope', `${ctx.service}/x`, `${ctx.service}%2F..`, `..%2F${ctx.service}`, `${ctx.service.toUpperCase()}`, `${ctx.service}%00`, '%zz', `${ctx.service}/`, '.', '%2e'),
            fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }).map(encodeURIComponent),
            fc.integer({ min: 201, max: 8_000 }).map((n) => 's'.repeat(n)),
          )
          .filter((s) => s !== ctx.service)
          .map((service) => ({ agent: String(ctx.agent), service })),
      ),
      body: plausibleBody(ctx, '/:agent/:service'),
    })
    .map(({ method, target, body }) => ({
      cls: 'badPathParam' as const,
      note: 'paid route: unknown agent or service',
      method,
      path: `/${target.agent}/${target.service}`,
      headers: jsonHeaders,
      body: json(body),
      expect4xx: true,
    }));
  return fc.oneof(byTask, byAgent, paid);
}

/** POST/PUT routes with a body that is not JSON (with valid auth where auth is needed). */
function badJson(ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const targets: { template: string; method: string; auth: Record<string, string>; tasks?: Hex[] }[] = [
    { template: '/agents/register', method: 'POST', auth: {} },
    { template: '/agents/register-with-key', method: 'POST', auth: {} },
    { template: '/agents/:agent/wallet', method: 'POST', auth: {} },
    { template: '/vendor/tasks/:task/complete', method: 'POST', auth: ctx.validAuth, tasks: openTasks(ctx) },
    { template: '/vendor/tasks/:task/fail', method: 'POST', auth: ctx.validAuth, tasks: openTasks(ctx) },
    { template: '/vendor/agent-uri', method: 'PUT', auth: ctx.validAuth },
    { template: '/:agent/:service', method: 'POST', auth: {} },
    { template: '/:agent/:service', method: 'GET', auth: {} },
  ];
  return fc
    .record({
      t: fc.constantFrom(...targets),
      task: fc.constantFrom(...openTasks(ctx)),
      agent: fc.constantFrom(String(ctx.agent), String(ctx.restAgent)),
      body: malformedJson,
      contentType: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'multipart/form-data; boundary=x', undefined),
    })
    .map(({ t, task, agent, body, contentType }) => ({
      cls: 'badJson' as const,
      note: `malformed JSON to ${t.method} ${t.template}`,
      method: t.method,
      path: fill(t.template, { task, agent, service: ctx.service }),
      headers: { ...t.auth, ...(contentType ? { 'content-type': contentType } : {}) },
      body,
      expect4xx: true,
    }));
}

/** Well-formed JSON with a wrong-typed or missing field, for every body the server reads. */
function wrongTypes(ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const req = (note: string, method: string, path: string, auth: Record<string, string>, body: unknown): FuzzRequest => ({
    cls: 'wrongTypes',
    note,
    method,
    path,
    headers: { ...auth, ...jsonHeaders },
    body: json(body),
    expect4xx: true,
  });
  const task = fc.constantFrom(...openTasks(ctx));
  // JSON only text can say: numbers that overflow or underflow a double, a duplicate key whose last
  // (winning) value is the wrong type.
  const data = json(ctx.validData);
  const raw = (t: { template: string; method: string; auth: Record<string, string>; body: string }): FuzzRequest => ({
    cls: 'wrongTypes',
    note: `raw JSON: ${t.body.slice(0, 60)}`,
    method: t.method,
    path: fill(t.template, { task: ctx.tasks.processing, agent: String(ctx.restAgent), service: ctx.service }),
    headers: { ...t.auth, ...jsonHeaders },
    body: t.body,
    expect4xx: true,
  });
  const rawBodies = [
    ...['1e400', '-1e400', '-0', '1e-400', '99999999999999999999999', '1.0e0'].map((ts) => ({
      template: '/agents/register-with-key',
      method: 'POST',
      auth: {},
      body: `{"walletAddress":"${ctx.someAddress}","walletSignature":"0x${'cd'.repeat(65)}","timestamp":${ts},"data":${data}}`,
    })),
    ...['1e400', '-1e400', '-1', '1.5'].map((d) => ({
      template: '/agents/:agent/wallet',
      method: 'POST',
      auth: {},
      body: `{"walletAddress":"${ctx.someAddress}","deadline":${d},"signature":"0x${'ef'.repeat(65)}"}`,
    })),
    { template: '/vendor/tasks/:task/complete', method: 'POST', auth: ctx.validAuth, body: '{"result":"x","result":null}' },
    { template: '/vendor/tasks/:task/fail', method: 'POST', auth: ctx.validAuth, body: '{"errorMessage":"a","errorMessage":5}' },
    { template: '/vendor/tasks/:task/fail', method: 'POST', auth: ctx.validAuth, body: `{"errorMessage":${'1'.repeat(400)}}` },
    { template: '/:agent/:service', method: 'POST', auth: {}, body: '{"task_detail":"a","task_detail":5}' },
    { template: '/vendor/agent-uri', method: 'PUT', auth: ctx.validAuth, body: `{"data":${data},"data":{"name":""}}` },
  ];
  return fc.oneof(
    fc.constantFrom(...rawBodies).map(raw),
    fc.record({ m: fc.constantFrom('GET', 'POST'), b: corruptPaidBody() }).map(({ m, b }) => req('paid body field of the wrong type', m, `/${ctx.agent}/${ctx.service}`, {}, b)),
    // Unpaid, nested far past any sensible limit: a server that stringifies it unchecked overflows its stack (a 500).
    fc
      .integer({ min: 20_000, max: 100_000 })
      .map((d) => ({ ...req(`unpaid task_metadata nested ${d} levels`, 'POST', `/${ctx.agent}/${ctx.service}`, {}, undefined), body: deeplyNested('task_metadata', d) })),
    fc
      .record({ k: fc.constantFrom('task_detail', 'reviewer_request', 'task_metadata'), v: fc.oneof(fc.constantFrom('[1]', '5', 'null', '"s"', '{', 'true'), fc.string({ maxLength: 10 })) })
      .map(({ k, v }) => ({
        ...req('paid GET query of the wrong type', 'GET', `/${ctx.agent}/${ctx.service}?${k}=${encodeURIComponent(v)}&task_metadata=${encodeURIComponent(v)}`, {}, undefined),
        body: undefined,
        headers: {},
        // A query whose values happen to be valid only reaches the 402 challenge.
      })),
    fc.record({ t: task, b: badCompleteBody }).map(({ t, b }) => req('complete without a result', 'POST', `/vendor/tasks/${t}/complete`, ctx.validAuth, b)),
    fc.record({ t: task, b: badFailBody }).map(({ t, b }) => req('fail with a wrong errorMessage', 'POST', `/vendor/tasks/${t}/fail`, ctx.validAuth, b)),
    fc.record({ b: corruptData(ctx.validData), wrap: fc.boolean() }).map(({ b, wrap }) => req('agent-uri data invalid', 'PUT', '/vendor/agent-uri', ctx.validAuth, wrap ? { data: b } : b)),
    fc
      .record({ b: corruptData(ctx.validData), wrap: fc.boolean() })
      .map(({ b, wrap }) => req('agent-uri data invalid (api key)', 'PUT', '/vendor/agent-uri', { authorization: `Bearer ${ctx.apiKey}` }, wrap ? { data: b } : b)),
  );
}

function badRegistration(ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const req = (note: string, path: string, body: unknown): FuzzRequest => ({ cls: 'badRegistration', note, method: 'POST', path, headers: jsonHeaders, body: json(body), expect4xx: true });
  return fc.oneof(
    badRegisterBody(ctx).map((b) => req('register: invalid data or wallet', '/agents/register', b)),
    badRegisterWithKeyBody(ctx).map((b) => req('register-with-key: invalid or unsigned', '/agents/register-with-key', b)),
    fc
      .record({ agent: fc.constantFrom(ctx.agent, ctx.restAgent, ctx.otherAgent, ctx.keyAgent), b: badWalletBody(ctx) })
      .map(({ agent, b }) => req('wallet: invalid or unsigned', `/agents/${agent}/wallet`, b)),
  );
}

function oversized(ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const targets: { template: string; method: string; auth: Record<string, string>; field: string }[] = [
    { template: '/:agent/:service', method: 'POST', auth: {}, field: 'task_detail' },
    { template: '/:agent/:service', method: 'GET', auth: {}, field: 'task_detail' },
    // A valid complete/fail body, only too large: must be refused before anything is judged.
    { template: '/vendor/tasks/:task/complete', method: 'POST', auth: ctx.validAuth, field: 'result' },
    { template: '/vendor/tasks/:task/fail', method: 'POST', auth: ctx.validAuth, field: 'errorMessage' },
    { template: '/agents/register', method: 'POST', auth: {}, field: 'x' },
    { template: '/agents/register-with-key', method: 'POST', auth: {}, field: 'x' },
    { template: '/vendor/agent-uri', method: 'PUT', auth: ctx.validAuth, field: 'x' },
    { template: '/agents/:agent/wallet', method: 'POST', auth: {}, field: 'x' },
  ];
  return fc.record({ t: fc.constantFrom(...targets), n: fc.integer({ min: 1_000_001, max: 1_300_000 }), task: fc.constantFrom(...openTasks(ctx)) }).map(({ t, n, task }) => ({
    cls: 'oversized' as const,
    note: `${n}-byte body to ${t.method} ${t.template}`,
    method: t.method,
    path: fill(t.template, { task, agent: String(ctx.agent), service: ctx.service }),
    headers: { ...t.auth, ...jsonHeaders },
    body: `{"${t.field}":"${'x'.repeat(n)}"}`,
    expect4xx: true,
  }));
}

/** Vendor routes with bad credentials and otherwise valid requests on real, open tasks. */
function badVendorAuthRequest(ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const routes = ROUTES.filter((r) => r.template.startsWith('/vendor/'));
  return fc
    .record({
      route: fc.constantFrom(...routes),
      auth: badVendorAuth(ctx),
      task: fc.constantFrom(...allTasks(ctx)),
    })
    .chain(({ route, auth, task }) =>
      fc.record({ method: fc.constantFrom(...route.methods), body: plausibleBody(ctx, route.template) }).map(({ method, body }) => ({
        cls: 'badVendorAuth' as const,
        note: `${auth.note} on ${method} ${route.template}`,
        method,
        path: fill(route.template, { task }),
        headers: { ...auth.headers, ...jsonHeaders },
        body: method === 'GET' ? undefined : json(body),
        expect4xx: true,
      })),
    );
}

/**
 * Vendor headers with exactly one of them malformed and the rest valid (the signature too), sent in
 * every run whatever the seed: a server must check every header before it uses any, and the random
 * mix of {@link badVendorAuthRequest} reaches each such pairing only in some seeds.
 */
export function everyRunAuthRequests(ctx: FuzzContext): FuzzRequest[] {
  const bad: [string, string][] = [
    ['x-agent-id', 'abc'],
    ['x-agent-id', '-1'],
    ['x-vendor-address', 'not-an-address'],
    ['x-timestamp', 'soon'],
  ];
  return bad.map(([header, value]) => ({
    cls: 'badVendorAuth' as const,
    note: `valid vendor headers but ${header}: ${value} on GET /vendor/tasks`,
    method: 'GET',
    path: '/vendor/tasks',
    headers: { ...ctx.validAuth, [header]: value },
    expect4xx: true,
  }));
}

/**
 * Unpaid POSTs of the paid route whose JSON body is not an object (null, an array, a number, a
 * string, a boolean), sent in every run: the random mix reaches each only in some seeds, and a
 * server that reads such a body as an object (`Object.keys(null)`) answers 500. Any 4xx conforms,
 * a 402 challenge included (a server may read a scalar body as no fields).
 */
export function everyRunBodyRequests(ctx: FuzzContext): FuzzRequest[] {
  return ['null', '[]', '[1]', '5', '"s"', 'true', 'false', '0'].map((body) => ({
    cls: 'wrongTypes' as const,
    note: `paid route, unpaid POST whose JSON body is ${body}`,
    method: 'POST',
    path: `/${ctx.agent}/${ctx.service}`,
    headers: jsonHeaders,
    body,
    expect4xx: true,
  }));
}

/** A real API key used on another agent's tasks (403), or on a list/read (allowed reads only). */
function wrongAgentKey(ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  return fc.record({ action: fc.constantFrom('start', 'complete', 'fail'), task: fc.constantFrom(...allTasks(ctx)) }).chain(({ action, task }) =>
    plausibleBody(ctx, `/vendor/tasks/:task/${action}`).map((body) => ({
      cls: 'badVendorAuth' as const,
      note: `another agent's API key on ${action}`,
      method: 'POST',
      path: `/vendor/tasks/${task}/${action}`,
      headers: { authorization: `Bearer ${ctx.apiKey}`, ...jsonHeaders },
      body: json(body),
      expect4xx: true,
    })),
  );
}

/** The right vendor on tasks in a state that forbids the action (terminal, or another agent's). */
function wrongState(ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const cases: { action: string; tasks: Hex[] }[] = [
    { action: 'start', tasks: [ctx.tasks.processing, ctx.tasks.completed, ctx.tasks.failed, ctx.tasks.otherPending] },
    { action: 'complete', tasks: [ctx.tasks.pending, ctx.tasks.completed, ctx.tasks.failed, ctx.tasks.otherPending] },
    { action: 'fail', tasks: [ctx.tasks.completed, ctx.tasks.failed, ctx.tasks.otherPending] },
  ];
  return fc
    .constantFrom(...cases)
    .chain((c) => fc.record({ task: fc.constantFrom(...c.tasks), body: plausibleBody(ctx, `/vendor/tasks/:task/${c.action}`), upper: fc.boolean() }).map((x) => ({ ...x, action: c.action })))
    .map(({ action, task, body, upper }) => ({
      cls: 'badVendorAuth' as const,
      note: `vendor1 ${action} on a task in the wrong state or of another agent`,
      method: 'POST',
      // The server lowercases ids, so the upper-case spelling names the same task.
      path: `/vendor/tasks/${upper ? `0x${task.slice(2).toUpperCase()}` : task}/${action}`,
      headers: { ...ctx.validAuth, ...jsonHeaders },
      body: json(body),
      expect4xx: true,
    }));
}

/** A valid, signed payment with a body the paid route must refuse before touching the payment. */
function validPaymentBadBody(ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      method: fc.constantFrom('GET', 'POST'),
      header: fc.constantFrom('PAYMENT-SIGNATURE', 'X-PAYMENT'),
      payment: fc.constantFrom(...ctx.validPayments),
      body: fc.oneof(
        { arbitrary: corruptPaidBody().map((b) => ({ kind: 'wrong types', text: json(b) as string | Uint8Array })), weight: 4 },
        { arbitrary: malformedJson.map((text) => ({ kind: 'not JSON', text })), weight: 2 },
        { arbitrary: fc.integer({ min: 1_000_001, max: 1_100_000 }).map((n) => ({ kind: 'too large', text: `{"task_detail":"${'x'.repeat(n)}"}` as string | Uint8Array })), weight: 1 },
        // Valid JSON that could not be stored: before the fix it settled, then the task write overflowed the stack.
        {
          arbitrary: fc.integer({ min: 65, max: 100_000 }).map((d) => ({ kind: `task_metadata nested ${d} levels`, text: deeplyNested('task_metadata', d) as string | Uint8Array })),
          weight: 1,
        },
      ),
    })
    .map(({ method, header, payment, body }) => ({
      cls: 'wrongTypes' as const,
      note: `valid payment, body ${body.kind}`,
      method,
      path: `/${ctx.agent}/${ctx.service}`,
      headers: { ...jsonHeaders, [header]: payment },
      body: body.text,
      expect4xx: true,
    }));
}

function badPayment(ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      method: fc.constantFrom('GET', 'POST', 'HEAD'),
      agentRoute: fc.constant({ agent: String(ctx.agent), service: ctx.service }),
      which: fc.constantFrom('PAYMENT-SIGNATURE', 'X-PAYMENT', 'payment-signature', 'x-payment', 'both'),
      pay: badPaymentHeader(ctx),
      other: badPaymentHeader(ctx),
      body: plausibleBody(ctx, '/:agent/:service'),
    })
    .map(({ method, agentRoute, which, pay, other, body }) => {
      const headers: Record<string, string> = { ...jsonHeaders };
      if (which === 'both') {
        headers['PAYMENT-SIGNATURE'] = pay.value;
        headers['X-PAYMENT'] = other.value;
      } else headers[which] = pay.value;
      return {
        cls: 'badPayment' as const,
        note: `${which}: ${pay.note}${which === 'both' ? ` / ${other.note}` : ''}`,
        method,
        path: `/${agentRoute.agent}/${agentRoute.service}`,
        headers,
        body: method === 'HEAD' ? undefined : json(body),
        expect4xx: true,
      };
    });
}

/**
 * Requests the HTTP layer refuses before the app: a payment header over 16 KiB (and over 64 KiB),
 * a raw non-ASCII or backslashed request-target, a bad Host, an unknown method, a bad Expect. Rare
 * on purpose. None carries valid credentials: a layer that "repaired" the request (a proxy
 * rewriting Host) must still not make it act.
 */
function transport(ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  return fc.oneof(
    // Past node's default 16 KiB (the paywall's own 431) and past the server's 64 KiB (its clientError 431).
    fc.integer({ min: 16_500, max: 90_000 }).map((n) => ({
      cls: 'transport' as const,
      note: `${n}-byte PAYMENT-SIGNATURE`,
      method: 'POST',
      path: `/${ctx.agent}/${ctx.service}`,
      // No body: node closes the connection after its 431, and a body still being written would race it.
      headers: { 'PAYMENT-SIGNATURE': 'A'.repeat(n) },
      expect4xx: true,
      transport: 'header-too-large' as const,
    })),
    fc
      .record({
        prefix: fc.constantFrom('/tasks/', '/agents/', `/${ctx.agent}/`, '/vendor/tasks/', '/'),
        raw: fc.oneof(fc.string({ unit: fc.integer({ min: 0xa1, max: 0xff }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 10 }), fc.constantFrom('a\\b', '..\\..\\x', '\\')),
      })
      .map(({ prefix, raw }) => ({
        cls: 'transport' as const,
        note: 'raw non-ASCII or backslash in the request-target',
        method: 'GET',
        path: prefix + raw,
        headers: {},
        expect4xx: true,
        transport: 'bad-request-target' as const,
      })),
    fc.constantFrom('exa mple..com:99999', 'a/b', '[::1', 'x:y:z', 'évil').map((host) => ({
      cls: 'transport' as const,
      note: `bad Host ${host}`,
      method: 'POST',
      path: `/vendor/tasks/${ctx.tasks.pending}/start`,
      headers: { host },
      expect4xx: true,
      transport: 'bad-host' as const,
    })),
    fc.constantFrom('FOO', 'GETT', 'G-E-T', 'POSTX').map((method) => ({
      cls: 'transport' as const,
      note: `unknown method ${method}`,
      method,
      path: `/vendor/tasks/${ctx.tasks.pending}/start`,
      headers: {},
      expect4xx: true,
      transport: 'unknown-method' as const,
    })),
    fc.constant({
      cls: 'transport' as const,
      note: 'Expect: nonsense',
      method: 'POST',
      path: `/vendor/tasks/${ctx.tasks.pending}/fail`,
      headers: { ...jsonHeaders, expect: 'nonsense' },
      body: '{}',
      expect4xx: true,
      transport: 'bad-expect' as const,
    }),
  );
}

/** Extra junk on any request: a random query string and unknown headers (never auth/payment). */
function withJunk(r: FuzzRequest): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      query: fc.option(fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.string({ maxLength: 10 }), { maxKeys: 3 }), { nil: undefined, freq: 4 }),
      junk: fc.option(fc.dictionary(fc.constantFrom('x-forwarded-for', 'x-request-id', 'accept', 'accept-encoding', 'x-junk', 'content-language'), headerValue(40), { maxKeys: 2 }), {
        nil: undefined,
        freq: 3,
      }),
      chunked: fc.boolean(),
      absolute: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
    })
    .map(({ query, junk, chunked, absolute }) => {
      if (r.transport) return r;
      // Absolute-form request-target (a proxy-style request) to a foreign host: same route, same answer.
      if (absolute) r = { ...r, path: `http://evil.example${r.path}` };
      if (chunked && r.body !== undefined && r.method !== 'HEAD') r = { ...r, chunked: true };
      let path = r.path;
      // A query on the paid GET route is read as the body; it must still be refused by what else is wrong.
      if (query && !path.includes('?') && !(r.cls === 'badPayment' || r.cls === 'wrongTypes')) {
        const qs = Object.entries(query)
          .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
          .join('&');
        path = `${path}?${qs}`;
      }
      return { ...r, path, headers: { ...(junk ?? {}), ...r.headers } };
    });
}

/**
 * Requests each a server must refuse cheaply: 60 KB headers, 1 MB bodies, nesting 100,000 deep,
 * 60 KB Solana and vendor addresses (`ctx.validAuth`'s other headers, so only the oversized one is
 * wrong). The fuzz test checks their answers (a JSON 4xx); `npm run bench` measures what refusing
 * each costs against parsing 1 MB of JSON (reference-impl/agentripe/bench-refusals.ts): the CPU
 * of an unauthenticated request must stay linear in its size.
 */
export function heavyRequests(ctx: Pick<FuzzContext, 'agent' | 'service' | 'validAuth'>, nowSeconds: number): FuzzRequest[] {
  const now = String(nowSeconds);
  const paid = `/${ctx.agent}/${ctx.service}`;
  const big = 60_000;
  const j = { 'content-type': 'application/json' };
  const solana = (address: string) => ({ 'x-solana-address': address, 'x-agent-id': String(ctx.agent), 'x-timestamp': now, 'x-signature': 'ab'.repeat(64) });
  const cases: [string, string, string, Record<string, string>, string?][] = [
    ['60 KB EVM signature', 'GET', '/vendor/tasks', { ...ctx.validAuth, 'x-signature': `0x${'ab'.repeat(big / 2)}` }],
    ['60 KB vendor address', 'GET', '/vendor/tasks', { ...ctx.validAuth, 'x-vendor-address': `0x${'a'.repeat(big)}` }],
    ['60 KB bearer key', 'GET', '/vendor/tasks', { authorization: `Bearer ak_${'a'.repeat(big)}` }],
    ['60 KB query', 'GET', `${paid}?${'a=b&'.repeat(big / 4)}`, {}],
    ['3,000-key task_metadata query', 'GET', `${paid}?task_metadata=${encodeURIComponent(JSON.stringify(Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`k${i}`, i]))))}`, {}],
    ['60 KB task id', 'GET', `/tasks/${'f'.repeat(big)}`, {}],
    ['60 KB service path', 'POST', `/${ctx.agent}/${'s/'.repeat(big / 2)}x`, j, '{}'],
    ['60 KB agent id', 'GET', `/agents/${'9'.repeat(big)}`, {}],
    ['60,000-key task_metadata body', 'POST', paid, j, JSON.stringify({ task_metadata: Object.fromEntries(Array.from({ length: 60_000 }, (_, i) => [`k${i}`, i])) })],
    ['100,000-deep task_metadata', 'POST', paid, j, `{"task_metadata":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`],
    ['300,000-deep register-with-key data', 'POST', '/agents/register-with-key', j, `{"data":${'['.repeat(300_000)}${']'.repeat(300_000)}}`],
    ['15 KB payment header of JSON', 'POST', paid, { ...j, 'payment-signature': Buffer.from(JSON.stringify({ x402Version: 2, accepted: { a: 'x'.repeat(10_000) } })).toString('base64') }, '{}'],
    ['2,000-char Solana address', 'GET', '/vendor/tasks', solana('z'.repeat(2_000))],
    // Regression (found by the fuzz, fixed in the server's auth.ts): base58 decoding is quadratic
    // and ran before any length check, ~0.8 s of CPU for this one unauthenticated request.
    ['60 KB Solana address', 'GET', '/vendor/tasks', solana('z'.repeat(big))],
  ];
  return cases.map(([note, method, path, headers, body]) => ({ cls: 'oversized', note, method, path, headers, body, expect4xx: true }));
}

/** Any malformed request against the server described by `ctx`. */
export function malformedRequest(ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  return fc
    .oneof(
      { arbitrary: wrongMethod(ctx), weight: 3 },
      { arbitrary: badPathParam(ctx), weight: 4 },
      { arbitrary: badJson(ctx), weight: 3 },
      { arbitrary: wrongTypes(ctx), weight: 4 },
      { arbitrary: oversized(ctx), weight: 1 },
      { arbitrary: badVendorAuthRequest(ctx), weight: 5 },
      { arbitrary: wrongAgentKey(ctx), weight: 1 },
      { arbitrary: wrongState(ctx), weight: 1 },
      { arbitrary: badPayment(ctx), weight: 6 },
      { arbitrary: validPaymentBadBody(ctx), weight: 2 },
      { arbitrary: badRegistration(ctx), weight: 3 },
      { arbitrary: transport(ctx), weight: 1 },
    )
    .chain(withJunk);
}

/** Lower-cased header names → values (a repeated header joined). */
function headersOf(r: FuzzRequest): Record<string, string> {
  return Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : v]));
}

/** Whether `r` carries a credential or payment that would let it act: vendor1's valid EVM headers, the real API key, a valid payment. */
export function carriesValidCredential(ctx: FuzzContext, r: FuzzRequest): boolean {
  const h = headersOf(r);
  const evm = ['x-vendor-address', 'x-agent-id', 'x-timestamp', 'x-signature'].every((k) => h[k] === ctx.validAuth[k]);
  const key = h.authorization === `Bearer ${ctx.apiKey}`;
  const pay = [h['payment-signature'], h['x-payment']].some((v) => v !== undefined && ctx.validPayments.includes(v));
  return evm || key || pay;
}

/**
 * Whether every careful reading of the seed refuses `r` without acting, so the robustness
 * scenario may send it to a third party: not a body the reference refuses by its own profile
 * (a field's type, a size or depth limit) paired with what would make it act (a valid credential or
 * payment, or a registration). A body declared `application/json` that is not JSON at all is
 * refused by every reading (profile: AGR-PROF-21).
 */
export function thirdPartyRequest(ctx: FuzzContext, r: FuzzRequest): boolean {
  if (!['wrongTypes', 'oversized', 'badRegistration'].includes(r.cls)) return true;
  const path = r.path.replace(/^[a-z]+:\/\/[^/]+/i, '').split('?')[0];
  if (!(carriesValidCredential(ctx, r) || path === '/agents/register')) return true;
  const declaredJson = /^application\/json\s*(;|$)/i.test(headersOf(r)['content-type'] ?? '');
  return r.method === 'POST' && declaredJson && r.body !== undefined && unreadableAsJson(r.body);
}

// ---- the response check -------------------------------------------------------------------------

/** An HTTP answer as received. */
export interface FuzzResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * Checks one answer to a malformed request; returns what is wrong, or null.
 * - never 5xx;
 * - a request aimed at a state-changing route (or at no route) gets 4xx;
 * - a transport-level defect gets exactly its {@link TRANSPORT_STATUS};
 * - a 4xx carries a JSON object with a non-empty `error` (a string, or `{code?, message}`), except
 *   for HEAD (no body by definition). No exception for refusals made below the app: an empty
 *   body there is a failure too.
 */
export function checkResponse(req: FuzzRequest, res: FuzzResponse): string | null {
  if (res.status >= 500) return `${res.status} for a malformed request`;
  if (req.expect4xx && (res.status < 400 || res.status >= 500)) return `${res.status} (expected 4xx)`;
  if (req.transport && res.status !== TRANSPORT_STATUS[req.transport]) return `${res.status} (expected ${TRANSPORT_STATUS[req.transport]} for ${req.transport})`;
  if (res.status < 400 || req.method === 'HEAD') return null;
  const ct = String(res.headers['content-type'] ?? '');
  if (!/^application\/json\b/i.test(ct)) return `${res.status} with content-type "${ct}" (expected JSON): ${res.body.slice(0, 80)}`;
  let body: unknown;
  try {
    body = JSON.parse(res.body);
  } catch {
    return `${res.status} body is not JSON: ${res.body.slice(0, 80)}`;
  }
  const error = (body as { error?: unknown } | null)?.error;
  if (typeof error === 'string' && error.length > 0) return null;
  if (error && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string' && (error as { message: string }).message.length > 0) return null;
  return `${res.status} body has no error: ${res.body.slice(0, 80)}`;
}

// ---- pre-signed near-misses ---------------------------------------------------------------------

/** Inputs for {@link signNearMisses}. */
export interface NearMissInputs {
  vendorKey: Hex;
  otherVendorKey: Hex;
  attackerKey: Hex;
  buyerKey: Hex;
  agent: bigint;
  otherAgent: bigint;
  offered: RequirementsV2;
  chainId: number;
  /** Chain time (s) for payment windows; host time (s) for auth timestamps. */
  chainNow: bigint;
  hostNow: number;
}

/**
 * Signs everything that needs a real signature but must still be refused: vendor auth with a
 * valid signature over a bad timestamp / for the wrong agent / by the wrong key, register-with-key
 * near-misses, x402 payments that are properly signed but wrong in one way each, and a few valid
 * payments (sent only with bodies that must be refused).
 */
export async function signNearMisses(i: NearMissInputs): Promise<Pick<FuzzContext, 'validAuth' | 'badAuth' | 'badPayments' | 'validPayments' | 'badRegisterWithKey'>> {
  const vendor = privateKeyToAccount(i.vendorKey);
  const other = privateKeyToAccount(i.otherVendorKey);
  const attacker = privateKeyToAccount(i.attackerKey);
  const addr = vendor.address;
  const evm = async (signer: typeof vendor, address: string, agent: string, ts: string, signedTs = ts, signedAddr = address) => ({
    'x-vendor-address': address,
    'x-agent-id': agent,
    'x-timestamp': ts,
    'x-signature': await signer.signMessage({ message: vendorAuthMessage(signedAddr, signedTs) }),
  });
  const now = i.hostNow;
  const validAuth = await evm(vendor, addr, String(i.agent), String(now));
  const badAuth: FuzzContext['badAuth'] = [];
  for (const off of [-301, -3600, -86_400 * 365, 3_600, 1_000_000]) {
    badAuth.push({ note: `valid signature, timestamp ${off > 0 ? '+' : ''}${off}s`, headers: await evm(vendor, addr, String(i.agent), String(now + off)) });
  }
  badAuth.push({ note: 'valid signature, timestamp 0', headers: await evm(vendor, addr, String(i.agent), '0') });
  for (const ts of ['1e9', '-1', `${now}.0`, `0x${now.toString(16)}`, '9'.repeat(13), `+${now}`]) {
    badAuth.push({ note: `valid signature over non-decimal timestamp ${ts}`, headers: await evm(vendor, addr, String(i.agent), ts) });
  }
  badAuth.push({ note: 'valid signature, another agent id', headers: await evm(vendor, addr, String(i.otherAgent), String(now)) });
  badAuth.push({ note: 'valid signature, agent id that does not exist', headers: await evm(vendor, addr, '987654321', String(now)) });
  badAuth.push({ note: 'owner of another agent claims this agent', headers: await evm(other, other.address, String(i.agent), String(now)) });
  badAuth.push({ note: 'attacker signs for the vendor address', headers: await evm(attacker, addr, String(i.agent), String(now)) });
  badAuth.push({ note: 'signature over another timestamp', headers: await evm(vendor, addr, String(i.agent), String(now), String(now - 1)) });
  badAuth.push({ note: 'signature over the lowercase address, checksummed header', headers: await evm(vendor, addr, String(i.agent), String(now), String(now), addr.toLowerCase()) });
  badAuth.push({ note: 'signature by the vendor, attacker address in header', headers: await evm(vendor, attacker.address, String(i.agent), String(now), String(now), addr) });

  // x402 near-misses (each properly signed, each wrong in one way) and valid payments.
  const { badPayments, validPayments } = await signPaymentNearMisses({
    buyerKey: i.buyerKey,
    attackerKey: i.attackerKey,
    someoneElse: other.address,
    offered: i.offered,
    chainId: i.chainId,
    chainNow: i.chainNow,
  });

  // register-with-key near-misses (valid signature, wrong in one way): all 401.
  const rwk = (walletAddress: string, ts: string | number, signature: Hex) => ({
    walletAddress,
    walletSignature: signature,
    timestamp: ts,
    data: { name: 'x', services: [{ name: 'x402', endpoint: '', catalog: [] }] },
  });
  const badRegisterWithKey: FuzzContext['badRegisterWithKey'] = [
    { note: 'stale timestamp', body: rwk(attacker.address, now - 3_600, await attacker.signMessage({ message: registerWithKeyMessage(attacker.address, now - 3_600) })) },
    { note: 'future timestamp', body: rwk(attacker.address, now + 3_600, await attacker.signMessage({ message: registerWithKeyMessage(attacker.address, now + 3_600) })) },
    { note: 'signed by another wallet', body: rwk(addr, now, await attacker.signMessage({ message: registerWithKeyMessage(addr, now) })) },
    { note: 'vendor-auth message instead', body: rwk(attacker.address, now, await attacker.signMessage({ message: vendorAuthMessage(attacker.address, now) })) },
    { note: 'signed another timestamp', body: rwk(attacker.address, now, await attacker.signMessage({ message: registerWithKeyMessage(attacker.address, now - 1) })) },
  ];
  return { validAuth, badAuth, badPayments, validPayments, badRegisterWithKey };
}
