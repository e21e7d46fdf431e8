/**
 * DmKey speaks NIP-17 as nostr-tools does (each side opens what the other wraps), keeps a message
 * from anyone but its recipient, and refuses a seal whose rumor is by another key.
 */
import * as nip44 from 'nostr-tools/nip44';
import * as nip59 from 'nostr-tools/nip59';
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { expect, test } from 'vitest';
import { DmKey } from './dm.ts';
import type { NostrEvent } from './events.ts';

test('a DmKey wrap opens with nostr-tools, a nostr-tools wrap opens with a DmKey, both ways and again (the cached conversation key)', () => {
  const [a, b] = [generateSecretKey(), generateSecretKey()];
  const da = new DmKey(a);
  const db = new DmKey(b);
  for (let i = 0; i < 2; i++) {
    const rumor = da.rumor(db.pubkey, `hello ${i}`);
    const wrap = da.wrap(rumor, db.pubkey);
    expect(wrap.kind).toBe(1059);
    expect(wrap.pubkey).not.toBe(da.pubkey);
    expect(wrap.tags).toEqual([['p', db.pubkey]]);
    expect(nip59.unwrapEvent(wrap as never, b)).toMatchObject({ id: rumor.id, pubkey: da.pubkey, kind: 14, content: `hello ${i}` });
    expect(db.unwrap(wrap)).toEqual(rumor);
    const back = nip59.createWrap(nip59.createSeal(nip59.createRumor({ kind: 14, tags: [['p', da.pubkey]], content: `back ${i}` }, b), b, da.pubkey), da.pubkey) as NostrEvent;
    expect(da.unwrap(back)).toMatchObject({ pubkey: db.pubkey, content: `back ${i}` });
  }
});

test('a third key cannot open the wrap; a seal whose rumor names another key is refused', () => {
  const [a, b] = [generateSecretKey(), generateSecretKey()];
  const da = new DmKey(a);
  const pb = getPublicKey(b);
  const wrap = da.wrap(da.rumor(pb, 'secret'), pb);
  expect(() => new DmKey(generateSecretKey()).unwrap(wrap)).toThrow();
  // A seal signed by a whose rumor claims to be by someone else.
  const forged = { ...da.rumor(pb, 'forged'), pubkey: getPublicKey(generateSecretKey()) };
  const seal = finalizeEvent({ kind: 13, content: nip44.encrypt(JSON.stringify(forged), nip44.getConversationKey(a, pb)), created_at: 1, tags: [] }, a);
  const forgedWrap = nip59.createWrap(seal, pb) as NostrEvent;
  expect(() => new DmKey(b).unwrap(forgedWrap)).toThrow(/not by the seal/);
  expect(() => new DmKey(b).unwrap({ ...wrap, kind: 1 })).toThrow(/not a gift wrap/);
});
