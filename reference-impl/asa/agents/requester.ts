/**
 * The scripted requester: discovers capabilities with relay filters, negotiates over NIP-17 with
 * protocol/dm.ts (NIP-59 rumor → seal → gift wrap), accepts, pays the provider's L402 endpoint from
 * its own Lightning node, completes or disputes, and attests (38403 with the payment as proof).
 * It speaks only the protocol library and the network's client; it works against any target.
 */
import { randomBytes } from 'node:crypto';
import { finalizeEvent } from 'nostr-tools/pure';
import { Relay, useWebSocketImplementation } from 'nostr-tools/relay';
import WebSocket from 'ws';
import { attestationTags, type AttestationSpec, KIND, type NostrEvent } from '../protocol/events.ts';
import { type Challenge, formatCredential, parseChallenges } from '../protocol/l402.ts';
import { DmKey, type Rumor } from '../protocol/dm.ts';
import { type DmMessage, parseDm } from '../protocol/negotiation.ts';
import type { LightningClient, PaymentResult } from './lightning.ts';
import { wsUrl } from './wire.ts';

useWebSocketImplementation(WebSocket);

export type { Rumor };
export interface Inbound {
  wrap: NostrEvent;
  rumor: Rumor;
  msg: DmMessage | null;
}

export class Requester {
  readonly pubkey: string;
  readonly inbox: Inbound[] = [];
  private waiters: (() => void)[] = [];
  private relay!: Relay;
  private readonly dms: DmKey;

  constructor(
    readonly relayUrl: string,
    readonly sk: Uint8Array,
  ) {
    this.dms = new DmKey(sk);
    this.pubkey = this.dms.pubkey;
  }

  /** `publishTimeoutMs`: how long a publish waits for the relay's OK (nostr-tools' default is 4.4 s; a loaded relay needs longer). */
  static async connect(relayUrl: string, skHex: string, o: { publishTimeoutMs?: number } = {}): Promise<Requester> {
    const r = new Requester(relayUrl, new Uint8Array(Buffer.from(skHex, 'hex')));
    await r.open(o.publishTimeoutMs);
    return r;
  }

  private async open(publishTimeoutMs?: number): Promise<void> {
    this.relay = await Relay.connect(wsUrl(this.relayUrl));
    if (publishTimeoutMs !== undefined) this.relay.publishTimeout = publishTimeoutMs;
    const sign = async (t: { kind: number; tags: string[][]; content: string; created_at: number }) => finalizeEvent(t, this.sk);
    this.relay.onauth = sign as never;
    for (let i = 0; i < 100; i++) {
      try {
        await this.relay.auth(sign as never);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    this.relay.subscribe([{ kinds: [1059], '#p': [this.pubkey] }], {
      onevent: (wrap) => {
        try {
          const rumor = this.dms.unwrap(wrap as NostrEvent);
          this.inbox.push({ wrap: wrap as NostrEvent, rumor, msg: parseDm(rumor.content) });
          for (const w of this.waiters.splice(0)) w();
        } catch {
          // not a gift wrap for us
        }
      },
    });
  }

  /** Stored events matching the filters (nostr-tools drops any event that does not match them). */
  query(filters: object[], timeoutMs = 3000): Promise<NostrEvent[]> {
    return new Promise((resolve) => {
      const out: NostrEvent[] = [];
      const s = this.relay.subscribe(filters as never, {
        onevent: (e) => out.push(e as NostrEvent),
        oneose: () => {
          s.close();
          resolve(out);
        },
        onclose: () => resolve(out),
        eoseTimeout: timeoutMs,
      });
    });
  }

  async publish(kind: number, tags: string[][], content: string, createdAt = Math.floor(Date.now() / 1000)): Promise<NostrEvent> {
    const e = finalizeEvent({ kind, tags, content, created_at: createdAt }, this.sk) as NostrEvent;
    await this.relay.publish(e);
    return e;
  }

  /** Publish an event signed by someone else (a gift wrap, an adversary's forgery) over this connection. */
  publishEvent(e: NostrEvent): Promise<string> {
    return this.relay.publish(e);
  }

  /** Send a DM (NIP-17: kind 14 rumor, sealed, gift-wrapped to `to`); returns the rumor and the wrap. */
  async dm(to: string, msg: object): Promise<{ rumor: Rumor; wrap: NostrEvent }> {
    const rumor = this.dms.rumor(to, JSON.stringify(msg));
    const wrap = this.dms.wrap(rumor, to);
    await this.relay.publish(wrap);
    return { rumor, wrap };
  }

  /** Wait for a DM from `from` that `pick` accepts (messages already received count). */
  async waitDm(from: string, pick: (m: DmMessage) => boolean, timeoutMs = 5000): Promise<Inbound | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.inbox.find((i) => i.rumor.pubkey === from && i.msg && pick(i.msg));
      if (hit) {
        this.inbox.splice(this.inbox.indexOf(hit), 1);
        return hit;
      }
      if (Date.now() >= deadline) return null;
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, Math.min(200, deadline - Date.now())));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Latest version of an addressable event (by author, kind, d), polling until `until` holds or time runs out. */
  async latest(kind: number, author: string, d: string, until: (e: NostrEvent) => boolean = () => true, timeoutMs = 5000): Promise<NostrEvent | null> {
    const deadline = Date.now() + timeoutMs;
    let last: NostrEvent | null = null;
    for (;;) {
      const evs = await this.query([{ kinds: [kind], authors: [author], '#d': [d] }]);
      last = evs.sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? -1 : 1))[0] ?? null;
      if ((last && until(last)) || Date.now() >= deadline) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * The first event matching the filters that `pick` accepts, stored or arriving later, from one
   * live subscription (no polling: many agents waiting on one relay cost it one REQ each). Null when
   * none came within `timeoutMs` or the relay closed the subscription.
   */
  waitEvent(filters: object[], pick: (e: NostrEvent) => boolean, timeoutMs = 5000): Promise<NostrEvent | null> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (e: NostrEvent | null) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        sub.close();
        resolve(e);
      };
      const timer = setTimeout(() => finish(null), timeoutMs);
      const sub = this.relay.subscribe(filters as never, {
        onevent: (e) => {
          if (pick(e as NostrEvent)) finish(e as NostrEvent);
        },
        onclose: () => finish(null),
      });
    });
  }

  async attest(a: Omit<AttestationSpec, 'd'> & { d?: string }, createdAt?: number): Promise<NostrEvent> {
    return this.publish(KIND.attestation, attestationTags({ d: a.d ?? `att-${randomBytes(6).toString('hex')}`, ...a }), 'Attestation by the scripted requester.', createdAt);
  }

  close(): void {
    this.relay.close();
  }
}

