/**
 * The reference factory's catalog as data: products, capabilities (`name@version`), JSON Schemas,
 * prices (micro-USD) and the pricing rule. Lives in protocol/ because agents plan against it in tests
 * and the bench measures its bare work; a target's own catalog is always read from its manifest.
 */
import { MICROS_PER_USD } from './money.ts';

export interface Capability {
  productId: string;
  capabilityId: string;
  description: string;
  /** Base price per call in micro-USD (the manifest's price_per_call_usd). */
  priceMicros: bigint;
  /** Extra micro-USD per started 1,000 bytes of input beyond the first 1,000 (0 = flat price). */
  perKiloByteMicros: bigint;
  p50LatencyMs: number;
  inputSchema: Record<string, unknown>;
  outputSchema: Record<string, unknown>;
  keywords: string[];
}

const TEXT_IN = { type: 'object', properties: { text: { type: 'string', maxLength: 20000 } }, required: ['text'] };
const TEXT_OUT = { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] };

export const REFERENCE_CATALOG: readonly Capability[] = [
  {
    productId: 'prod-text',
    capabilityId: 'upper@v1',
    description: 'Upper-case a text',
    priceMicros: 4_000n,
    perKiloByteMicros: 0n,
    p50LatencyMs: 1,
    inputSchema: TEXT_IN,
    outputSchema: TEXT_OUT,
    keywords: ['upper', 'uppercase', 'capitalize', 'text', 'shout'],
  },
  {
    productId: 'prod-text',
    capabilityId: 'reverse@v1',
    description: 'Reverse a text',
    priceMicros: 15_000n,
    perKiloByteMicros: 0n,
    p50LatencyMs: 1,
    inputSchema: TEXT_IN,
    outputSchema: TEXT_OUT,
    keywords: ['reverse', 'mirror', 'text', 'backwards'],
  },
  {
    productId: 'prod-text',
    capabilityId: 'count@v1',
    description: 'Count the characters and words of a text',
    priceMicros: 10_000n,
    perKiloByteMicros: 0n,
    p50LatencyMs: 1,
    inputSchema: TEXT_IN,
    outputSchema: { type: 'object', properties: { text: { type: 'string' }, chars: { type: 'integer' }, words: { type: 'integer' } } },
    keywords: ['count', 'words', 'characters', 'length', 'text', 'statistics'],
  },
  {
    productId: 'prod-text',
    capabilityId: 'flaky@v1',
    description: 'Echo a text; fails (typed failure, refunded) when the text contains "fail"',
    priceMicros: 20_000n,
    perKiloByteMicros: 0n,
    p50LatencyMs: 1,
    inputSchema: TEXT_IN,
    outputSchema: TEXT_OUT,
    keywords: ['echo', 'test', 'flaky'],
  },
  {
    productId: 'prod-lang',
    capabilityId: 'translate.multi@v2',
    description: 'Translate text to multiple locales (lab translator: tags the text per locale)',
    priceMicros: 400_000n,
    perKiloByteMicros: 10_000n,
    p50LatencyMs: 2,
    inputSchema: {
      type: 'object',
      properties: { text: { type: 'string', maxLength: 20000 }, locales: { type: 'array', items: { type: 'string', maxLength: 16 }, maxItems: 10 } },
      required: ['text'],
    },
    outputSchema: { type: 'object', properties: { text: { type: 'string' }, translations: { type: 'object', additionalProperties: { type: 'string' } } } },
    keywords: ['translate', 'translation', 'languages', 'locales', 'multilingual', 'localize'],
  },
];

/** UTF-8 byte size of an input as the pricing rule measures it (compact JSON). */
export const inputSize = (input: unknown): number => Buffer.byteLength(JSON.stringify(input ?? {}), 'utf8');

/** The exact price of one call for an input of `size` bytes (profile.md AIM-PROF-05). */
export function priceFor(c: Capability, size: number): bigint {
  const extraKb = size > 1000 ? BigInt(Math.ceil((size - 1000) / 1000)) : 0n;
  return c.priceMicros + extraKb * c.perKiloByteMicros;
}

/** The lab work of a capability: deterministic, and a typed failure for `flaky@v1` on "fail". */
export function runCapability(c: Capability, input: { text?: unknown; locales?: unknown }): { ok: true; result: Record<string, unknown> } | { ok: false; reason: string } {
  const text = typeof input.text === 'string' ? input.text : '';
  switch (c.capabilityId) {
    case 'upper@v1':
      return { ok: true, result: { text: text.toUpperCase() } };
    case 'reverse@v1':
      return { ok: true, result: { text: [...text].reverse().join('') } };
    case 'count@v1':
      return { ok: true, result: { text, chars: [...text].length, words: text.split(/\s+/).filter(Boolean).length } };
    case 'flaky@v1':
      return text.includes('fail') ? { ok: false, reason: 'capability_failed' } : { ok: true, result: { text } };
    case 'translate.multi@v2': {
      const locales = Array.isArray(input.locales) && input.locales.length ? (input.locales as string[]) : ['en'];
      return { ok: true, result: { text, translations: Object.fromEntries(locales.map((l) => [l, `[${l}] ${text}`])) } };
    }
    default:
      return { ok: false, reason: 'unknown_capability' };
  }
}

export const toolName = (c: { productId: string; capabilityId: string }) => `${c.productId}.${c.capabilityId}`;
export const usd = (micros: bigint) => Number(micros) / Number(MICROS_PER_USD);
