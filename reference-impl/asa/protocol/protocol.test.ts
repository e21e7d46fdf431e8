/**
 * The asa protocol library against published vectors and third-party code: the BOLT 11 spec's
 * "1 cup coffee" invoice, nostr-tools-signed events, the `macaroon` package, and every reading the
 * PR allows vs the SDK dialect.
 */
import { createHash, randomBytes } from 'node:crypto';
import { fc, test } from '@fast-check/vitest';
import { importMacaroon, newMacaroon } from 'macaroon';
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { secp256k1 } from '@noble/curves/secp256k1';
import { describe, expect } from 'vitest';
import { agreementTags, attestationTags, capabilityTags, canTransition, KIND, requestTags, STATUSES, validateAgreement, validateAttestation, validateCapability, validateRequest } from './events.ts';
import { createInvoice, decodeInvoice, priceToMsat } from './invoice.ts';
import { formatChallenge, formatCredential, parseChallenges, parseCredential } from './l402.ts';
import { attenuate, caveatsOf, exportV2, identifierOf, macaroonFromBase64, mintMacaroon, verifyMacaroon } from './macaroons.ts';
import { scoreAttestations } from './reputation.ts';
import { hopFee, routeAmounts } from './routing.ts';

const HEX = 'a'.repeat(64);
const HEX2 = 'b'.repeat(64);

describe('BOLT11', () => {
  test('the BOLT 11 spec vector "1 cup coffee" decodes with its signature, payee, amount, hash and expiry', () => {
    const inv =
      'lnbc2500u1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpu9qrsgquk0rl77nj30yxdy8j9vdx85fkpmdla2087ne0xh8nhedh8w27kyke0lp53ut353s06fv3qfegext0eh0ymjpf39tuven09sam30g4vgpfna3rh';
    const d = decodeInvoice(`LIGHTNING:${inv.toUpperCase()}`);
    expect(d.payee).toBe('03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad');
    expect(d.amountMsat).toBe(250_000_000n);
    expect(d.paymentHash).toBe('0001020304050607080900010203040506070809000102030405060708090102');
    expect(d.timestamp).toBe(1496314658);
    expect(d.expiry).toBe(60);
    expect(d.description).toBe('1 cup coffee');
    // One changed data character breaks the checksum or the signature.
    expect(() => decodeInvoice(inv.replace('xysxxatsyp3k7enxv4js', 'xysxxatsyp3k7enxv4jq'))).toThrow();
  });

  test.prop([fc.bigInt(1n, 10n ** 12n), fc.option(fc.string({ maxLength: 60 }), { nil: undefined }), fc.integer({ min: 1, max: 86_400 })])(
    'our invoices are signed by the node key and decode to what was asked',
    (amount, description, expiry) => {
      const key = randomBytes(32).toString('hex');
      const hash = createHash('sha256').update(randomBytes(32)).digest('hex');
      const inv = createInvoice({ nodeKey: key, amountMsat: amount, paymentHash: hash, ...(description === undefined ? { descriptionHash: HEX } : { description }), expiry });
      const d = decodeInvoice(inv);
      expect(d.payee).toBe(Buffer.from(secp256k1.getPublicKey(Buffer.from(key, 'hex'), true)).toString('hex'));
      expect([d.amountMsat, d.paymentHash, d.expiry, d.network]).toEqual([amount, hash, expiry, 'bcrt']);
      expect(description === undefined ? d.descriptionHash : d.description).toBe(description ?? HEX);
    },
  );

  test('prices parse once into msat', () => {
    expect(priceToMsat('50', 'sats')).toBe(50_000n);
    expect(priceToMsat('0.5', 'sat')).toBe(500n);
    expect(priceToMsat('1500', 'msat')).toBe(1500n);
    expect(priceToMsat('0.00000001', 'BTC')).toBe(1000n);
    for (const [a, c] of [
      ['abc', 'sats'],
      ['-5', 'sats'],
      ['0.0001', 'sats'],
      ['1', 'usd'],
    ])
      expect(() => priceToMsat(a!, c!)).toThrow();
  });
});

