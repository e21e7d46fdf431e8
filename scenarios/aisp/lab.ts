/**
 * What the AISP scenarios do as agents, through the Target only: providers list on the target's
 * DiemMarketplace and issue scoped keys with their ADMIN key on the target's inference server
 * (`config.aisp.adminKeys`), renters fund and ask the backend for keys, adversaries try everything
 * else (reference-impl/aisp/agents), and every contract call goes through the run's recorded chain
 * session.
 *
 * Keys are secrets even in a report: every HTTP exchange is recorded with API keys scrubbed (JSON
 * fields named apiKey, and every key this run has seen, wherever it appears), check details never
 * carry a key (only a fingerprint), and every answer's raw text is kept in memory for the leak check
 * (AISP-LEAK-01).
 */
import { createHash } from 'node:crypto';
import type { Address, Hex, LocalAccount } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { RunContext } from '../../harness/engine/context.ts';
import { HarnessFault, Indeterminate } from '../../harness/engine/errors.ts';
import { recordingFetch, type Evidence, type EvidenceRecorder } from '../../harness/engine/evidence.ts';
import type { ChainSession } from '../../harness/engine/session.ts';
import { hasCapability } from '../../harness/target/schema.ts';
import { createBackendClient, type BackendClient } from '../../reference-impl/aisp/agents/backend.ts';
import type { Answer } from '../../reference-impl/aisp/agents/http.ts';
import { ask, createVeniceClient, type VeniceClient } from '../../reference-impl/aisp/agents/venice.ts';
import { marketplaceAbi, usdcAbi } from '../../reference-impl/aisp/protocol/abi.ts';
import { AISP_PROFILE } from '../../reference-impl/aisp/protocol/profile.ts';
import { listingAnswer, rateLimitsAnswer, unitsToDiem, diemToUnits, type ListingView } from '../../reference-impl/aisp/protocol/wire.ts';

/** Contracts every AISP scenario needs on its chain. */
export const AISP_NEEDS = ['usdc', 'diemMarketplace'];
/** Provider roles (each has an ADMIN key on the inference server) and renter roles. */
export const PROVIDERS = ['provider', 'vendor1'] as const;
export const RENTERS = ['buyer1', 'buyer2'] as const;
/** The capability a target grants by naming ADMIN keys for the provider roles in config.aisp.adminKeys. */
export const ADMIN_KEYS = 'aisp:admin-keys';

/** `config.aisp` as the scenarios read it. */
export interface AispConfig {
  adminKeys?: Record<string, string>;
  confirmations?: number;
  signatureWindowSeconds?: number;
}

/** A short, non-reversible name for a key (what reports and check details show instead of it). */
export const fp = (key: string) => `key#${createHash('sha256').update(key).digest('hex').slice(0, 8)}`;

/** One answer seen in this run, kept for the leak check. */
export interface Seen {
  method: string;
  url: string;
  status: number;
  text: string;
}

/** Per-run handle on the AISP parts of the target. */
export interface Aisp {
  ctx: RunContext;
  s: ChainSession;
  market: Address;
  usdc: Address;
  config: AispConfig;
  window: number;
  confirmations: number;
  /** The recording, redacting, leak-tapping fetch. */
  fetch: typeof fetch;
  backend: BackendClient;
  venice: VeniceClient;
  /** Every key this run has handled (scrubbed from evidence; searched for in answers). */
  secrets: Set<string>;
  seen: Seen[];
  /** Lab clock: the timestamp the next block will carry. */
  now(): Promise<number>;
  account(role: string): LocalAccount;
  /** Text safe for a report: keys scrubbed, cut to `n` characters. */
  show(v: unknown, n?: number): string;
}

