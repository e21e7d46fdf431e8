/**
 * No secret the harness knows reaches an output: the reference stack is certified (agentripe,
 * which issues API keys; aisp, whose providers hold Venice keys; x402, whose facilitator signs with
 * the provider role's key) and everything written is scanned: the report files (json, junit, html,
 * md, with the HTTP exchanges the scenarios saw), a signed bundle, the services' log lines and
 * whatever the process printed. Secrets: every role key of every kind (EVM, Ed25519, Nostr,
 * Lightning; the throwaway stand-ins too), the AISP lab admin keys, and keys issued at run time by
 * shape (`ak_…`, `vn-scoped-…`). The scan bites: a key planted in one evidence item is found in
 * every rendered file.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, test } from 'vitest';
import { ROLE_NAMES, roleAccounts, roleKey, throwawayAccount } from '../chain/accounts.ts';
import { execute } from '../cli/execute.ts';
import { generateKey, bundlePayload, signBundle } from './bundle.ts';
import type { Report } from './types.ts';
import { writeReports } from './write.ts';
import { scanForSecrets, type KnownSecret } from '../util/secrets.ts';

const KINDS = ['ed25519', 'nostr', 'lightning'] as const;
/** The AISP lab's provider admin keys: derived as reference-impl/aisp/server/stack.ts labAdminKey does (the harness may not import a server). */
const aispAdminKey = (role: string) => `vn-admin-${createHash('sha256').update(`agentmarket-harness aisp lab admin key: ${role}`).digest('hex').slice(0, 48)}`;

function knownSecrets(): KnownSecret[] {
  const out: KnownSecret[] = [];
  for (const a of roleAccounts) out.push({ label: `${a.role} EVM private key`, value: a.privateKey });
  for (const role of ROLE_NAMES) {
    out.push({ label: `${role} throwaway EVM key`, value: throwawayAccount(role).privateKey });
    for (const kind of KINDS) {
      out.push({ label: `${role} ${kind} key`, value: roleKey(role, kind).privateKey });
      out.push({ label: `${role} throwaway ${kind} key`, value: roleKey(`throwaway:${role}`, kind).privateKey });
    }
    out.push({ label: `AISP admin key of ${role}`, value: aispAdminKey(role) });
  }
  return out;
}

let dir: string;
let report: Report;
const logs: string[] = [];
const printed: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'amh-secrets-'));
  // Everything the process prints while the stack runs (servers log through the console too).
  const tap = (stream: NodeJS.WriteStream) => {
    const write = stream.write.bind(stream);
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      printed.push(String(chunk));
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
    return () => {
      stream.write = write;
    };
  };
  // Under vitest the console does not go through process.stdout: its methods are tapped as well.
  const tapConsole = (name: 'log' | 'info' | 'warn' | 'error' | 'debug') => {
    const orig = console[name];
    console[name] = (...args: unknown[]) => {
      printed.push(args.map(String).join(' '));
      orig(...args);
    };
    return () => {
      console[name] = orig;
    };
  };
  const untap = [tap(process.stdout), tap(process.stderr), ...(['log', 'info', 'warn', 'error', 'debug'] as const).map(tapConsole)];
  try {
    report = await execute({ command: 'run', runs: 1, seed: 3, protocols: ['agentripe', 'aisp', 'x402'], workers: 1, log: (l) => logs.push(l) });
  } finally {
    for (const u of untap) u();
  }
  await writeReports(report, dir);
  const key = generateKey();
  const bundle = signBundle(bundlePayload(report, undefined), Buffer.from(key.privateKey, 'hex'));
  await writeFile(path.join(dir, 'bundle.json'), JSON.stringify(bundle));
}, 900_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function outputs(from: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of await readdir(from)) out[f] = await readFile(path.join(from, f), 'utf8');
  return out;
}

test('no known secret in the reports, the bundle, the service logs or what the process printed', async () => {
  // The run really exercised the key-issuing routes (or the scan would prove nothing).
  const cases = report.protocols.flatMap((p) => p.scenarios.map((s) => `${s.caseId}:${s.status}`));
  for (const id of ['agentripe/api-key-auth', 'agentripe/robustness', 'x402/robustness', 'aisp/get-key-funder-only', 'aisp/store-key-auth'])
    assert.ok(cases.includes(`${id}:pass`), `${id} ran and passed (${cases.join(' ')})`);
  console.log(`secrets scan over a run of ${cases.length} scenarios: ${JSON.stringify(report.summary)}`);
  const found = scanForSecrets({ ...(await outputs(dir)), 'service log': logs.join('\n'), 'stdout/stderr': printed.join('') }, knownSecrets());
  assert.deepEqual(
    found.map((f) => `${f.where}: ${f.secret} at …${f.context}…`),
    [],
  );
});

test('bites: a role key and an issued API key planted in one evidence item are found in every report file and the bundle', async () => {
  const planted = structuredClone(report);
  const q = planted.protocols.find((p) => p.id === 'agentripe')!.requirements[0]!;
  const buyerKey = roleAccounts.find((a) => a.role === 'buyer1')!.privateKey;
  q.evidence.push({ kind: 'note', message: `server said: invalid key ak_${'5e'.repeat(24)} (signer ${buyerKey.slice(2).toUpperCase()})` });
  const to = await mkdtemp(path.join(os.tmpdir(), 'amh-secrets-planted-'));
  try {
    await writeReports(planted, to);
    const key = generateKey();
    await writeFile(path.join(to, 'bundle.json'), JSON.stringify(signBundle(bundlePayload(planted, undefined), Buffer.from(key.privateKey, 'hex'))));
    const found = scanForSecrets(await outputs(to), knownSecrets());
    const where = (secret: RegExp) => [...new Set(found.filter((f) => secret.test(f.secret)).map((f) => f.where))].sort();
    for (const file of ['report.json', 'index.html', 'bundle.json']) {
      assert.ok(where(/buyer1 EVM private key/).includes(file), `the planted role key is found in ${file}: ${JSON.stringify(found)}`);
      assert.ok(where(/Agentripe API key/).includes(file), `the planted API key is found in ${file}: ${JSON.stringify(found)}`);
    }
  } finally {
    await rm(to, { recursive: true, force: true });
  }
});
