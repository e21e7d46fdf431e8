/**
 * What the asa scenarios share: the target's relay, L402 resource and Lightning network, the
 * provider's declared identities (config.asa), requester agents with the target's Nostr keys, and a
 * raw relay client. Everything goes through the Target.
 */
import { randomBytes } from 'node:crypto';
import { getPublicKey } from 'nostr-tools/pure';
import { finalizeEvent } from 'nostr-tools/pure';
import { z } from 'zod';
import type { RunContext } from '../../harness/engine/context.ts';
import { Indeterminate, TargetProblem } from '../../harness/engine/errors.ts';
import { LightningClient, LnError } from '../../reference-impl/asa/agents/lightning.ts';
import { Requester } from '../../reference-impl/asa/agents/requester.ts';
import { RelayUnreachable, WireClient } from '../../reference-impl/asa/agents/wire.ts';
import { KIND, type NostrEvent, readCapability } from '../../reference-impl/asa/protocol/events.ts';

const Pubkey = z
  .string()
  .regex(/^[0-9a-f]{64}$/)
  .describe('the provider agent’s Nostr pubkey (x-only hex)');
const NodeId = z
  .string()
  .regex(/^0[23][0-9a-f]{64}$/)
  .describe('the provider’s Lightning node id (compressed secp256k1)');

export const AsaConfig = z
  .object({
    provider: z
      .object({
        pubkey: Pubkey,
        node: NodeId,
        reputation: z.string().url().optional().describe('base URL of a reputation view GET <url>/<pubkey> (with capability asa:reputation-view)'),
      })
      .strict()
      .optional(),
    restartable: z
      .object({ pubkey: Pubkey, node: NodeId })
      .strict()
      .optional()
      .describe("the identities of the provider behind restart['asa-l402'].url when the target keeps a separate instance for crash tests (default: config.asa.provider's)"),
  })
  .strict();
export type AsaConfig = z.infer<typeof AsaConfig>;

export const LIVE = { isolation: 'live' as const };

export function config(ctx: RunContext): AsaConfig {
  return AsaConfig.parse(ctx.target.config.asa ?? {});
}

export function provider(ctx: RunContext, req: string): { pubkey: string; node: string; reputation?: string } {
  const p = config(ctx).provider;
  if (!p) throw new Indeterminate(req, 'the target declares no config.asa.provider (pubkey, node)');
  return p;
}

export const relayUrl = (ctx: RunContext): string => ctx.endpoint('asa-relay').url;
/** The relay's HTTP URL (its NIP-11 document), for a ws:// endpoint. */
export const relayHttpUrl = (ctx: RunContext): string => relayUrl(ctx).replace(/^ws(s?):\/\//i, 'http$1://');

/** A raw relay connection (a relay that does not accept a WebSocket is a target problem). */
export async function wire(ctx: RunContext): Promise<WireClient> {
  try {
    return await WireClient.connect(relayUrl(ctx));
  } catch (e) {
    if (e instanceof RelayUnreachable) throw new TargetProblem(e.message);
    throw e;
  }
}

/** A requester agent with the role's Nostr key. */
export async function requester(ctx: RunContext, role: string): Promise<Requester> {
  try {
    return await Requester.connect(relayUrl(ctx), ctx.keyOf(role, 'nostr').privateKey);
  } catch (e) {
    throw new TargetProblem(`cannot connect to the relay ${relayUrl(ctx)} as ${role}: ${(e as Error).message}`);
  }
}

/** The network client (recording HTTP) and the role's node, registered and connected to the hubs. */
export async function lightning(ctx: RunContext, role: string, req: string): Promise<{ ln: LightningClient; node: string }> {
  const ln = new LightningClient(ctx.endpoint('asa-lightning').url, ctx.fetch);
  try {
    const node = (await ln.addNode(ctx.keyOf(role, 'lightning').privateKey, { alias: role, hubs: true })).pubkey;
    return { ln, node };
  } catch (e) {
    throw new Indeterminate(req, `the Lightning network at ${ln.url} does not register ${role}'s node: ${(e as Error).message}`);
  }
}

export const fresh = (): Uint8Array => new Uint8Array(randomBytes(32));
export const pub = (sk: Uint8Array): string => getPublicKey(sk);
export const sign = (sk: Uint8Array, t: { kind: number; tags: string[][]; content: string; created_at: number }): NostrEvent => finalizeEvent(t, sk) as NostrEvent;
export const now = (): number => Math.floor(Date.now() / 1000);
export const short = (s: string): string => `${s.slice(0, 8)}…`;

/** The provider's capability (38400) whose l402 tag is the target's resource, from the relay. */
export async function capabilityOf(ctx: RunContext, r: Requester, req: string): Promise<NostrEvent> {
  const p = provider(ctx, req);
  const caps = await r.query([{ kinds: [KIND.capability], authors: [p.pubkey] }]);
  const res = ctx.endpoint('asa-l402').url;
  const cap = caps.find((c) => readCapability(c).l402 === res) ?? caps[0];
  if (!cap) throw new Indeterminate(req, `the relay serves no 38400 by the provider ${short(p.pubkey)}`);
  return cap;
}

export { LnError };

/**
 * SHOULD-level checks made along the way are deferred to the end of the run: a violated SHOULD
 * throws (and warns), and thrown early it would stop the run before the MUST checks after it.
 */
const deferred = new WeakMap<RunContext, { req: string; ok: boolean; what: string; detail: { expected?: unknown; actual?: unknown } }[]>();
export function soft(ctx: RunContext, req: string, ok: boolean, what: string, detail: { expected?: unknown; actual?: unknown } = {}): void {
  const l = deferred.get(ctx) ?? [];
  deferred.set(ctx, l);
  l.push({ req, ok, what, detail });
}
/** Make the deferred checks (call at the end of a run, or in a model scenario's finish). */
export function flushSoft(ctx: RunContext): void {
  const l = deferred.get(ctx) ?? [];
  deferred.delete(ctx);
  for (const c of l) ctx.check(c.req, c.ok, c.what, c.detail);
}