describe('L402 headers', () => {
  const inv = 'lnbcrt500n1xyz';
  test('both challenge generations, LSAT, folded headers, unquoted values, any order, other schemes skipped', () => {
    const a = formatChallenge({ macaroon: 'AgE=', invoice: inv });
    const b = formatChallenge({ macaroon: 'AgE=', invoice: inv, generation: 'token' });
    expect(parseChallenges([a, b])).toEqual([
      { scheme: 'L402', macaroon: 'AgE=', invoice: inv, version: undefined, param: 'macaroon' },
      { scheme: 'L402', macaroon: 'AgE=', invoice: inv, version: '0', param: 'token' },
    ]);
    const folded = `Bearer realm="x", LSAT macaroon="AgE=", invoice="${inv}", L402 invoice=lightning:${inv}, token=AgE=`;
    expect(parseChallenges(folded).map((c) => [c.scheme, c.param, c.invoice])).toEqual([
      ['LSAT', 'macaroon', inv],
      ['L402', 'token', inv],
    ]);
    expect(parseChallenges('L402 macaroon="AgE="')).toEqual([]);
  });
  test('credentials as aperture reads them', () => {
    const p = 'c'.repeat(64);
    expect(parseCredential(formatCredential({ macaroons: ['AgE=', 'AgI='], preimage: p }))).toEqual({ scheme: 'L402', macaroons: ['AgE=', 'AgI='], preimage: p });
    expect(parseCredential(`LSAT AgE=:${p}`)?.scheme).toBe('LSAT');
    for (const bad of [`L402 AgE=:${p.toUpperCase()}`, `L402 :${p}`, `L402 AgE=`, `Bearer AgE=:${p}`, `L402 AgE=:${p.slice(1)}`, '']) expect(parseCredential(bad)).toBeNull();
  });
});

describe('macaroons', () => {
  const root = new Uint8Array(randomBytes(32));
  const hash = 'd'.repeat(64);
  const mint = (o: Partial<Parameters<typeof mintMacaroon>[0]> = {}) =>
    mintMacaroon({ rootKey: root, paymentHash: hash, tokenId: 'e'.repeat(64), service: 'translate', validUntil: 2000, maxRequests: 2, ...o });
  const ctx = { service: 'translate', now: 1000, used: 0 };

  test('identifier and caveats round-trip through the macaroon package (V2 binary)', () => {
    const m = mint();
    expect(identifierOf(m)).toEqual({ version: 0, paymentHash: hash, tokenId: 'e'.repeat(64) });
    expect(caveatsOf(m)).toEqual(['services=translate:0', 'translate_valid_until=2000', 'translate_max_requests=2']);
    // The package's own importer reads our serialisation and the package's JSON agrees.
    const viaPkg = importMacaroon(new Uint8Array(Buffer.from(m, 'base64')));
    expect(Buffer.from(viaPkg.signature).toString('hex')).toBe(Buffer.from(macaroonFromBase64(m).signature).toString('hex'));
    // A package-made macaroon with few caveats serialises byte for byte like exportV2.
    const small = newMacaroon({ identifier: 'id', rootKey: root, location: 'loc', version: 2 });
    small.addFirstPartyCaveat('a=b');
    expect(Buffer.from(exportV2(small)).toString('hex')).toBe(Buffer.from(small.exportBinary()).toString('hex'));
  });

  test('every caveat is checked; unknown caveats are skipped; repeats must tighten', () => {
    const m = mint();
    expect(verifyMacaroon(m, root, ctx)).toBeNull();
    expect(verifyMacaroon(m, new Uint8Array(32), ctx)).toMatch(/signature/);
    expect(verifyMacaroon(m, root, { ...ctx, now: 2000 })).toMatch(/expired/);
    expect(verifyMacaroon(m, root, { ...ctx, service: 'other' })).toMatch(/not in/);
    expect(verifyMacaroon(m, root, { ...ctx, used: 2 })).toMatch(/used up/);
    expect(verifyMacaroon(attenuate(m, 'translate_valid_until=999'), root, ctx)).toMatch(/expired/);
    expect(verifyMacaroon(attenuate(m, 'translate_valid_until=3000'), root, ctx)).toMatch(/less restrictive/);
    expect(verifyMacaroon(attenuate(m, 'translate_max_requests=1'), root, { ...ctx, used: 1 })).toMatch(/used up/);
    expect(verifyMacaroon(attenuate(m, 'services=other:0'), root, ctx)).toMatch(/less restrictive|not in/);
    expect(verifyMacaroon(attenuate(m, 'x-note=1'), root, ctx)).toBeNull();
    expect(verifyMacaroon(attenuate(m, 'nonsense'), root, ctx)).toBeNull();
    expect(verifyMacaroon('not base64 !!', root, ctx)).not.toBeNull();
  });
});

