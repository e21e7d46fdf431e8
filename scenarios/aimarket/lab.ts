/**
 * What the AI Market scenarios share: the hub under test (endpoint `aimarket`) through the run's
 * recording fetch, discovery with the signer key pinned from the well-known document, the chain and
 * token a 402 names (found in the Target), payers whose transfers are recorded evidence, and
 * channel helpers. Everything goes through the Target.
 */
import fc from 'fast-check';
import { type Address, erc20Abi, type Hex, parseEventLogs } from 'viem';
import type { RunContext } from '../../harness/engine/context.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import type { ChainSession } from '../../harness/engine/session.ts';
import { chainToken } from '../../harness/target/schema.ts';
import { type Discovered, discoverHub, type Payer, requirementOf } from '../../reference-impl/aimarket/agents/buyer.ts';
import { type Answer, type HubClient, hubClient } from '../../reference-impl/aimarket/agents/hub-client.ts';
import { parseUsdMicros } from '../../reference-impl/aimarket/protocol/money.ts';
import { type AimConfig, AimConfigSchema, type PaymentRequired, type Tool } from '../../reference-impl/aimarket/protocol/wire.ts';

export const HUB = { endpoints: ['aimarket'], isolation: 'live' as const };

export const hubOf = (ctx: RunContext, name = 'aimarket'): HubClient => hubClient(ctx.endpoint(name).url, ctx.fetch);

export function configOf(ctx: RunContext): AimConfig {
  const r = AimConfigSchema.safeParse((ctx.target.config as Record<string, unknown> | undefined)?.aimarket ?? {});
  return r.success ? r.data : {};
}

/** Discovery with the key pinned from the well-known document; a hub that cannot be discovered makes the scenario indeterminate for `req`. */
export async function discovered(ctx: RunContext, hub: HubClient, req: string): Promise<Discovered> {
  ctx.act(`the buyer crawls ${hub.url}/.well-known/ai-market.json and the manifest it names`);
  const d = await discoverHub(hub);
  if ('error' in d) throw new Indeterminate(req, `discovery failed (${d.error}); AIM-DSC-01 reports it`);
  return d;
}

/** Tools a scenario can call with `{text}` alone (the lab inputs), cheapest first. */
export function textTools(tools: readonly Tool[]): Tool[] {
  return tools
    .filter((t) => {
      const s = t.input_schema as { properties?: Record<string, { type?: string }>; required?: string[] };
      return s.properties?.text?.type === 'string' && (s.required ?? []).every((r) => r === 'text');
    })
    .sort((a, b) => a.price_per_call_usd - b.price_per_call_usd);
}

export interface PayChain {
  session: ChainSession;
  token: Address;
  decimals: number;
}

/** The target chain and token a 402 requirement names (chain by id, label or chain id; token by symbol or key). */
export async function chainFor(ctx: RunContext, req: PaymentRequired, requirement: string): Promise<PayChain> {
  const spec = ctx.target.chains.find((c) => c.id === req.chain || String(c.chainId) === req.chain) ?? (ctx.target.chains.length === 1 ? ctx.target.chains[0] : undefined);
  if (!spec) throw new Indeterminate(requirement, `the target declares no chain '${req.chain}' (the 402's chain)`);
  const key = Object.keys(spec.tokens).find((k) => k.toLowerCase() === req.token.toLowerCase() || spec.tokens[k]!.name === req.token);
  const tok = req.token.toLowerCase() === 'usdc' ? chainToken(spec, 'usdc') : key ? spec.tokens[key] : undefined;
  if (!tok) throw new Indeterminate(requirement, `the target chain '${spec.id}' declares no token '${req.token}' (the 402's token)`);
  if (tok.decimals !== 6) throw new Indeterminate(requirement, `token ${req.token} has ${tok.decimals} decimals; the lab pays 6-decimal stablecoins only (profile AIM-PROF-03)`);
  return { session: await ctx.chain(spec.id), token: tok.address as Address, decimals: tok.decimals };
}

/** A role as a Payer: every transfer is a recorded transaction. */
export function payerOf(ctx: RunContext, session: ChainSession, role: string): Payer {
  return {
    address: session.address(role),
    async transfer(token, to, amount) {
      ctx.act(`${role} transfers ${amount} base units of ${token.slice(0, 10)}… to ${to.slice(0, 10)}…`);
      const r = await session.attempt({ label: `${role}: transfer ${amount} to ${to}`, role, address: token as Address, abi: erc20Abi, functionName: 'transfer', args: [to as Address, amount] });
      return r.ok ? { ok: true, hash: r.hash } : { ok: false, reason: r.reason };
    },
  };
}