function scrubber(secrets: Set<string>) {
  return (s: string | undefined): string | undefined => {
    if (s === undefined) return s;
    let out = s;
    for (const k of secrets) if (k.length >= 8) out = out.split(k).join(`[${fp(k)}]`);
    return out.replace(/("(?:api_?key|adminKey|secret)"\s*:\s*")([^"]*)(")/gi, (_m, a: string, v: string, b: string) => `${a}[${fp(v)}]${b}`);
  };
}

/**
 * Opens the AISP view of the target for this run. `backendUrl`: talk to this backend instead of the
 * endpoint's (the restartable one a crash scenario gets from `ctx.restartable`).
 */
export async function aisp(ctx: RunContext, o: { backend?: boolean; inference?: boolean; backendUrl?: string } = {}): Promise<Aisp> {
  const spec = ctx.target.chains.find((c) => c.contracts.diemMarketplace && (c.usdc ?? c.tokens.usdc));
  if (!spec) throw new HarnessFault('no target chain declares usdc + diemMarketplace');
  const s = await ctx.chain(spec.id);
  const config = (ctx.target.config.aisp ?? {}) as AispConfig;
  const secrets = new Set<string>(Object.values(config.adminKeys ?? {}));
  const scrub = scrubber(secrets);
  const seen: Seen[] = [];
  // Evidence goes through the scrubber on its way into the run's recorder.
  const proxy = {
    add: (e: Evidence) => ctx.evidence.add(e.kind === 'http' ? { ...e, url: scrub(e.url)!, requestBody: scrub(e.requestBody), responseBody: scrub(e.responseBody), error: scrub(e.error) } : e),
  } as unknown as EvidenceRecorder;
  const recording = recordingFetch(proxy);
  const tapped: typeof fetch = async (input, init) => {
    const res = await recording(input, init);
    const req = new Request(input as RequestInfo, init);
    seen.push({ method: req.method, url: req.url, status: res.status, text: await res.clone().text() });
    return res;
  };
  const now = async () => Number(await s.pendingTime());
  const backendUrl = (o.backendUrl ?? (o.backend ? ctx.endpoint('aisp-backend').url : undefined))?.replace(/\/+$/, '');
  const inferenceUrl = o.inference ? ctx.endpoint('aisp-inference').url.replace(/\/+$/, '') : undefined;
  return {
    ctx,
    s,
    market: s.contract('diemMarketplace'),
    usdc: s.contract('usdc'),
    config,
    window: config.signatureWindowSeconds ?? AISP_PROFILE.signatureWindowSeconds,
    confirmations: config.confirmations ?? AISP_PROFILE.confirmations,
    fetch: tapped,
    backend: createBackendClient(backendUrl ?? 'http://backend.not.declared', { fetchImpl: tapped, clock: now }),
    venice: createVeniceClient(inferenceUrl ?? 'http://inference.not.declared', tapped),
    secrets,
    seen,
    now,
    account: (role) => privateKeyToAccount(ctx.key(role)),
    show: (v, n = 300) => (scrub(typeof v === 'string' ? v : JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x))) ?? '').slice(0, n),
  };
}

/** The ADMIN key of a provider role on the target's inference server (indeterminate when the target names none). */
export function adminKey(a: Aisp, role: string): string {
  const k = a.config.adminKeys?.[role];
  if (!k) throw new Indeterminate(undefined, `config.aisp.adminKeys.${role} is not set: no key can be issued for ${role}`);
  return k;
}

/** Whether the target grants the admin-keys capability (scenarios that issue keys need it). */
export function canIssueKeys(a: Aisp): boolean {
  return hasCapability(a.ctx.target, ADMIN_KEYS);
}

// ---- chain ---------------------------------------------------------------------------------------

export interface Terms {
  pricePerDay: bigint;
  termDays: bigint;
  diemMin: bigint;
  diemMax: bigint;
}

/** The chain's view of a listing. */
export async function getListing(a: Aisp, id: bigint) {
  return a.s.read(a.market, marketplaceAbi, 'getListing', [id]);
}

/** The chain's view of a rental. */
export async function getRental(a: Aisp, id: bigint) {
  return a.s.read(a.market, marketplaceAbi, 'getRental', [id]);
}

export async function counters(a: Aisp): Promise<{ listings: bigint; rentals: bigint }> {
  return { listings: await a.s.read(a.market, marketplaceAbi, 'listingCount'), rentals: await a.s.read(a.market, marketplaceAbi, 'rentalCount') };
}

