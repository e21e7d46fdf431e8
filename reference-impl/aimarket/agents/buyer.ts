/**
 * The buyer agent: crawls a hub's well-known document, pins its signer key, verifies the manifest
 * (five-field canonical), plans from an intent within a budget, pays per call (an on-chain transfer
 * then `X-Payment`) or through a channel, runs pipelines, and verifies every receipt it gets. The
 * chain side is a {@link Payer} (the scenarios' recorded ChainSession, or a plain wallet in tests).
 */
import { parsePyJson, type PyValue } from '../protocol/pyjson.ts';
import { parseUsdMicros } from '../protocol/money.ts';
import { type Verdict, verifyManifest, verifyReceipt } from '../protocol/sign.ts';
import { type Manifest, ManifestSchema, type PaymentRequired, PaymentRequiredSchema, type WellKnown, WellKnownSchema } from '../protocol/wire.ts';
import { type Answer, type HubClient, paymentRequiredOf } from './hub-client.ts';

/** Sends a token transfer on chain; resolves with the transaction hash once mined. */
export interface Payer {
  address: string;
  transfer(token: string, to: string, amount: bigint): Promise<{ ok: true; hash: string } | { ok: false; reason: string }>;
}

export interface Discovered {
  wellKnown: WellKnown;
  manifest: Manifest;
  manifestText: string;
  verdict: Verdict;
}

/** Reads the well-known document and the manifest it points at; verifies the manifest under the advertised (pinned) key. */
export async function discoverHub(hub: HubClient): Promise<Discovered | { error: string; answer?: Answer }> {
  const wk = await hub.wellKnown();
  const w = WellKnownSchema.safeParse(wk.body);
  if (wk.status !== 200 || !w.success) return { error: `well-known: HTTP ${wk.status} ${w.success ? '' : w.error.issues[0]?.path.join('.')}`, answer: wk };
  const m = await hub.manifest(w.data.manifest_url);
  const ms = ManifestSchema.safeParse(m.body);
  if (m.status !== 200 || !ms.success) return { error: `manifest: HTTP ${m.status} ${ms.success ? '' : `${ms.error.issues[0]?.path.join('.')}: ${ms.error.issues[0]?.message}`}`, answer: m };
  return { wellKnown: w.data, manifest: ms.data, manifestText: m.text, verdict: verifyManifest(m.text, w.data.signer_public_key) };
}

/** The receipt object inside a response text, read as Python reads it (number kinds kept). */
export function receiptOf(text: string): { [k: string]: PyValue } | undefined {
  try {
    const doc = parsePyJson(text) as { [k: string]: PyValue };
    const r = doc.receipt ?? (doc.nonce !== undefined ? doc : undefined);
    return r && typeof r === 'object' && !Array.isArray(r) ? (r as { [k: string]: PyValue }) : undefined;
  } catch {
    return undefined;
  }
}

/** Verifies a receipt inside a response under the hub's pinned key. */
export function checkReceipt(text: string, pinned: string): Verdict {
  const r = receiptOf(text);
  return r ? verifyReceipt(r, pinned) : { ok: false, generation: 'none', reason: 'no receipt object' };
}

/** Plans the cheapest tools whose names or descriptions share a word with the intent, within the budget. */
export function planWithin(tools: readonly { name: string; description: string; price_per_call_usd: number }[], intent: string, budgetUsd: number) {
  const words = intent
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 2);
  const budget = parseUsdMicros(budgetUsd);
  const ranked = tools.filter((t) => words.some((w) => `${t.name} ${t.description}`.toLowerCase().includes(w))).sort((a, b) => a.price_per_call_usd - b.price_per_call_usd);
  const plan: typeof ranked = [];
  let total = 0n;
  for (const t of ranked) {
    const p = parseUsdMicros(t.price_per_call_usd);
    if (total + p > budget) continue;
    total += p;
    plan.push(t);
  }
  return { plan, totalMicros: total };
}

/** The 402 requirement of an answer (raw JSON header), or why there is none. */
export function requirementOf(a: Answer): { ok: true; req: PaymentRequired; amount: bigint } | { ok: false; reason: string } {
  const raw = paymentRequiredOf(a);
  if (raw === undefined) return { ok: false, reason: a.headers.get('x-payment-required') === null ? 'no X-Payment-Required header' : 'X-Payment-Required is not raw JSON' };
  const p = PaymentRequiredSchema.safeParse(raw);
  if (!p.success) return { ok: false, reason: `X-Payment-Required: ${p.error.issues[0]?.path.join('.')}: ${p.error.issues[0]?.message}` };
  try {
    return { ok: true, req: p.data, amount: parseUsdMicros(p.data.amount) };
  } catch (e) {
    return { ok: false, reason: `amount: ${(e as Error).message}` };
  }
}

