/**
 * Adversarial AISP agents: every way the scenarios try to get a key they have no right to, or to use
 * one beyond its terms. Each attack is a small function over the same clients the honest agents use,
 * returning the backend's (or the inference server's) answer, so a scenario can judge it and check
 * that nothing changed. `KEY_ATTACKS` lists the get-key attacks so a scenario can loop over all of
 * them in every run (scenario rule 4).
 */
import type { LocalAccount } from 'viem';
import type { BackendClient, Signed } from './backend.ts';
import type { Answer } from './http.ts';
import { ask, type VeniceClient } from './venice.ts';

/** Ways to ask for someone else's key (or one's own out of bounds). */
export const KEY_ATTACKS = ['foreign-signer', 'claimed-address', 'other-rental-signature', 'stale-timestamp', 'future-timestamp', 'replay', 'garbage-signature'] as const;
export type KeyAttack = (typeof KEY_ATTACKS)[number];

/** What a key attack needs: the victim's rental, an attacker key, and (for replay) a signature the victim used. */
export interface KeyAttackInput {
  backend: BackendClient;
  rentalId: bigint;
  attacker: LocalAccount;
  victim: LocalAccount;
  /** Another rental id the victim may sign for (for 'other-rental-signature'). */
  otherRentalId: bigint;
  /** A signature the victim already used for this rental (for 'replay'). */
  used?: Signed;
  now: number;
  window: number;
}

/** Runs one get-key attack; returns the answer. */
export async function keyAttack(kind: KeyAttack, i: KeyAttackInput): Promise<Answer> {
  const b = i.backend;
  switch (kind) {
    case 'foreign-signer':
      return b.getKey(i.rentalId, await b.signGetKey(i.attacker, i.rentalId, i.now));
    case 'claimed-address':
      return b.getKey(i.rentalId, { ...(await b.signGetKey(i.attacker, i.rentalId, i.now)), address: i.victim.address });
    case 'other-rental-signature':
      // The victim's genuine signature, but over another rental's message.
      return b.getKey(i.rentalId, await b.signGetKey(i.victim, i.otherRentalId, i.now));
    case 'stale-timestamp':
      return b.getKey(i.rentalId, await b.signGetKey(i.victim, i.rentalId, i.now - i.window - 120));
    case 'future-timestamp':
      return b.getKey(i.rentalId, await b.signGetKey(i.victim, i.rentalId, i.now + i.window + 120));
    case 'replay':
      if (!i.used) throw new Error('replay needs a used signature');
      return b.getKey(i.rentalId, i.used);
    case 'garbage-signature':
      return b.getKey(i.rentalId, { signature: `0x${'11'.repeat(65)}`, timestamp: i.now });
  }
}

/** Ways to store a key on someone else's listing (or an unacceptable key on one's own). */
export const STORE_ATTACKS = ['foreign-signer', 'other-listing-signature', 'stale-timestamp', 'future-timestamp', 'replay', 'admin-key', 'unknown-key'] as const;
export type StoreAttack = (typeof STORE_ATTACKS)[number];

/** Calls chat completions until the inference server refuses; returns the answers (at most `max`). */
export async function overConsume(venice: VeniceClient, apiKey: string, model: string, max = 50): Promise<Answer[]> {
  const out: Answer[] = [];
  for (let i = 0; i < max; i++) {
    const a = await venice.chat(apiKey, ask(model, `over-consume ${i}: ${'x'.repeat(200)}`));
    out.push(a);
    if (a.status !== 200) break;
  }
  return out;
}