/** `role` lists `t`; the listing id, or the refusal. */
export async function tryList(a: Aisp, role: string, t: Terms): Promise<{ ok: true; listingId: bigint; hash: Hex } | { ok: false; reason: string }> {
  const r = await a.s.attempt({ label: `${role} lists`, role, address: a.market, abi: marketplaceAbi, functionName: 'list', args: [t.pricePerDay, t.termDays, t.diemMin, t.diemMax] });
  if (!r.ok) return { ok: false, reason: r.reason };
  const ev = r.events.find((e) => e.eventName === 'Listed');
  if (!ev) return { ok: false, reason: 'list succeeded without a Listed event' };
  return { ok: true, listingId: ev.args.listingId as bigint, hash: r.hash };
}

/** Setup step: `role` lists `t` (indeterminate when the target's marketplace refuses). */
export async function list(a: Aisp, role: string, t: Terms): Promise<bigint> {
  a.ctx.act(`${role} lists ${t.diemMin}..${t.diemMax} DIEM units at ${t.pricePerDay} USDC units/DIEM/day for up to ${t.termDays} days`);
  const r = await tryList(a, role, t);
  if (!r.ok) throw new Indeterminate(undefined, `setup: the marketplace refused list (${r.reason})`);
  return r.listingId;
}

/** `role` approves `amount` USDC for the marketplace. */
export async function approve(a: Aisp, role: string, amount: bigint): Promise<void> {
  const r = await a.s.attempt({ label: `${role} approves ${amount}`, role, address: a.usdc, abi: usdcAbi, functionName: 'approve', args: [a.market, amount] });
  if (!r.ok) throw new Indeterminate(undefined, `setup: USDC approve refused (${r.reason})`);
}

export interface Funded {
  rentalId: bigint;
  /** The fund transaction. */
  hash: Hex;
  cost: bigint;
  expiresAt: bigint;
  block: bigint;
}

/** `role` funds (without approving first); the rental or the refusal. */
export async function tryFund(a: Aisp, role: string, listingId: bigint, termDays: bigint, diem: bigint): Promise<({ ok: true } & Funded) | { ok: false; reason: string }> {
  const r = await a.s.attempt({ label: `${role} funds listing ${listingId}`, role, address: a.market, abi: marketplaceAbi, functionName: 'fund', args: [listingId, termDays, diem] });
  if (!r.ok) return { ok: false, reason: r.reason };
  const ev = r.events.find((e) => e.eventName === 'Funded');
  if (!ev) return { ok: false, reason: 'fund succeeded without a Funded event' };
  return { ok: true, rentalId: ev.args.rentalId as bigint, hash: r.hash, cost: ev.args.cost as bigint, expiresAt: BigInt(ev.args.expiresAt as bigint), block: r.blockNumber };
}

/** Setup step: `role` approves the quote and funds (indeterminate when refused). */
export async function fund(a: Aisp, role: string, listingId: bigint, termDays: bigint, diem: bigint): Promise<Funded> {
  a.ctx.act(`${role} rents ${diem} DIEM units of listing ${listingId} for ${termDays} days`);
  const quote = await a.s.read(a.market, marketplaceAbi, 'quote', [listingId, termDays, diem]).catch((e: Error) => {
    throw new Indeterminate(undefined, `setup: quote refused (${e.message.split('\n')[0]})`);
  });
  await approve(a, role, quote);
  const r = await tryFund(a, role, listingId, termDays, diem);
  if (!r.ok) throw new Indeterminate(undefined, `setup: the marketplace refused fund (${r.reason})`);
  return r;
}

/** Moves the chain clock forward by `seconds` and mines a block (needs clock-control). */
export async function warp(a: Aisp, seconds: number | bigint): Promise<void> {
  await a.s.test.increaseTime({ seconds: Number(seconds) });
  await a.s.test.mine({ blocks: 1 });
}

/**
 * Lets `n` blocks pass (confirmations): `evm_mine` where the target grants clock-control, else `n`
 * harmless transactions (a zero USDC approval by `role`), which any chain mines.
 */
export async function mine(a: Aisp, n: number, role = 'provider'): Promise<void> {
  if (n <= 0) return;
  if (hasCapability(a.ctx.target, 'clock-control')) {
    await a.s.test.mine({ blocks: n });
    return;
  }
  for (let i = 0; i < n; i++)
    await a.s.attempt({ label: `${role} sends a no-op (a block passes)`, role, address: a.usdc, abi: usdcAbi, functionName: 'approve', args: ['0x000000000000000000000000000000000000dEaD', 0n] });
}

