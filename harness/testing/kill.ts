/**
 * The kill harness: proof that every requirement of a protocol bites. A pack declares, in
 * `reference-impl/<id>/kills.ts`, how to start its implementation (correct, or with one deliberate
 * defect: a server fault switch, a mangling proxy, a broken contract) and which requirement each
 * defect must fail; its `kills.test.ts` calls {@link killSuite}. The suite checks that
 * - the control (no defect) passes every requirement of the protocol, and exits 0;
 * - each variant makes its requirement fail (exit 1), with a counterexample that lists actions (a
 *   SHOULD/MAY requirement warns instead, exit 0);
 * - every requirement of the protocol has at least one variant (the kill table is complete).
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, test } from 'vitest';
import type { ProtocolModule } from '../engine/dsl.ts';
import { runAll } from '../engine/runner.ts';
import { createTargetClients } from '../engine/session.ts';
import { loadProtocols } from '../packs/discover.ts';
import type { Profile } from '../profiles/profile.ts';
import type { Report } from '../report/types.ts';
import type { Target } from '../target/schema.ts';

/** One deliberately broken implementation and the requirement it must fail. */
export interface KillVariant<V> {
  requirement: string;
  /** What is broken, in words (the test's name). */
  defect: string;
  variant: V;
  /** Scenarios to run (regex on case id, title or requirement; default: the requirement id). */
  grep?: string;
  /** Property runs (default 10). */
  runs?: number;
}

/** A started implementation, described as a Target. */
export interface KillTarget {
  target: Target;
  stop(): Promise<void>;
}

/** A protocol's kill table. */
export interface KillSpec<V> {
  protocol: string;
  /** Shared set-up for every variant (e.g. one chain), and its teardown. */
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
  /** Start the implementation with `variant` (null: the correct implementation). */
  start(variant: V | null): Promise<KillTarget>;
  /** Property runs for the control (default 6). */
  controlRuns?: number;
  /**
   * The control leaves out the crash scenarios (capability `restart`: each run restarts a server
   * process several times, most of a control's time) when another test already certifies the same
   * reference through them: name that test here. Requirements only those scenarios check must then
   * be uncovered in the control and nothing else.
   */
  controlWithoutRestart?: string;
  variants: KillVariant<V>[];
  /** Run seed (default 7). */
  seed?: number;
}

export function defineKills<V>(k: KillSpec<V>): KillSpec<V> {
  return k;
}

/** Run a protocol's scenarios in-process against a target (one worker). */
/**
 * Certify `target` in this process. `shrink: false` reports failing properties unshrunk (faster; for
 * tests that judge verdicts only: a kill variant needs shrinking, which often reaches the requirement
 * it targets through a smaller case than the first failing run).
 */
export async function certifyInProcess(
  target: Target,
  o: { protocol: string; grep?: string; runs: number; seed: number; module?: ProtocolModule; profile?: Profile; shrink?: boolean },
): Promise<Report> {
  const protocols = await loadProtocols();
  const p = o.module ?? protocols.find((x) => x.id === o.protocol);
  if (!p) throw new Error(`unknown protocol ${o.protocol}`);
  return runAll(
    { target, targetInfo: { name: target.name, kind: 'file', capabilities: [...target.capabilities], chains: [] }, workers: [createTargetClients(target)], protocols: [p] },
    { runs: o.runs, seed: o.seed, command: 'kill-test', protocols: [o.protocol], grep: o.grep, ...(o.shrink === false ? { shrink: false } : {}), ...(o.profile ? { profile: o.profile } : {}) },
  );
}

function describeOutcome(r: Report): string {
  const p = r.protocols[0];
  return JSON.stringify(p?.scenarios.map((s) => [s.caseId, s.status, s.reason]) ?? []);
}

/** Register the kill tests of one protocol (call from the pack's kills.test.ts). */
export function killSuite<V>(spec: KillSpec<V>): void {
  const seed = spec.seed ?? 7;
  if (spec.setup) beforeAll(() => spec.setup!());
  if (spec.teardown) afterAll(() => spec.teardown!());

  test(`${spec.protocol}: every requirement has a broken implementation that must fail it`, async () => {
    const p = (await loadProtocols()).find((x) => x.id === spec.protocol)!;
    const killed = new Set(spec.variants.map((v) => v.requirement));
    assert.deepEqual(
      p.requirements.map((q) => q.id).filter((id) => !killed.has(id)),
      [],
      'requirements without a kill variant',
    );
    const unknown = spec.variants.filter((v) => !p.requirements.some((q) => q.id === v.requirement)).map((v) => v.requirement);
    assert.deepEqual(unknown, [], 'kill variants naming unknown requirements');
  });

  test(`${spec.protocol}: the correct implementation passes every requirement`, async () => {
    const t = await spec.start(null);
    try {
      const p = (await loadProtocols()).find((x) => x.id === spec.protocol)!;
      const kept = spec.controlWithoutRestart === undefined ? p.scenarios : p.scenarios.filter((sc) => !sc.capabilities?.includes('restart'));
      const left = new Set(p.requirements.map((q) => q.id).filter((id) => !kept.some((sc) => sc.requirements.includes(id))));
      const r = await certifyInProcess(t.target, { protocol: spec.protocol, runs: spec.controlRuns ?? 6, seed, module: { ...p, scenarios: kept } });
      const bad = r.protocols[0]!.requirements.filter((q) => q.status !== 'pass' && !(left.has(q.id) && q.status === 'uncovered'));
      assert.deepEqual(
        bad.map((q) => `${q.id}: ${q.status} ${q.reason ?? ''}`),
        [],
      );
      // Uncovered requirements exit 1 (issue 8): only those the left-out crash scenarios check may be.
      assert.equal(r.exitCode, p.requirements.some((q) => left.has(q.id) && q.level === 'MUST') ? 1 : 0);
    } finally {
      await t.stop();
    }
  });

  for (const v of spec.variants) {
    test(`${v.requirement} catches: ${v.defect}`, async () => {
      const t = await spec.start(v.variant);
      try {
        const r = await certifyInProcess(t.target, { protocol: spec.protocol, grep: v.grep ?? v.requirement, runs: v.runs ?? 10, seed });
        const q = r.protocols[0]!.requirements.find((x) => x.id === v.requirement);
        // A violated SHOULD/MAY requirement is reported as a warning (and does not fail the run).
        const must = q?.level === 'MUST';
        assert.equal(
          q?.status,
          must ? 'fail' : 'warn',
          `${v.requirement} should ${must ? 'fail' : 'warn'} against "${v.defect}", got ${q?.status} (${q?.reason ?? ''}); scenarios: ${describeOutcome(r)}`,
        );
        const sc = r.protocols[0]!.scenarios.find((s) => s.counterexample?.requirement === v.requirement);
        assert.ok(sc && sc.counterexample!.actions.length > 0, 'the counterexample lists agent actions (the scenario logs them with ctx.act)');
        assert.equal(r.exitCode, must ? 1 : 0);
      } finally {
        await t.stop();
      }
    });
  }
}
