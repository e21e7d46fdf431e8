/**
 * NIP-17 direct messages for one Nostr key: a kind 14 rumor, sealed (kind 13, NIP-44 v2 to the
 * recipient, signed by the sender) and gift-wrapped (kind 1059, NIP-44 v2 from a one-time key), as
 * NIP-59 draws them and nostr-tools' nip59 builds them. The difference is the seal layer's
 * conversation key, an ECDH per pair of keys: it is computed once per correspondent here, not on
 * every message (the wrap layer's one-time key needs its own each time). Under load that was half
 * the elliptic-curve work of a DM, the largest cost of an agreement.
 */
import { decrypt, encrypt, getConversationKey } from 'nostr-tools/nip44';
import { createWrap } from 'nostr-tools/nip59';
import { finalizeEvent, getEventHash, getPublicKey, verifyEvent } from 'nostr-tools/pure';
import type { NostrEvent } from './events.ts';

/** An unsigned kind 14 (its id is the hash of its fields; NIP-59 leaves it unsigned on purpose). */
export interface Rumor {
  id: string;
  pubkey: string;
  created_at: number;
  kind: number;
  tags: string[][];
  content: string;
}

const TWO_DAYS = 2 * 24 * 60 * 60;
/** NIP-59: seals and wraps carry a created_at up to two days in the past, so timing does not link them. */
const randomPast = () => Math.round(Date.now() / 1000 - Math.random() * TWO_DAYS);
/** Correspondents whose conversation key is kept (a provider talks to many requesters). */
const MAX_KEYS = 10_000;

export class DmKey {
  readonly pubkey: string;
  private readonly conversations = new Map<string, Uint8Array>();

  constructor(readonly sk: Uint8Array) {
    this.pubkey = getPublicKey(sk);
  }

  private conversation(pubkey: string): Uint8Array {
    let k = this.conversations.get(pubkey);
    if (!k) {
      k = getConversationKey(this.sk, pubkey);
      if (this.conversations.size >= MAX_KEYS) this.conversations.clear();
      this.conversations.set(pubkey, k);
    }
    return k;
  }

  /** A kind 14 rumor to `to` (one p tag), created now. */
  rumor(to: string, content: string, createdAt = Math.floor(Date.now() / 1000)): Rumor {
    const r = { kind: 14, tags: [['p', to]], content, created_at: createdAt, pubkey: this.pubkey };
    return { ...r, id: getEventHash(r) };
  }

  /** The gift wrap carrying `rumor` to `to`. */
  wrap(rumor: Rumor, to: string): NostrEvent {
    const seal = finalizeEvent({ kind: 13, content: encrypt(JSON.stringify(rumor), this.conversation(to)), created_at: randomPast(), tags: [] }, this.sk);
    return createWrap(seal, to) as NostrEvent;
  }

  /** The rumor inside a gift wrap to this key; throws when it is not one (another recipient, a bad seal, a rumor by another key than the seal's). */
  unwrap(wrap: NostrEvent): Rumor {
    if (wrap.kind !== 1059) throw new Error(`not a gift wrap (kind ${wrap.kind})`);
    const seal = JSON.parse(decrypt(wrap.content, getConversationKey(this.sk, wrap.pubkey))) as NostrEvent;
    if (seal.kind !== 13) throw new Error(`the wrap holds kind ${seal.kind}, not a seal`);
    if (!verifyEvent(seal as never)) throw new Error('the seal signature is invalid');
    const rumor = JSON.parse(decrypt(seal.content, this.conversation(seal.pubkey))) as Rumor;
    if (rumor.pubkey !== seal.pubkey) throw new Error('the rumor is not by the seal’s key');
    return rumor;
  }
}