/** USDC balances of some addresses. */
export async function balances(a: Aisp, who: Record<string, Address>): Promise<Record<string, bigint>> {
  const out: Record<string, bigint> = {};
  for (const [k, v] of Object.entries(who)) out[k] = await a.s.balanceOf(a.usdc, v);
  return out;
}

// ---- keys ----------------------------------------------------------------------------------------

/** The first model the inference server lists (the lab's is diem-lab-1). */
export async function model(a: Aisp): Promise<string> {
  const r = await a.venice.models();
  const id = (r.body as { data?: { id?: unknown }[] } | null)?.data?.[0]?.id;
  if (r.status !== 200 || typeof id !== 'string') throw new Indeterminate(undefined, `setup: GET /models answered ${r.status} without a model id`);
  return id;
}

/** A scoped INFERENCE key issued by `role`'s ADMIN key (setup step: indeterminate when refused). */
export async function issueKey(a: Aisp, role: string, o: { limitDiem?: bigint; expiresAt?: number; type?: 'INFERENCE' | 'ADMIN' } = {}): Promise<{ id: string; apiKey: string }> {
  a.ctx.act(`${role} issues a ${o.type ?? 'INFERENCE'} key${o.limitDiem === undefined ? '' : ` limited to ${o.limitDiem} DIEM units per epoch`}${o.expiresAt ? ` expiring at ${o.expiresAt}` : ''}`);
  const r = await a.venice.createKey(adminKey(a, role), {
    apiKeyType: o.type ?? 'INFERENCE',
    description: `agentmarket-harness ${role}`,
    ...(o.limitDiem === undefined ? {} : { consumptionLimit: { diem: unitsToDiem(o.limitDiem) } }),
    ...(o.expiresAt ? { expiresAt: new Date(o.expiresAt * 1000).toISOString() } : {}),
  });
  const key = (r.body as { data?: { apiKey?: unknown; id?: unknown } } | null)?.data;
  if (r.status !== 200 && r.status !== 201) throw new Indeterminate(undefined, `setup: POST /api_keys answered ${r.status}`);
  if (typeof key?.apiKey !== 'string' || typeof key.id !== 'string') throw new Indeterminate(undefined, 'setup: POST /api_keys answered without data.apiKey and data.id');
  a.secrets.add(key.apiKey);
  return { id: key.id, apiKey: key.apiKey };
}

/** `role` stores `apiKey` for `listingId` with a fresh signature. */
export async function storeKey(a: Aisp, role: string, listingId: bigint, apiKey: string, timestamp?: number): Promise<Answer> {
  const signed = await a.backend.signStoreKey(a.account(role), listingId, timestamp);
  return a.backend.storeKey({ listingId, apiKey, ...signed });
}

/** Setup step: list, issue a key capped at diemMax, store it (indeterminate when any step is refused). */
export async function listWithKey(a: Aisp, role: string, t: Terms): Promise<{ listingId: bigint; key: { id: string; apiKey: string } }> {
  const listingId = await list(a, role, t);
  const key = await issueKey(a, role, { limitDiem: t.diemMax });
  a.ctx.act(`${role} stores the key for listing ${listingId}`);
  const r = await storeKey(a, role, listingId, key.apiKey);
  if (r.status < 200 || r.status >= 300) throw new Indeterminate(undefined, `setup: the backend refused the provider's own key (${r.status} ${a.show(r.body, 200)})`);
  return { listingId, key };
}

/** `role` asks for a rental's key with a fresh signature (retrying while the backend says 409, up to `tries`). */
export async function getKey(a: Aisp, role: string, rentalId: bigint, o: { tries?: number; timestamp?: number } = {}): Promise<Answer> {
  return (await getKeySigned(a, role, rentalId, o)).answer;
}

