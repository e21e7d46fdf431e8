/**
 * Real output against the report contract: a run against a broken target (one failing
 * requirement, the rest passing) is rendered to all four files; report.json validates against
 * report.schema.json; JUnit marks the violation as <failure>; HTML is self-contained; and headless
 * Chromium shows the verdict table (skipped with a reason when /usr/bin/chromium is absent).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, afterAll, test } from 'vitest';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { runAgainst, startBrokenTarget, type BrokenTarget } from '../target/testing.ts';
import type { Report } from './types.ts';
import { readReport, writeReports } from './write.ts';
import { hasChromium, withPage } from '../testing/chromium.ts';

let bt: BrokenTarget;
let report: Report;
let dir: string;

beforeAll(async () => {
  // ACCEPT_EXPIRED: USDC-3009-02 fails, everything else passes.
  bt = await startBrokenTarget({ tokenBugs: 1n, identityBugs: 0n, reputationBugs: 0n });
  report = await runAgainst(bt.target, { protocols: ['usdc', 'erc8004'], runs: 5, seed: 3 });
  dir = await mkdtemp(path.join(tmpdir(), 'amh-report-'));
  await writeReports(report, dir);
});
afterAll(async () => {
  await bt?.stop();
});

test('report.json from a real run validates against report.schema.json', async () => {
  const schema = JSON.parse(await readFile(fileURLToPath(new URL('./report.schema.json', import.meta.url)), 'utf8'));
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  const validate = ajv.compile(schema);
  const json = JSON.parse(await readFile(path.join(dir, 'report.json'), 'utf8'));
  assert.equal(validate(json), true, JSON.stringify(validate.errors?.slice(0, 5), null, 1));
  assert.equal(json.exitCode, 1);
  const q = json.protocols[0].requirements.find((x: { id: string }) => x.id === 'USDC-3009-02');
  assert.equal(q.status, 'fail');
  assert.ok(
    q.evidence.some((e: { kind: string }) => e.kind === 'tx'),
    'the failing requirement carries the accepting tx as evidence',
  );
  // The schema is not a rubber stamp: a wrong status or an extra field is refused.
  assert.equal(validate({ ...json, summary: { ...json.summary, pass: -1 } }), false);
  assert.equal(validate({ ...json, surprise: 1 }), false);
  // A scenario during which anvil stranded a transaction (since 1.4): counted, and only when it happened.
  const withRepairs = (n: unknown) => ({ ...json, protocols: [{ ...json.protocols[0], scenarios: [{ ...json.protocols[0].scenarios[0], nodeRepairs: n }] }] });
  assert.equal(validate(withRepairs({ stalls: 1, resent: 2, lost: 0 })), true, JSON.stringify(validate.errors?.slice(0, 3)));
  assert.equal(validate(withRepairs({ stalls: 0, resent: 0, lost: 0 })), false, 'absent, not zero, when nothing was stranded');
  assert.equal(validate(withRepairs({ stalls: 1, resent: 1 })), false);
  // Round trip through the reader.
  assert.equal((await readReport(path.join(dir, 'report.json'))).seed, 3);
});

test('junit.xml: the violation is a <failure> naming the requirement, with counterexample and replay', async () => {
  const xml = await readFile(path.join(dir, 'junit.xml'), 'utf8');
  assert.match(xml, /^<\?xml version="1.0"/);
  assert.match(xml, /<testsuite name="usdc"[^>]* failures="1" errors="0"/);
  assert.match(xml, /<testcase classname="usdc" name="USDC-3009-02 \[MUST\][^"]*"[^>]*>\s*<failure type="requirement-violated"/);
  assert.match(xml, /shrunk counterexample:/);
  assert.match(xml, /replay: amh replay .*--case usdc\/3009-/);
  assert.equal(
    (xml.match(/<testcase /g) ?? []).length,
    report.protocols.reduce((a, p) => a + p.requirements.length, 0),
  );
});

test('summary.md and index.html carry verdict, failure, replay command; HTML has no external assets', async () => {
  const md = await readFile(path.join(dir, 'summary.md'), 'utf8');
  assert.match(md, /FAIL — a MUST requirement was not met/);
  assert.match(md, /`USDC-3009-02` \| MUST \| ❌ fail/);
  assert.match(md, /Replay: `amh replay/);
  const html = await readFile(path.join(dir, 'index.html'), 'utf8');
  assert.match(html, /<table id="verdicts">/);
  assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=|<img[^>]+src=|url\(http|@import/i, 'no external assets');
  assert.match(html, /Shrunk counterexample/);
});

test.skipIf(!hasChromium('the report'))('headless Chromium renders the verdict table (screenshot + page text)', async () => {
  await withPage(path.join(dir, 'index.html'), { width: 1280, height: 900 }, async (page, network) => {
    const shot = await page.screenshot({ path: path.join(dir, 'report.png'), fullPage: false });
    assert.ok(shot.length > 10_000, 'screenshot has content');
    assert.match((await page.locator('#verdict').textContent()) ?? '', /FAIL/);
    const table = (await page.locator('#verdicts').textContent()) ?? '';
    assert.match(table, /USDC-3009-02/);
    assert.match(table, /ERC8004-REP-02/);
    const rows = await page.locator('#verdicts tbody tr').count();
    assert.equal(
      rows,
      report.protocols.reduce((a, p) => a + p.requirements.length, 0),
    );
    // The status filter hides passing rows.
    await page.locator('input[name=status][value=pass]').uncheck();
    assert.equal(await page.locator('#verdicts tbody tr:not(.hidden)').count(), report.summary.fail);
    assert.deepEqual(network(), [], 'the page loads nothing from the network');
  });
});