/** Pays a 402 requirement with a transfer of exactly its amount (token base units of 6 decimals) and retries with X-Payment. */
export async function payAndInvoke(hub: HubClient, payer: Payer, token: string, pid: string, cid: string, input: unknown) {
  const first = await hub.invoke(pid, cid, input);
  if (first.status !== 402) return { first, paid: undefined, hash: undefined };
  const r = requirementOf(first);
  if (!r.ok) return { first, paid: undefined, hash: undefined };
  const tx = await payer.transfer(token, r.req.recipient, r.amount);
  if (!tx.ok) return { first, paid: undefined, hash: undefined };
  const paid = await hub.invoke(pid, cid, input, { txHash: tx.hash });
  return { first, paid, hash: tx.hash, requirement: r.req, amount: r.amount };
}

export interface BuyerRun {
  plan: string[];
  channel?: string;
  results: unknown[];
  /** Every receipt's verdict under the pinned key (a run that got an unverified receipt stops). */
  verdicts: Verdict[];
  spentCents: bigint;
  error?: string;
}

/**
 * The buyer end to end: crawl and verify the hub, plan from `intent` within `budgetUsd`, open a
 * channel that covers the plan (whole cents, ceiling per call), run the plan as a pipeline (each step
 * fed the previous result) and verify the bill of materials' total against the channel; or, for a
 * one-step plan, pay per call. Stops at the first unverified document.
 */
export async function buyerRun(hub: HubClient, payer: Payer, token: string, intent: string, budgetUsd: number, input: Record<string, unknown>): Promise<BuyerRun> {
  const out: BuyerRun = { plan: [], results: [], verdicts: [], spentCents: 0n };
  const d = await discoverHub(hub);
  if ('error' in d) return { ...out, error: d.error };
  if (!d.verdict.ok) return { ...out, error: `manifest: ${d.verdict.reason}` };
  const { plan } = planWithin(d.manifest.tools, intent, budgetUsd);
  out.plan = plan.map((t) => t.name);
  if (!plan.length) return { ...out, error: 'nothing in the catalog fits the intent and budget' };
  const pinned = d.wellKnown.signer_public_key;
  const first = plan[0]! as (typeof d.manifest.tools)[number];
  if (plan.length === 1) {
    const r = await payAndInvoke(hub, payer, token, first.product_id, first.capability_id, input);
    if (!r.paid) return { ...out, error: `payment failed (HTTP ${r.first.status})` };
    const v = checkReceipt(r.paid.text, pinned);
    out.verdicts.push(v);
    out.results.push((r.paid.body as { result?: unknown } | undefined)?.result);
    return v.ok ? out : { ...out, error: `receipt: ${v.reason}` };
  }
  const cents = plan.reduce((a, t) => a + (parseUsdMicros(t.price_per_call_usd) + 9_999n) / 10_000n, 0n);
  const probe = await hub.invoke(first.product_id, first.capability_id, input);
  const req = requirementOf(probe);
  if (!req.ok) return { ...out, error: req.reason };
  const tx = await payer.transfer(token, req.req.recipient, cents * 10_000n);
  if (!tx.ok) return { ...out, error: tx.reason };
  const open = await hub.openChannel(Number(cents) / 100, tx.hash);
  const ch = (open.body as { channel?: { channel_id?: string } } | undefined)?.channel?.channel_id;
  if (!ch) return { ...out, error: `channel open: HTTP ${open.status}` };
  out.channel = ch;
  const tools = plan as (typeof d.manifest.tools)[number][];
  const nodes = tools.map((t, i) =>
    i === 0
      ? { id: 's0', product_id: t.product_id, capability_id: t.capability_id, input }
      : { id: `s${i}`, product_id: t.product_id, capability_id: t.capability_id, input_from: `s${i - 1}`, depends_on: [`s${i - 1}`] },
  );
  const p = await hub.pipeline(ch, nodes);
  const bom = (p.body as { bill_of_materials?: { total_usd?: number } } | undefined)?.bill_of_materials;
  if (p.status !== 200 || !bom) return { ...out, error: `pipeline: HTTP ${p.status}` };
  out.results.push((p.body as { final_result?: unknown }).final_result);
  out.spentCents = parseUsdMicros(bom.total_usd ?? 0) / 10_000n;
  const close = await hub.closeChannel(ch);
  const s = (close.body as { settlement?: { used_usd?: number } } | undefined)?.settlement;
  if (s?.used_usd === undefined || parseUsdMicros(s.used_usd) / 10_000n !== out.spentCents) return { ...out, error: 'the settlement does not match the bill of materials' };
  return out;
}