/** {@link getKey}, with the signature of the last try (the one a replay test sends again). */
export async function getKeySigned(
  a: Aisp,
  role: string,
  rentalId: bigint,
  o: { tries?: number; timestamp?: number } = {},
): Promise<{ answer: Answer; signed: Awaited<ReturnType<Aisp['backend']['signGetKey']>> }> {
  let last: { answer: Answer; signed: Awaited<ReturnType<Aisp['backend']['signGetKey']>> } | undefined;
  for (let i = 0; i < (o.tries ?? 1); i++) {
    const signed = await a.backend.signGetKey(a.account(role), rentalId, o.timestamp);
    last = { answer: await a.backend.getKey(rentalId, signed), signed };
    if (last.answer.status !== 409) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const k = (last!.answer.body as { apiKey?: unknown } | null)?.apiKey;
  if (typeof k === 'string' && k.length >= 8) a.secrets.add(k);
  return last!;
}

/** The DIEM a key can still spend, by the inference server's rate_limits (undefined when refused). */
export async function spendable(a: Aisp, key: string): Promise<{ status: number; units?: bigint; body: unknown }> {
  const r = await a.venice.rateLimits(key);
  const p = rateLimitsAnswer.safeParse(r.body);
  return { status: r.status, units: r.status === 200 && p.success ? diemToUnits(p.data.data.balances.DIEM) : undefined, body: r.body };
}

/** The DIEM one call with `prompt` costs on this server, measured with an unlimited key. */
export async function costOf(a: Aisp, m: string, prompt: string): Promise<bigint> {
  // A limit of its own (10,000 DIEM), so its balance falls with use even if the account's would not.
  const probe = await issueKey(a, 'provider', { limitDiem: 10_000n * 1_000_000n });
  const b0 = await spendable(a, probe.apiKey);
  const r = await a.venice.chat(probe.apiKey, ask(m, prompt));
  const b1 = await spendable(a, probe.apiKey);
  if (r.status !== 200 || b0.units === undefined || b1.units === undefined || b1.units >= b0.units)
    throw new Indeterminate(undefined, `setup: cannot measure the cost of a call (${r.status}; balance ${b0.units} → ${b1.units})`);
  return b0.units - b1.units;
}

// ---- listing views -------------------------------------------------------------------------------

/** The backend's view of one listing (undefined with the answer when it is not the documented shape). */
export async function listingView(a: Aisp, id: bigint): Promise<{ status: number; view?: ListingView; text: string }> {
  const r = await a.backend.listing(id);
  const p = listingAnswer.safeParse(r.body);
  return { status: r.status, view: r.status === 200 && p.success ? p.data : undefined, text: r.text };
}

/** Compares the backend's view of a listing with the chain's (under `requirement`, AISP-API-01 by default). */
export async function expectListing(a: Aisp, id: bigint, what: string, requirement = 'AISP-API-01'): Promise<ListingView> {
  const l = await getListing(a, id);
  const v = await listingView(a, id);
  const want = { provider: l.provider.toLowerCase(), pricePerDay: l.pricePerDay, termDays: l.termDays, diemMin: l.diemMin, diemMax: l.diemMax, diemRented: l.diemRented, active: l.active };
  const got = v.view
    ? {
        provider: v.view.provider.toLowerCase(),
        pricePerDay: v.view.pricePerDay,
        termDays: v.view.termDays,
        diemMin: v.view.diemMin,
        diemMax: v.view.diemMax,
        diemRented: v.view.diemRented,
        active: v.view.active,
      }
    : `${v.status} ${a.show(v.text, 200)}`;
  a.ctx.expectEqual(requirement, got, want, `${what}: GET /api/listings/${id} matches getListing`);
  return v.view!;
}

/** Whether any answer seen so far (except those `allowed`) contains one of `keys`. */
export function leaks(a: Aisp, keys: string[], allowed: (s: Seen) => boolean): Seen[] {
  return a.seen.filter((s) => !allowed(s) && keys.some((k) => k.length >= 8 && s.text.includes(k)));
}

/** A body that is a refusal must not hold a key: `apiKey` absent. */
export function hasKeyField(body: unknown): boolean {
  return typeof (body as { apiKey?: unknown } | null)?.apiKey === 'string';
}

/** `2xx` / `4xx` tests. */
export const is2xx = (s: number) => s >= 200 && s < 300;
export const is4xx = (s: number) => s >= 400 && s < 500;
