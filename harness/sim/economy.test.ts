/**
 * The economy file: the shipped examples load; a bad file is refused naming the file, every bad
 * field's path and what was expected; YAML and JSON both work.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'vitest';
import { REPO_ROOT } from '../chain/paths.ts';
import { EconomyError, loadEconomyFile, parseEconomy } from './economy.ts';

const minimal = () => ({
  name: 'tiny',
  durationHours: 1,
  protocols: { agentripe: 1 },
  demand: { arrivalsPerHour: 10 },
  populations: [
    { name: 'b', role: 'buyer', count: 2, balance: '$1', budget: '$0.50' },
    { name: 's', role: 'seller', strategy: 'honest', count: 1, price: '$0.10' },
  ],
});

function refusal(input: unknown): string {
  try {
    parseEconomy(input, 'file x.yaml');
  } catch (e) {
    assert.ok(e instanceof EconomyError, String(e));
    return e.message;
  }
  assert.fail('the economy was accepted');
}

test('the shipped examples load, money parsed into base units', async () => {
  for (const f of ['agentripe.yaml', 'x402.yaml', 'mixed.yaml']) {
    const e = await loadEconomyFile(path.join(REPO_ROOT, 'examples', 'economies', f));
    assert.equal(e.name, f.replace('.yaml', ''));
  }
  const e = await loadEconomyFile(path.join(REPO_ROOT, 'examples', 'economies', 'agentripe.yaml'));
  const shoppers = e.populations.find((p) => p.name === 'shoppers');
  assert.deepEqual(shoppers?.role === 'buyer' && shoppers.budget, { dist: 'uniform', min: 50_000n, max: 600_000n });
  assert.equal(shoppers?.role === 'buyer' && shoppers.balance, 20_000_000n);
});

test('defaults: seed 1, cheapest choice, 10 service minutes, no cost, empty profiles', () => {
  const e = parseEconomy(minimal());
  assert.equal(e.seed, 1);
  assert.deepEqual(e.profiles, {});
  const [b, s] = e.populations;
  assert.equal(b?.role === 'buyer' && b.choice, 'cheapest');
  assert.equal(s?.role === 'seller' && s.serviceMinutes, 10);
  assert.equal(s?.role === 'seller' && s.costPerAttempt, 0n);
  assert.deepEqual(s?.role === 'seller' && s.price, { dist: 'fixed', value: 100_000n });
});

test('a bad economy is refused with every bad field named', () => {
  const e = minimal() as Record<string, any>;
  e.populations.push(
    { name: 'lazy', role: 'seller', strategy: 'sloppy', count: 1, price: '$0.1234567', quality: 0.5 },
    { name: 'b2', role: 'buyer', count: 1, balance: 5, budget: { dist: 'uniform', min: '$1' }, choice: 'loudest' },
    { name: 'y', role: 'judge', count: 1 },
    { name: 'z', role: 'seller', strategy: 'honest', count: 0, price: { dist: 'normal' } },
  );
  e.extra = true;
  const msg = refusal(e);
  assert.match(msg, /^invalid economy file x\.yaml:\n/);
  for (const line of [
    /populations\[2\]\.price: invalid USD amount "\$0\.1234567": more than 6 decimals/,
    /populations\[3\]\.balance: must be a dollar amount string/,
    /populations\[3\]\.budget\.max: must be a dollar amount string/,
    /populations\[3\]\.choice: must be one of cheapest, reputation, random/,
    /populations\[4\]\.role: role must be buyer, seller or reviewer/,
    /populations\[5\]\.count: Too small: expected number to be >=1/,
    /populations\[5\]\.price\.dist: dist must be fixed, uniform or choice/,
    /\(root\): Unrecognized key: "extra"/,
  ])
    assert.match(msg, line);
});

test('rules across fields: strategy parameters, collusion, protocols, duplicate names', () => {
  const e = minimal() as Record<string, any>;
  e.populations.push(
    { name: 'lazy', role: 'seller', strategy: 'sloppy', count: 1, price: '$0.10' },
    { name: 'cut', role: 'seller', strategy: 'undercutting', count: 1, price: '$0.10' },
    { name: 'good', role: 'seller', strategy: 'honest', count: 1, price: '$0.10', quality: 0.5, undercutBps: 10 },
    { name: 'r', role: 'reviewer', strategy: 'colluding', count: 1, colludesWith: ['b', 'nobody'] },
    { name: 'r2', role: 'reviewer', strategy: 'colluding', count: 1 },
    { name: 'x', role: 'seller', strategy: 'honest', count: 1, price: '$0.10', protocols: ['aisp'] },
    { name: 'b', role: 'buyer', count: 1, balance: '$1', budget: '$1' },
  );
  e.profiles = { x402: {} };
  const msg = refusal(e);
  for (const line of [
    /populations\[2\]\.quality: a sloppy seller needs a quality between 0 and 1/,
    /populations\[3\]\.price: an undercutting seller derives its price from the others; give undercutBps instead/,
    /populations\[4\]\.quality: quality applies to sloppy and undercutting sellers only/,
    /populations\[4\]\.undercutBps: applies to undercutting sellers only/,
    /populations\[5\]\.colludesWith\[0\]: 'b' is not a seller population/,
    /populations\[5\]\.colludesWith\[1\]: 'nobody' is not a seller population/,
    /populations\[6\]\.colludesWith: a colluding reviewer needs the seller populations it colludes with/,
    /populations\[7\]\.protocols\[0\]: 'aisp' is not among the economy's protocols \(agentripe\)/,
    /populations\[8\]\.name: duplicate population name 'b' \(also populations\[0\]\)/,
    /profiles\.x402: 'x402' is not among the economy's protocols/,
  ])
    assert.match(msg, line);
});

test('a distribution with min above max, a market without sellers, a non-positive weight', () => {
  const e = minimal() as Record<string, any>;
  e.populations[0].budget = { dist: 'uniform', min: '$2', max: '$1' };
  e.protocols = { agentripe: 0 };
  const msg = refusal(e);
  assert.match(msg, /populations\[0\]\.budget\.max: min must not exceed max/);
  assert.match(msg, /protocols\.agentripe: a mix weight must be > 0/);
  const f = minimal() as Record<string, any>;
  f.populations.pop();
  assert.match(refusal(f), /populations: at least one seller population is needed/);
});

test('files: YAML and JSON parse; syntax errors and missing files name the file', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'amh-economy-'));
  await writeFile(path.join(dir, 'e.json'), JSON.stringify(minimal()));
  assert.equal((await loadEconomyFile(path.join(dir, 'e.json'))).name, 'tiny');
  await writeFile(path.join(dir, 'bad.yaml'), 'name: [unclosed\n');
  await assert.rejects(loadEconomyFile(path.join(dir, 'bad.yaml')), (e: Error) => e instanceof EconomyError && e.message.includes(`economy file ${path.join(dir, 'bad.yaml')} is not valid YAML`));
  await writeFile(path.join(dir, 'bad.json'), '{');
  await assert.rejects(loadEconomyFile(path.join(dir, 'bad.json')), /is not valid JSON/);
  await assert.rejects(loadEconomyFile(path.join(dir, 'none.yaml')), /cannot read economy file .*none\.yaml/);
  await writeFile(path.join(dir, 'wrong.yml'), 'name: Not Valid\ndurationHours: 1\n');
  await assert.rejects(
    loadEconomyFile(path.join(dir, 'wrong.yml')),
    (e: Error) => /invalid economy file .*wrong\.yml:\n {2}- name: must be 1-64 characters/.test(e.message) && /protocols: /.test(e.message),
  );
});
