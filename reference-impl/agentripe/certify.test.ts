/**
 * `amh certify --protocol agentripe` against Agentripe servers started as separate processes
 * (reference-impl/agentripe/serve.ts) and described only by a target file: the healthy reference
 * passes (exit 0), and each deliberately broken variant makes certify exit 1 naming the requirement
 * it violates. One anvil serves every variant, one after the other.
 */
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { serveProcessLab } from '../../harness/testing/serve-process.ts';
import { freeFixedPort, freePort } from '../../harness/util/net.ts';

const lab = serveProcessLab('agentripe', 'base-sepolia');
/** What serve.ts's target file grants only with --rpc-faults-listen (chains[].serverRpc, the server's RPC through the harness's proxy): without it the RPC-side requirements are not-applicable, with the reason. */
const WITHOUT_RPC_FAULTS = [
  "AGR-FLT-03: not-applicable target lacks capability 'rpc-faults'",
  "AGR-FLT-04: not-applicable target lacks capability 'restart', 'rpc-faults'",
  "AGR-FLT-05: not-applicable target lacks capability 'rpc-faults', 'restart'",
];

/** Requirements not passed, but AGR-RST-01 when it is not-applicable for want of a restart control (checked apart, below). */
function notPassedBut(reqs: { id: string; status: string; reason?: string }[], restartable = false): string[] {
  const rst = reqs.find((q) => q.id === 'AGR-RST-01');
  if (!restartable) assert.match(`${rst?.status} ${rst?.reason}`, /^not-applicable .*'restart'/, 'without --restartable the crash requirement is not-applicable');
  return reqs.filter((q) => q.status !== 'pass' && !(q.id === 'AGR-RST-01' && !restartable)).map((q) => `${q.id}: ${q.status} ${q.reason ?? ''}`);
}
const serve = lab.serve;
const REVIEW_REQUIREMENTS = ['AGR-REV-01', 'AGR-REV-02', 'AGR-REV-03'];
const certify = lab.certify;

