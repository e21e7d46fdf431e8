/**
 * Merge the reports of the shards of one run (`amh run --shard i/N`, `amh report --merge`) into the
 * report the unsharded run would have written.
 *
 * Shards split the selected cases (scenarios), not the runs of a scenario: fast-check draws every
 * run of a scenario from one generator seeded by the run seed and the case id, and stops and shrinks
 * at the first failure, so a scenario split across machines would not find the same counterexample.
 * Whole scenarios keep their seed wherever they run; each requirement's verdict is then recomputed
 * from the merged scenario reports by the runner's own {@link deriveRequirement}, and its evidence is
 * taken from the shard that ran the scenario it comes from.
 */
import { deriveRequirement, exitCodeFor, summarize } from '../engine/runner.ts';
import { shardSetProblem } from '../util/shard.ts';
import type { ProtocolReport, Report, RequirementReport, ScenarioReport } from './types.ts';

/** A shard set that cannot be merged (missing, duplicate or mismatched shards). */
export class MergeError extends Error {
  override name = 'MergeError';
}

export interface ShardInput {
  /** Where the report came from (for messages). */
  file: string;
  report: Report;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Check that the inputs are exactly the shards 1..N of one run; throws MergeError naming the problem. */
export function checkShards(inputs: readonly ShardInput[]): void {
  if (inputs.length === 0) throw new MergeError('nothing to merge: give the report of every shard');
  const notShard = inputs.filter((x) => !x.report.shard);
  if (notShard.length)
    throw new MergeError(`${notShard.map((x) => x.file).join(', ')} ${notShard.length === 1 ? 'is not a shard report' : 'are not shard reports'} (written by amh run/certify --shard i/N)`);
  const first = inputs[0]!;
  const s0 = first.report.shard!;
  for (const x of inputs.slice(1)) {
    const r = x.report;
    const diffs: string[] = [];
    if (r.shard!.total !== s0.total) diffs.push(`it is one of ${r.shard!.total} shards, ${first.file} one of ${s0.total}`);
    if (r.seed !== first.report.seed) diffs.push(`seed ${r.seed} vs ${first.report.seed}`);
    if (r.runs !== first.report.runs) diffs.push(`--runs ${r.runs} vs ${first.report.runs}`);
    if (r.command !== first.report.command) diffs.push(`command ${r.command} vs ${first.report.command}`);
    if ((r.grep ?? '') !== (first.report.grep ?? '')) diffs.push(`--grep '${r.grep ?? ''}' vs '${first.report.grep ?? ''}'`);
    if ((r.profile?.hash ?? 'defaults') !== (first.report.profile?.hash ?? 'defaults'))
      diffs.push(`profile ${r.profile ? `'${r.profile.name}'` : 'none'} vs ${first.report.profile ? `'${first.report.profile.name}'` : 'none'}`);
    if (r.harness.version !== first.report.harness.version) diffs.push(`harness ${r.harness.version} vs ${first.report.harness.version}`);
    if (r.target.name !== first.report.target.name || r.target.kind !== first.report.target.kind) diffs.push(`target '${r.target.name}' vs '${first.report.target.name}'`);
    if (!same(r.shard!.cases, s0.cases) || !same(r.shard!.protocols, s0.protocols)) diffs.push('a different selection of protocols or cases');
    if (diffs.length) throw new MergeError(`${x.file} is not a shard of the same run as ${first.file}: ${diffs.join('; ')}`);
  }
  const problem = shardSetProblem(
    inputs.map((x) => ({ file: x.file, shard: x.report.shard!, items: x.report.shard!.cases, got: x.report.protocols.flatMap((p) => p.scenarios.map((s) => s.caseId)) })),
    'cases',
    'was it edited or written by another harness version?',
  );
  if (problem) throw new MergeError(problem);
}

/**
 * Merge the shard reports of one run. `replayCommand` (e.g. "amh replay out/report.json") replaces
 * the shards' replay hints so they point at the merged report.
 */
export function mergeShards(inputs: readonly ShardInput[], o: { replayCommand?: string } = {}): Report {
  checkShards(inputs);
  const shards = [...inputs].sort((a, b) => a.report.shard!.index - b.report.shard!.index);
  const info = shards[0]!.report.shard!;
  const order = new Map(info.cases.map((c, k) => [c, k]));
  const protocols: ProtocolReport[] = info.protocols.map(({ id, requirements: ids }) => {
    const parts = shards.map((s) => ({ shard: s, p: s.report.protocols.find((x) => x.id === id) })).filter((x) => x.p);
    const head = parts[0]?.p;
    const scenarios: ScenarioReport[] = parts
      .flatMap((x) => x.p!.scenarios)
      .sort((a, b) => (order.get(a.caseId) ?? 0) - (order.get(b.caseId) ?? 0))
      .map((sc) => (sc.replay && o.replayCommand ? { ...sc, replay: `${o.replayCommand} --case ${sc.caseId}` } : sc));
    const requirements: RequirementReport[] = [];
    for (const rid of ids) {
      const seen = parts.map((x) => ({ shard: x.shard, q: x.p!.requirements.find((q) => q.id === rid) })).filter((x) => x.q);
      if (seen.length === 0) continue; // none of its scenarios was selected: the unsharded run leaves it out too
      const q0 = seen[0]!.q!;
      const covering = scenarios.filter((sc) => sc.requirements.includes(rid));
      const d = deriveRequirement(q0, covering, q0.status !== 'uncovered');
      if (!d) continue;
      // The shard that ran the scenario the evidence comes from reached the same pick (it is the
      // first such scenario in that shard too), so its evidence is the unsharded run's.
      const from = d.pick ? seen.find((x) => x.q!.scenarios.includes(d.pick!.caseId)) : undefined;
      const { status: _s, reason: _r, checks: _c, scenarios: _sc, evidence: _e, ...catalog } = q0;
      requirements.push({ ...catalog, checks: d.checks, scenarios: d.scenarios, status: d.status, ...(d.reason ? { reason: d.reason } : {}), evidence: from?.q?.evidence ?? [] });
    }
    return {
      id,
      title: head?.title ?? id,
      ...(head?.revision ? { revision: head.revision } : {}),
      ...(head?.register ? { register: head.register } : {}),
      requirements,
      scenarios,
    };
  });
  const errors = [...new Set(shards.flatMap((s) => s.report.errors))];
  const summary = summarize(protocols);
  if (info.cases.length > 0 && summary.checks === 0) {
    const reasons = [...new Set(protocols.flatMap((p) => p.scenarios.map((s) => s.reason)).filter(Boolean))].slice(0, 5);
    errors.push(`no check executed: a run that checks nothing certifies nothing (${reasons.join('; ') || 'no scenario ran'})`);
  }
  const starts = shards.map((s) => Date.parse(s.report.startedAt));
  const ends = shards.map((s) => Date.parse(s.report.startedAt) + s.report.durationMs);
  const r0 = shards[0]!.report;
  return {
    schemaVersion: r0.schemaVersion,
    harness: r0.harness,
    command: r0.command,
    target: r0.target,
    seed: r0.seed,
    runs: r0.runs,
    startedAt: new Date(Math.min(...starts)).toISOString(),
    // Wall-clock span from the first shard's start to the last shard's end.
    durationMs: Math.max(0, Math.max(...ends) - Math.min(...starts)),
    exitCode: exitCodeFor(protocols, summary, errors),
    summary,
    errors,
    protocols,
    ...(r0.grep ? { grep: r0.grep } : {}),
    ...(r0.profile !== undefined ? { profile: r0.profile } : {}),
    merged: { shards: info.total },
  };
}