/** An unpaid invoke's requirement, or an indeterminate verdict when the hub gives none (AIM-PAY-01 reports it). */
export async function requirementFor(
  ctx: RunContext,
  hub: HubClient,
  pid: string,
  cid: string,
  input: unknown,
  requirement: string,
): Promise<{ req: PaymentRequired; amount: bigint; answer: Answer }> {
  ctx.act(`the buyer invokes ${pid}/${cid} without paying`);
  const a = await hub.invoke(pid, cid, input);
  const r = requirementOf(a);
  if (a.status !== 402 || !r.ok) throw new Indeterminate(requirement, `no usable 402 for ${pid}/${cid} (HTTP ${a.status}: ${r.ok ? '' : r.reason}); AIM-PAY-01 reports it`);
  return { req: r.req, amount: r.amount, answer: a };
}

/** The transfers of `token` in a transaction (from, to, value). */
export async function transfersIn(session: ChainSession, token: Address, hash: Hex) {
  const rc = await session.public.getTransactionReceipt({ hash }).catch(() => null);
  if (rc?.status !== 'success') return null;
  return parseEventLogs({ abi: erc20Abi, logs: rc.logs, eventName: 'Transfer' })
    .filter((l) => l.address.toLowerCase() === token.toLowerCase())
    .map((l) => ({ from: l.args.from, to: l.args.to, value: l.args.value }));
}

/** USD number → cents (exact for the two-decimal amounts channels carry; throws on garbage). */
export const centsOf = (usd: unknown): bigint => parseUsdMicros(usd as number) / 10_000n;

/** A random whole-cent deposit in [min, max] cents (random so transfers never repeat a hash across reverts). */
/** A deposit between min and max cents, drawn reproducibly for the run. */
export const randomCents = (ctx: RunContext, min: number, max: number) => ctx.draw(fc.bigInt({ min: BigInt(min), max: BigInt(max) }));

export interface OpenedChannel {
  id: string;
  /** The deposit transaction the channel was opened with. */
  depositTx: Hex;
  depositCents: bigint;
  payer: Address;
  chain: PayChain;
  recipient: Address;
  /** The `channel_secret` the hub issued at open, if any. */
  secret?: string;
}

/** Opens a channel of `cents` from `role`: learns the recipient from a 402, transfers, opens. */
export async function openChannel(ctx: RunContext, hub: HubClient, tool: Tool, role: string, cents: bigint, requirement: string): Promise<OpenedChannel> {
  const { req } = await requirementFor(ctx, hub, tool.product_id, tool.capability_id, { text: 'probe' }, requirement);
  const chain = await chainFor(ctx, req, requirement);
  const payer = payerOf(ctx, chain.session, role);
  const tx = await payer.transfer(chain.token, req.recipient, cents * 10_000n);
  if (!tx.ok) throw new Indeterminate(requirement, `setup: the deposit transfer failed (${tx.reason})`);
  ctx.act(`${role} opens a channel of ${cents} cents with that transaction`);
  const usd = Number(cents) / 100;
  const o = await hub.openChannel(usd, tx.hash);
  const opened = (o.body as { channel?: { channel_id?: unknown; channel_secret?: unknown } } | undefined)?.channel;
  const id = opened?.channel_id;
  ctx.check(requirement, o.status === 200 && typeof id === 'string', 'a verified deposit opens a channel', { expected: '200 {channel:{channel_id}}', actual: `${o.status} ${o.text.slice(0, 200)}` });
  return {
    id: id as string,
    depositTx: tx.hash as Hex,
    depositCents: cents,
    payer: payer.address as Address,
    chain,
    recipient: req.recipient as Address,
    ...(typeof opened?.channel_secret === 'string' ? { secret: opened.channel_secret } : {}),
  };
}

/** The token balances of a channel's payer and of the hub's recipient. */
export async function tokenBalances(ch: OpenedChannel): Promise<{ payer: bigint; hub: bigint }> {
  const s = ch.chain.session;
  const of = (who: Address) => s.public.readContract({ address: ch.chain.token, abi: erc20Abi, functionName: 'balanceOf', args: [who] });
  const [payer, hub] = await Promise.all([of(ch.payer), of(ch.recipient)]);
  return { payer, hub };
}

/** The channel's balance in cents, or undefined when the hub has no balance route (v1 hubs). */
export async function balanceCents(hub: HubClient, id: string): Promise<bigint | undefined> {
  const r = await hub.channel(id);
  if (r.status === 404 || r.status === 405) return undefined;
  const b = (r.body as { balance_usd?: unknown } | undefined)?.balance_usd;
  if (r.status !== 200 || typeof b !== 'number') return -1n;
  return centsOf(b);
}

/** Whether two URLs share an origin (false for anything that is not a URL). */
export function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

export const short = (s: string | undefined) => (s ? `${s.slice(0, 12)}…` : String(s));