describe('NIP-A5 kinds', () => {
  const sk = generateSecretKey();
  const sign = (kind: number, tags: string[][]) => finalizeEvent({ kind, tags, content: '', created_at: 1 }, sk);

  test('builders produce events every validator accepts, signed by nostr-tools', () => {
    const cap = sign(
      KIND.capability,
      capabilityTags({
        d: 'x',
        s: ['translation'],
        prices: [
          { amount: '50', currency: 'sats', frequency: 'per-request' },
          { amount: '200', currency: 'sats', frequency: 'batch-10' },
        ],
        l402: 'https://a.example/v1',
        endpoint: { url: 'https://a.example/v1', method: 'POST' },
        schema: 'https://a.example/s.json',
        capacity: { amount: '100', unit: 'requests/hour' },
        uptime: '0.997',
        t: ['japanese'],
        negotiable: { kind: 'floor', amount: '30' },
      }),
    );
    expect(validateCapability(cap)).toEqual({ errors: [], dialects: [] });
    expect(validateRequest(sign(KIND.request, requestTags({ d: 'req-1', s: ['translation'], budget: { amount: '500', unit: 'sats' }, deadline: 1710547200 })))).toEqual({ errors: [], dialects: [] });
    for (const status of STATUSES)
      expect(
        validateAgreement(
          sign(
            KIND.agreement,
            agreementTags({
              d: 'asa-1',
              provider: HEX,
              requester: HEX2,
              capability: HEX,
              terms: [{ type: 'per-request', value: '50', unit: 'sats' }],
              status,
              paymentHash: status === 'completed' ? HEX : undefined,
              expiration: 99,
            }),
          ),
        ),
      ).toEqual({ errors: [], dialects: [] });
    expect(validateAttestation(sign(KIND.attestation, attestationTags({ d: 'att-1', subject: HEX, agreement: HEX2, rating: 5, proof: HEX })))).toEqual({ errors: [], dialects: [] });
  });

  test('readings the PR allows pass; the SDK dialect warns; broken events fail', () => {
    expect(
      validateCapability({
        kind: KIND.capability,
        tags: [
          ['d', 'x'],
          ['s', 'a'],
          ['price', '50', 'sats'],
        ],
      }),
    ).toEqual({ errors: [], dialects: [] });
    expect(
      validateCapability({
        kind: KIND.capability,
        tags: [
          ['d', 'x'],
          ['s', 'a'],
          ['price', '100'],
          ['api_endpoint', 'https://x'],
          ['negotiable', 'true'],
        ],
      }).dialects.length,
    ).toBe(2);
    expect(
      validateCapability({
        kind: KIND.capability,
        tags: [
          ['d', 'x'],
          ['s', 'a'],
          ['price', 'abc', 'sats'],
        ],
      }).errors.length,
    ).toBe(1);
    expect(
      validateCapability({
        kind: KIND.capability,
        tags: [
          ['d', 'x'],
          ['s', 'a'],
          ['price', '1', 'sats'],
          ['negotiable', 'floor'],
        ],
      }).errors.length,
    ).toBe(1);
    expect(validateRequest({ kind: KIND.request, tags: [['s', 'a']] })).toEqual({ errors: [], dialects: ['no d tag (required: unique identifier)'] });
    const sdkAgreement = {
      kind: KIND.agreement,
      tags: [
        ['p', HEX],
        ['p', HEX2],
        ['terms', 'flat 500 sats'],
        ['status', 'proposed'],
        ['price', '500'],
        ['expiry', '9'],
      ],
    };
    const v = validateAgreement(sdkAgreement);
    expect(v.errors).toEqual([]);
    expect(v.dialects.length).toBe(5);
    expect(
      validateAgreement({
        kind: KIND.agreement,
        tags: [
          ['d', 'x'],
          ['p', HEX, '', 'provider'],
          ['terms', 'flat', '1', 'sats'],
          ['status', 'done'],
          ['payment_hash', 'XYZ'],
        ],
      }).errors.length,
    ).toBe(3);
    expect(
      validateAttestation({
        kind: KIND.attestation,
        tags: [
          ['p', HEX],
          ['e', HEX2],
          ['rating', '6'],
          ['L', 'nostr.agent.attestation'],
          ['l', 'completed', 'nostr.agent.attestation'],
        ],
      }).errors.length,
    ).toBe(2);
  });

  test('the lifecycle: proposed → active → completed | disputed | expired, nothing else', () => {
    const ok = new Set(['proposed>active', 'active>completed', 'active>disputed', 'active>expired']);
    for (const a of STATUSES) for (const b of STATUSES) expect(canTransition(a, b)).toBe(ok.has(`${a}>${b}`));
  });

  test('reputation: only the requester’s first proof-bearing attestation of the subject’s agreement counts', () => {
    const provider = generateSecretKey();
    const requester = generateSecretKey();
    const other = generateSecretKey();
    const P = getPublicKey(provider);
    const agr = finalizeEvent(
      {
        kind: KIND.agreement,
        tags: agreementTags({ d: 'a', provider: P, requester: getPublicKey(requester), terms: [{ type: 'flat', value: '1', unit: 'sats' }], status: 'completed', paymentHash: HEX }),
        content: '',
        created_at: 1,
      },
      provider,
    );
    const att = (k: Uint8Array, proof: string | undefined, t: number, agreement = agr.id) =>
      finalizeEvent({ kind: KIND.attestation, tags: attestationTags({ d: `x${t}`, subject: P, agreement, rating: 4, proof }), content: '', created_at: t }, k);
    const good = att(requester, HEX, 10);
    const v = scoreAttestations(P, [att(requester, HEX, 11), att(other, HEX, 5), att(requester, HEX2, 4), att(provider, HEX, 3), good], new Map([[agr.id, agr]]), (h) => h === HEX);
    expect(v.counted.map((c) => c.id)).toEqual([good.id]);
    expect(v.ignored.map((i) => i.reason)).toEqual([
      'self-attestation',
      'proof differs from the agreement’s payment_hash',
      'the signer is not the agreement’s requester',
      'a second attestation for the same agreement',
    ]);
    expect(scoreAttestations(P, [good], new Map([[agr.id, agr]]), () => false).count).toBe(0);
  });
});

describe('routing fees', () => {
  test.prop([fc.bigInt(1n, 10n ** 12n), fc.array(fc.record({ baseMsat: fc.bigInt(0n, 10_000n), ppm: fc.bigInt(0n, 100_000n), cltvDelta: fc.integer({ min: 0, max: 144 }) }), { maxLength: 5 })])(
    'each forwarder’s fee is base + ppm of what it forwards; the payer pays amount + all fees',
    (amount, forwarders) => {
      const r = routeAmounts(amount, forwarders, 18);
      expect(r.hops.at(-1)!.amountMsat).toBe(amount);
      for (let i = 0; i < forwarders.length; i++) expect(r.hops[i]!.amountMsat - r.hops[i + 1]!.amountMsat).toBe(hopFee(forwarders[i]!, r.hops[i + 1]!.amountMsat));
      expect(r.hops[0]!.amountMsat).toBe(amount + r.totalFeeMsat);
      expect(r.totalCltv).toBe(18 + forwarders.reduce((s, f) => s + f.cltvDelta, 0));
    },
  );
});