export interface PaidCall {
  first: { status: number; challenges: Challenge[]; body: unknown };
  payment?: PaymentResult;
  challenge?: Challenge;
  second?: { status: number; body: unknown };
}

async function readBody(res: Response): Promise<unknown> {
  const t = await res.text();
  try {
    return t ? JSON.parse(t) : undefined;
  } catch {
    return t;
  }
}

/** Every WWW-Authenticate value of a response (fetch folds several headers into one, comma-joined). */
export const challengesOf = (res: Response): Challenge[] => parseChallenges(res.headers.get('www-authenticate') ?? '');

/**
 * Call an L402 resource: the first request must be a 402 with a challenge; pay its invoice from
 * `node` and retry with the credential (`transform` may rewrite it, to attack).
 */
export async function payAndCall(
  f: typeof fetch,
  url: string,
  ln: LightningClient,
  node: string,
  o: { method?: string; credential?: (c: { macaroon: string; preimage: string; challenge: Challenge }) => string; pay?: boolean } = {},
): Promise<PaidCall> {
  const method = o.method ?? 'GET';
  const r1 = await f(url, { method });
  const first = { status: r1.status, challenges: challengesOf(r1), body: await readBody(r1) };
  const out: PaidCall = { first };
  const ch = first.challenges.find((c) => c.scheme === 'L402') ?? first.challenges[0];
  if (r1.status !== 402 || !ch) return out;
  out.challenge = ch;
  if (o.pay === false) return out;
  out.payment = await ln.pay(node, ch.invoice);
  const cred = o.credential ? o.credential({ macaroon: ch.macaroon, preimage: out.payment.preimage, challenge: ch }) : formatCredential({ macaroons: [ch.macaroon], preimage: out.payment.preimage });
  const r2 = await f(url, { method, headers: { authorization: cred } });
  out.second = { status: r2.status, body: await readBody(r2) };
  return out;
}

/** Call with a given Authorization value. */
export async function callWith(f: typeof fetch, url: string, authorization: string, method = 'GET'): Promise<{ status: number; body: unknown; challenges: Challenge[] }> {
  const r = await f(url, { method, headers: { authorization } });
  return { status: r.status, challenges: challengesOf(r), body: await readBody(r) };
}
