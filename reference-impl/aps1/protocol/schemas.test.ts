/**
 * The validator's readings (profile APS-PROF-01), pinned: what §D's schemas accept and refuse as
 * zod's v3 engine runs them (the package's lock file resolves zod 3.25.76; zod 4 reads some of these
 * differently, which is why the protocol library uses `zod/v3`). Where the exact 3.25.76 release is
 * installed (a dependency of @x402/core), the same constraints built on it must agree on every
 * vector: third-party code, not our transcription, decides.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'vitest';
import { z as z4 } from 'zod';
import { APS1ExecutionEnvelopeSchema, APS1ManifestSchema, APS1NegotiationSchema, APS1ResultSchema, APS1SettlementSchema, validateManifest } from './schemas.ts';

const ACCEPTED = ['2025-01-15T10:30:00Z', '2025-01-15T10:30Z', '2025-01-15T10:30:00.123456789Z', '2024-02-29T23:59:59Z'];
const REFUSED = [
  '2025-01-15T10:30:00+00:00',
  '2025-01-15T10:30:00+02:00',
  '2025-01-15 10:30:00Z',
  '2025-02-29T10:30:00Z',
  '2025-01-15T24:00:00Z',
  '2025-01-15T10:30:00',
  '2025-01-15',
  '1736937000',
  '2025-01-15T10:30:00.Z',
  '2025-01-15T10:30:00z',
];

const neg = (over: Record<string, unknown> = {}) => ({ type: 'propose', jobId: 'job-123', price: 3, currency: 'USD', timestamp: '2025-01-15T10:30:00Z', ...over });

test('timestamps: UTC "Z", seconds optional, any fraction, calendar dates', () => {
  for (const t of ACCEPTED) assert.ok(APS1NegotiationSchema.safeParse(neg({ timestamp: t })).success, t);
  for (const t of REFUSED) assert.ok(!APS1NegotiationSchema.safeParse(neg({ timestamp: t })).success, t);
  // zod 4 reads one of them differently (seconds required): the reason the library runs on v3.
  assert.equal(z4.iso.datetime().safeParse('2025-01-15T10:30Z').success, false);
});

test('unknown keys are stripped at every level, never refused', () => {
  const env = {
    jobId: 'j',
    agentId: 'a',
    prompt: 'p',
    callerWallet: `0x${'1'.repeat(40)}`,
    escrow: { contractAddress: `0x${'2'.repeat(40)}`, onChainId: 1, txHash: `0x${'3'.repeat(64)}`, method: 'nexus-escrow', extra: 1 },
    timestamp: '2025-01-15T10:30:00Z',
    futureField: { a: 1 },
  };
  const r = APS1ExecutionEnvelopeSchema.safeParse(env);
  assert.ok(r.success);
  assert.equal('futureField' in r.data, false);
  assert.equal('extra' in (r.data.escrow as object), false);
});

test('lengths count UTF-16 code units; numbers admit Infinity and unsafe integers; records refuse arrays', () => {
  assert.ok(APS1NegotiationSchema.safeParse(neg({ message: '😀'.repeat(512) })).success, '1024 units');
  assert.ok(!APS1NegotiationSchema.safeParse(neg({ message: `${'😀'.repeat(512)}x` })).success, '1025 units');
  assert.ok(APS1NegotiationSchema.safeParse(neg({ price: JSON.parse('1e999') })).success, 'a JSON 1e999 is Infinity, which z.number() admits');
  const res = { jobId: 'j', agentId: 'a', status: 'success', executionTimeMs: 2 ** 60, timestamp: '2025-01-15T10:30:00Z' };
  assert.ok(APS1ResultSchema.safeParse(res).success, '2^60 is an int to zod 3');
  assert.ok(!APS1ExecutionEnvelopeSchema.safeParse({ jobId: 'j', agentId: 'a', prompt: 'p', callerWallet: `0x${'1'.repeat(40)}`, payload: [1], timestamp: '2025-01-15T10:30:00Z' }).success);
});

test('the seed’s manifest example is valid once its placeholders are real; its settlement example is valid', () => {
  const m = {
    aps: '1.0',
    id: 'data-analyzer',
    name: 'Data Analyzer',
    description: 'Analyzes on-chain data and generates reports',
    category: 'analytics',
    version: '1.0.0',
    pricing: { basePrice: 5, currency: 'USD', negotiable: true, minPrice: 2 },
    capabilities: ['analyze-transactions', 'generate-report'],
    paymentMethods: ['nexus-escrow', 'stream-milestone', 'direct-transfer'],
    supportedTokens: [{ symbol: 'AlphaUSD', address: '0x20c0000000000000000000000000000000000001', decimals: 6 }],
    proofEnabled: true,
    walletAddress: `0x${'a'.repeat(40)}`,
    endpoints: { manifest: 'https://agent.example.com/manifest', execute: 'https://agent.example.com/execute' },
  };
  assert.deepEqual(validateManifest(m), { success: true, data: m });
  const bad = validateManifest({ ...m, walletAddress: '0xAgentWallet', id: 'Data Analyzer' });
  assert.equal(bad.success, false);
  assert.deepEqual((bad as { errors: string[] }).errors.sort(), ['id: Must be kebab-case', 'walletAddress: Invalid Ethereum address']);
  assert.ok(
    APS1SettlementSchema.safeParse({ jobId: 'job-123', type: 'settle', agentPayout: '4600000', platformFee: '400000', txHash: `0x${'a'.repeat(64)}`, timestamp: '2025-01-15T10:31:00Z' }).success,
  );
  assert.ok(APS1ManifestSchema.safeParse({ ...m, endpoints: { manifest: 'mailto:x', execute: 'foo:bar' } }).success, 'url() is whatever new URL() parses');
});

test('the same constraints on the exact zod release the package resolves (3.25.76) agree on every timestamp vector', () => {
  let z3exact: typeof import('zod/v3').z | undefined;
  try {
    const req = createRequire(import.meta.url);
    const from = { paths: [path.dirname(req.resolve('@x402/core'))] };
    const pkg = JSON.parse(readFileSync(req.resolve('zod/package.json', from), 'utf8')) as { version: string };
    if (pkg.version === '3.25.76') z3exact = (req(req.resolve('zod', from)) as { z: typeof import('zod/v3').z }).z;
  } catch {
    /* not installed: nothing to compare with */
  }
  assert.ok(z3exact, 'zod 3.25.76 is installed (a dependency of @x402/core)');
  const exact = z3exact.string().datetime();
  for (const t of [...ACCEPTED, ...REFUSED]) assert.equal(APS1NegotiationSchema.safeParse(neg({ timestamp: t })).success, exact.safeParse(t).success, t);
});
