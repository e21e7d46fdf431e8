/**
 * The PR's "provider-attested proof of payment receipt" (Interoperability section), as a pure
 * function: an attestation about `subject` counts when it is well formed, is signed by the
 * agreement's requester (a different key from the subject), references a 38402 signed by the
 * subject, is the first one for that agreement, and, when it carries `proof`, the proof equals the
 * agreement's `payment_hash` and that payment was really settled (checked by `settled`).
 */
import { type NostrEvent, readAgreement, readAttestation, validateAttestation } from './events.ts';

export interface ReputationView {
  subject: string;
  count: number;
  withProof: number;
  average: number | null;
  counted: { id: string; rating: number; proof: boolean }[];
  ignored: { id: string; reason: string }[];
}

export function scoreAttestations(subject: string, attestations: readonly NostrEvent[], agreements: ReadonlyMap<string, NostrEvent>, settled: (paymentHash: string) => boolean): ReputationView {
  const counted: ReputationView['counted'] = [];
  const ignored: ReputationView['ignored'] = [];
  const seen = new Set<string>();
  const ordered = [...attestations].sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1));
  for (const att of ordered) {
    const a = readAttestation(att);
    if (a.subject !== subject) continue;
    const v = validateAttestation(att);
    if (v.errors.length) {
      ignored.push({ id: att.id, reason: `malformed: ${v.errors[0]}` });
      continue;
    }
    if (att.pubkey === subject) {
      ignored.push({ id: att.id, reason: 'self-attestation' });
      continue;
    }
    const agr = a.agreement ? agreements.get(a.agreement) : undefined;
    if (!agr) {
      ignored.push({ id: att.id, reason: 'references no known agreement' });
      continue;
    }
    const info = readAgreement(agr);
    if (agr.pubkey !== subject || info.provider !== subject) {
      ignored.push({ id: att.id, reason: 'the agreement is not signed by the subject as provider' });
      continue;
    }
    if (info.requester !== att.pubkey) {
      ignored.push({ id: att.id, reason: 'the signer is not the agreement’s requester' });
      continue;
    }
    if (seen.has(agr.id)) {
      ignored.push({ id: att.id, reason: 'a second attestation for the same agreement' });
      continue;
    }
    if (a.proof !== undefined && (a.proof !== info.paymentHash || !settled(a.proof))) {
      ignored.push({ id: att.id, reason: a.proof !== info.paymentHash ? 'proof differs from the agreement’s payment_hash' : 'proof names a payment that was never settled' });
      continue;
    }
    seen.add(agr.id);
    counted.push({ id: att.id, rating: a.rating!, proof: a.proof !== undefined });
  }
  const sum = counted.reduce((s, c) => s + c.rating, 0);
  return { subject, count: counted.length, withProof: counted.filter((c) => c.proof).length, average: counted.length ? sum / counted.length : null, counted, ignored };
}