test('the reference Agentripe server in its own process passes certify through its target file alone', { timeout: 240_000 }, async () => {
  const s = await serve('healthy', []);
  try {
    const out = path.join(lab.dir, 'healthy');
    const r = await certify(s.targetFile, out, ['--runs', '3']);
    assert.equal(r.code, 0, `certify exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    const agr = lab.reportOf(out);
    const notPassed = notPassedBut(agr.requirements);
    assert.deepEqual(notPassed, WITHOUT_RPC_FAULTS, 'every agentripe requirement passes on the healthy server (but the RPC-side ones, which this target file does not grant)');
  } finally {
    await s.stop();
  }
});

test('an LLM reviewer pointed at the harness fixture reviewer (served by certify) certifies green', { timeout: 240_000 }, async () => {
  const listen = `127.0.0.1:${await freePort()}`;
  const s = await serve('llm-fixture', ['--review', 'llm', '--review-fixture-listen', listen]);
  try {
    const out = path.join(lab.dir, 'llm-fixture');
    // Only the review scenarios: the rest of the server is the healthy one certified above (CI time).
    const r = await certify(s.targetFile, out, ['--runs', '3', '--grep', 'AGR-REV']);
    assert.equal(r.code, 0, `certify exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    const agr = lab.reportOf(out);
    for (const id of REVIEW_REQUIREMENTS) {
      const q = agr.requirements.find((x) => x.id === id);
      assert.equal(q?.status, 'pass', `${id} is checked through the fixture reviewer and passes: ${q?.status} ${q?.reason ?? ''}`);
    }
  } finally {
    await s.stop();
  }
});

test('an unknown AI reviewer (no fixture, no capability): review requirements are not-applicable, certify does not exit 1', { timeout: 240_000 }, async () => {
  const s = await serve('llm-unknown', ['--review', 'llm', '--review-endpoint', `http://127.0.0.1:${await freePort()}/v1`]);
  try {
    const out = path.join(lab.dir, 'llm-unknown');
    // The review scenarios and the plain paid lifecycle, which needs no reviewer (CI time: not the full run).
    const r = await certify(s.targetFile, out, ['--runs', '3', '--grep', 'AGR-REV|paid-task-approved']);
    assert.equal(r.code, 0, `certify exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    const agr = lab.reportOf(out);
    for (const id of REVIEW_REQUIREMENTS) {
      const q = agr.requirements.find((x) => x.id === id)!;
      assert.equal(q.status, 'not-applicable', `${id}: ${q.status} ${q.reason ?? ''}`);
      assert.match(q.reason ?? '', /agentripe:review-fixture/);
    }
    const others = agr.requirements.filter((q) => !q.id.startsWith('AGR-REV-'));
    assert.ok(
      others.some((q) => q.status === 'pass'),
      'the lifecycle that needs no reviewer is still certified',
    );
    // Others checked only by the selected review scenarios are not-applicable for the same reason; none fails.
    assert.deepEqual(
      others.filter((q) => q.status !== 'pass' && !(q.status === 'not-applicable' && /agentripe:review-fixture/.test(q.reason ?? ''))).map((q) => `${q.id}: ${q.status} ${q.reason ?? ''}`),
      [],
      'what does not depend on the reviewer still passes',
    );
  } finally {
    await s.stop();
  }
});

test('serve.ts --restartable: the target file carries a restart command; certify crashes the server at every step and AGR-RST-01 passes', { timeout: 900_000 }, async () => {
  const s = await serve('restartable', ['--restartable']);
  try {
    const file = JSON.parse(readFileSync(s.targetFile, 'utf8')) as { capabilities: string[]; restart?: Record<string, { command: string }> };
    assert.ok(file.capabilities.includes('restart'));
    assert.match(file.restart?.agentripe?.command ?? '', /kill -KILL/, 'the restart control is a SIGKILL, not a graceful stop');
    const out = path.join(lab.dir, 'restartable');
    const r = await certify(s.targetFile, out, ['--runs', '1', '--grep', 'AGR-RST-01']);
    assert.equal(r.code, 0, `certify exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    const q = lab.reportOf(out).requirements.find((x) => x.id === 'AGR-RST-01')!;
    assert.equal(q.status, 'pass', `${q.status} ${q.reason ?? ''}`);
  } finally {
    await s.stop();
  }
});

test('serve.ts --restartable with its tasks in memory: certify exits 1 naming AGR-RST-01', { timeout: 900_000 }, async () => {
  const s = await serve('restartable-in-memory', ['--restartable', '--fault', 'inMemoryState']);
  try {
    const out = path.join(lab.dir, 'restartable-in-memory');
    const r = await certify(s.targetFile, out, ['--runs', '1', '--grep', 'restart-every-step']);
    assert.equal(r.code, 1, `certify exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /FAIL AGR-RST-01\b/);
  } finally {
    await s.stop();
  }
});

/** The requirements only a server behind the harness's RPC fault proxy can be checked for, and the scenarios that check them. */
const RPC_SIDE = ['AGR-FLT-03', 'AGR-FLT-04', 'AGR-FLT-05', 'AGR-ORG-02'];
const RPC_SIDE_GREP = RPC_SIDE.join('|');

test('serve.ts --rpc-faults-listen: its servers start once certify serves the RPC fault proxy, and AGR-FLT-03 (the facilitator behind it) passes', { timeout: 300_000 }, async () => {
  const listen = `127.0.0.1:${await freeFixedPort()}`;
  const s = await serve('rpc-faults', ['--rpc-faults-listen', listen]);
  try {
    const file = JSON.parse(readFileSync(s.targetFile, 'utf8')) as { capabilities: string[]; chains: { serverRpc?: { listen: string; waitSeconds: number } }[] };
    assert.ok(file.capabilities.includes('rpc-faults'));
    assert.equal(file.chains[0]!.serverRpc?.listen, listen);
    assert.ok((file.chains[0]!.serverRpc?.waitSeconds ?? 0) > 0, 'certify waits for servers that start behind its proxy');
    const out = path.join(lab.dir, 'rpc-faults');
    const r = await certify(s.targetFile, out, ['--runs', '1', '--grep', 'AGR-FLT-03']);
    assert.equal(r.code, 0, `certify exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    const q = lab.reportOf(out).requirements.find((x) => x.id === 'AGR-FLT-03')!;
    assert.equal(q.status, 'pass', `${q.status} ${q.reason ?? ''}`);
  } finally {
    await s.stop();
  }
});

test('serve.ts --restartable --rpc-faults-listen: every RPC-side requirement passes (AGR-FLT-03/04/05, AGR-ORG-02); a server that reads an outage as a denial fails AGR-FLT-05', {
  timeout: 600_000,
}, async () => {
  for (const [name, args, code] of [
    ['rpc-faults-restartable', [], 0],
    ['rpc-faults-outage-as-denial', ['--fault', 'outageAsDenial'], 1],
  ] as const) {
    const listen = `127.0.0.1:${await freeFixedPort()}`;
    const s = await serve(name, ['--restartable', '--rpc-faults-listen', listen, ...args]);
    try {
      const out = path.join(lab.dir, name);
      const r = await certify(s.targetFile, out, ['--runs', '1', '--grep', RPC_SIDE_GREP]);
      assert.equal(r.code, code, `${name}: certify exit ${r.code}\n${r.stdout}\n${r.stderr}`);
      const statuses = lab
        .reportOf(out)
        .requirements.filter((q) => RPC_SIDE.includes(q.id))
        .map((q) => `${q.id}: ${q.status}`);
      assert.deepEqual(
        statuses,
        RPC_SIDE.map((id) => `${id}: ${code === 1 && id === 'AGR-FLT-05' ? 'fail' : 'pass'}`),
        name,
      );
    } finally {
      await s.stop();
    }
  }
});

/**
 * Broken variants: serve.ts flags, the scenario that exposes it, the requirement it must name. One
 * per kind of flag (a fault switch, the review limit, the auth window): every fault switch has its
 * in-process kill test in kills.ts; these show the flags reach a server certified through its file.
 */
const VARIANTS: { name: string; args: string[]; grep: string; requirement: string; runs: number }[] = [
  { name: 'amount off by one unit', args: ['--fault', 'amountOffByOne'], grep: 'paid-task-approved', requirement: 'AGR-PAY-01', runs: 3 },
  { name: 'a sixth rejection allowed', args: ['--review-limit', '6'], grep: 'fifth-rejection', requirement: 'AGR-REV-03', runs: 2 },
  { name: 'no timestamp window', args: ['--auth-window', '1000000000'], grep: 'vendor-signature-auth', requirement: 'AGR-AUTH-02', runs: 8 },
];

for (const v of VARIANTS) {
  test(`broken variant "${v.name}" makes certify exit 1 naming ${v.requirement}`, { timeout: 180_000 }, async () => {
    const s = await serve(v.name.replace(/\W+/g, '-'), v.args);
    try {
      const out = path.join(lab.dir, v.name.replace(/\W+/g, '-'));
      const r = await certify(s.targetFile, out, ['--runs', String(v.runs), '--grep', v.grep]);
      assert.equal(r.code, 1, `certify exit ${r.code}\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, new RegExp(`FAIL ${v.requirement}\\b`), `the summary names ${v.requirement}:\n${r.stdout}`);
      const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as { protocols: { id: string; requirements: { id: string; status: string }[] }[] };
      const q = report.protocols.find((p) => p.id === 'agentripe')!.requirements.find((x) => x.id === v.requirement);
      assert.equal(q?.status, 'fail');
    } finally {
      await s.stop();
    }
  });
}
