/**
 * BOLT11 helpers over the `bolt11` package (bitcoinjs): invoices signed by the payee node's
 * secp256k1 key, amounts in msat as bigint, decoded with the signature checked (the payee key is
 * recovered from the signature and must equal the `n` field when present).
 */
import bolt11 from 'bolt11';

export const REGTEST = { bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] };

export interface InvoiceSpec {
  /** Payee node private key (32 bytes hex). */
  nodeKey: string;
  amountMsat: bigint;
  paymentHash: string;
  /** Plain description (`d`) or its SHA-256 (`h`): exactly one. */
  description?: string;
  descriptionHash?: string;
  /** Seconds (default 3600, BOLT11's default). */
  expiry?: number;
  /** Unix seconds (default now). */
  timestamp?: number;
  paymentSecret?: string;
  minFinalCltv?: number;
}

export function createInvoice(s: InvoiceSpec): string {
  const tags: { tagName: string; data: unknown }[] = [{ tagName: 'payment_hash', data: s.paymentHash }];
  if (s.descriptionHash !== undefined) tags.push({ tagName: 'purpose_commit_hash', data: s.descriptionHash });
  else tags.push({ tagName: 'description', data: s.description ?? '' });
  tags.push({ tagName: 'expire_time', data: s.expiry ?? 3600 });
  tags.push({ tagName: 'min_final_cltv_expiry', data: s.minFinalCltv ?? 18 });
  if (s.paymentSecret) {
    tags.push({ tagName: 'payment_secret', data: s.paymentSecret });
    tags.push({ tagName: 'feature_bits', data: { word_length: 4, var_onion_optin: { required: false, supported: true }, payment_secret: { required: true, supported: true } } });
  }
  const enc = bolt11.encode({ network: REGTEST, millisatoshis: s.amountMsat.toString(), timestamp: s.timestamp ?? Math.floor(Date.now() / 1000), tags: tags as never }, false);
  const signed = bolt11.sign(enc, s.nodeKey);
  return signed.paymentRequest!;
}

export interface DecodedInvoice {
  paymentRequest: string;
  network: string;
  payee: string;
  amountMsat: bigint | null;
  paymentHash: string;
  description?: string;
  descriptionHash?: string;
  timestamp: number;
  expiry: number;
  expiresAt: number;
  minFinalCltv: number;
}

/** Decode and check the signature; throws on a bad invoice. Accepts a `lightning:` prefix and upper case. */
export function decodeInvoice(pr: string): DecodedInvoice {
  const clean = pr
    .trim()
    .replace(/^lightning:/i, '')
    .toLowerCase();
  const prefix = /^ln([a-z]+?)(\d|$)/.exec(clean)?.[1] ?? '';
  const net = prefix.startsWith('bcrt') ? REGTEST : undefined;
  const d = bolt11.decode(clean, net as never);
  const tag = (n: string) => d.tags.find((t) => t.tagName === n)?.data;
  const hash = tag('payment_hash');
  if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) throw new Error('invoice has no 32-byte payment_hash');
  const description = tag('description') as string | undefined;
  const descriptionHash = tag('purpose_commit_hash') as string | undefined;
  if ((description === undefined) === (descriptionHash === undefined)) throw new Error('invoice needs exactly one of description (d) and description hash (h)');
  const expiry = (tag('expire_time') as number | undefined) ?? 3600;
  return {
    paymentRequest: clean,
    network: d.network?.bech32 ?? '',
    payee: d.payeeNodeKey!,
    amountMsat: d.millisatoshis ? BigInt(d.millisatoshis) : null,
    paymentHash: hash,
    description,
    descriptionHash,
    timestamp: d.timestamp!,
    expiry,
    expiresAt: d.timestamp! + expiry,
    minFinalCltv: (tag('min_final_cltv_expiry') as number | undefined) ?? 18,
  };
}

/** sats/msat → msat bigint (the one place a price string is parsed). */
export function priceToMsat(amount: string, currency: string): bigint {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(amount);
  if (!m) throw new Error(`price ${amount} is not a non-negative number`);
  const unit = currency.toLowerCase();
  if (unit === 'msat' || unit === 'msats') {
    if (m[2] && /[1-9]/.test(m[2])) throw new Error('fractional msat');
    return BigInt(m[1]!);
  }
  if (unit === 'sat' || unit === 'sats') {
    const frac = (m[2] ?? '').padEnd(3, '0');
    if (frac.length > 3 && /[1-9]/.test(frac.slice(3))) throw new Error('price finer than 1 msat');
    return BigInt(m[1]!) * 1000n + BigInt(frac.slice(0, 3));
  }
  if (unit === 'btc') {
    const frac = (m[2] ?? '').padEnd(11, '0');
    if (frac.length > 11 && /[1-9]/.test(frac.slice(11))) throw new Error('price finer than 1 msat');
    return BigInt(m[1]!) * 100_000_000_000n + BigInt(frac.slice(0, 11));
  }
  throw new Error(`currency ${currency} is not a Lightning unit`);
}
