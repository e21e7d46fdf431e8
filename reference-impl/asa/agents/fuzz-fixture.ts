/**
 * The Lightning side of a malformed-input batch (protocol/fuzz.ts): two fresh nodes with channels to
 * the hubs, and the payee's invoices in every state a batch aims at (paid, open, expired), plus one
 * signed by a node nobody registered. Used by the robustness scenario and the reference's fuzz test.
 */
import { randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1';
import type { AsaFuzzContext } from '../protocol/fuzz.ts';
import { createInvoice } from '../protocol/invoice.ts';
import type { LightningClient } from './lightning.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** A node id (compressed secp256k1 public key) of a private key. */
export const nodeIdOf = (privateKey: string): string => hex(secp256k1.getPublicKey(Buffer.from(privateKey, 'hex'), true));

/** What a batch's Lightning requests aim at, and the private keys and payment hashes to observe it by. */
export type LightningFuzzFixture = AsaFuzzContext['ln'] & {
  payerKey: string;
  payeeKey: string;
  hashes: { paid: string; open: string; expired: string };
};

/** Registers the payer and payee (with hubs), pays one invoice, leaves one open and lets one expire (about a second). */
export async function lightningFuzzFixture(ln: LightningClient): Promise<LightningFuzzFixture> {
  const keys = { payer: hex(randomBytes(32)), payee: hex(randomBytes(32)), unknown: hex(randomBytes(32)), freshNode: hex(randomBytes(32)) };
  const payer = (await ln.addNode(keys.payer, { alias: 'rob-payer', hubs: true })).pubkey;
  const payee = (await ln.addNode(keys.payee, { alias: 'rob-payee', hubs: true })).pubkey;
  const paid = await ln.invoice(payee, { amountMsat: 10_000n, description: 'asa robustness: paid' });
  await ln.pay(payer, paid.paymentRequest);
  const open = await ln.invoice(payee, { amountMsat: 10_000n, description: 'asa robustness: open' });
  const expired = await ln.invoice(payee, { amountMsat: 10_000n, description: 'asa robustness: expired', expiry: 1 });
  await new Promise((res) => setTimeout(res, Math.max(0, expired.expiresAt * 1000 - Date.now()) + 100));
  return {
    payer,
    payee,
    unknownNode: nodeIdOf(keys.unknown),
    freshNodeKey: keys.freshNode,
    paidInvoice: paid.paymentRequest,
    openInvoice: open.paymentRequest,
    expiredInvoice: expired.paymentRequest,
    foreignInvoice: createInvoice({ nodeKey: keys.unknown, amountMsat: 10_000n, paymentHash: hex(randomBytes(32)), description: 'asa robustness: nobody’s' }),
    payerKey: keys.payer,
    payeeKey: keys.payee,
    hashes: { paid: paid.paymentHash, open: open.paymentHash, expired: expired.paymentHash },
  };
}
