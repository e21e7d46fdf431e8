/**
 * Writes contracts/test/aps1/Aps1FeeVectors.sol: the forge tests' expected numbers, computed by the
 * pure TypeScript functions the model and the scenarios use (protocol/fees.ts, protocol/reputation.ts),
 * so the contracts, the model and the oracle share one definition of the fee, penalty, rounding and
 * score rules (DESIGN rule 1). `--check` exits 1 when the committed file is out of date (a vitest
 * test runs it: gen-vectors.test.ts).
 *
 *   npx tsx reference-impl/aps1/gen-vectors.ts [--check]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arbitrationPenalty, disputeBond, penaltyCap, platformFee, settleJob, settleMilestone, type JobEnd } from './protocol/fees.ts';
import { APS1_PROFILE } from './protocol/profile.ts';
import { reputationScore, reputationTier, REPUTATION_FIELDS, type ReputationInputs } from './protocol/reputation.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const VECTORS_FILE = path.join(ROOT, 'contracts', 'test', 'aps1', 'Aps1FeeVectors.sol');

/** Budgets at the rounding and cap boundaries (6-decimal token): 12→fee 0, 13→1; 33→penalty 0, 34→1; cap 10 tokens binds above 333.333333. */
export const JOB_BUDGETS = [
  1n,
  12n,
  13n,
  33n,
  34n,
  99n,
  100n,
  125n,
  1_000_000n,
  4_999_999n,
  5_000_000n,
  333_333_333n,
  333_333_334n,
  333_333_367n,
  1_000_000_000n,
  1_000_000_000_000n,
  2n ** 64n,
  10n ** 24n,
  2n ** 200n,
];
export const MILESTONE_AMOUNTS = [1n, 12n, 13n, 100n, 125n, 1_000_000n, 999_999_999n, 2n ** 100n];

const FEE = APS1_PROFILE.platformFeeBps;
const CAP18 = APS1_PROFILE.maxArbitrationPenaltyTokens * 10n ** 18n;

interface JobVector {
  budget: bigint;
  end: JobEnd;
  disputed: boolean;
  compat: boolean;
  fee: bigint;
  bond: bigint;
  toWorker: bigint;
  toEmployer: bigint;
  toFees: bigint;
}

/** Every (budget, ending, disputed, profile) case of a 6-decimal token. */
export function jobVectors(): JobVector[] {
  const out: JobVector[] = [];
  for (const budget of JOB_BUDGETS)
    for (const compat of [false, true])
      for (const end of ['settle', 'refund', 'timeout'] as JobEnd[])
        for (const disputed of [false, true]) {
          // A disputed job times out only where timeouts ignore delivery (compat).
          if (end === 'timeout' && disputed && !compat) continue;
          const rates = { penaltyBps: APS1_PROFILE.arbitrationPenaltyBps, cap18: CAP18, decimals: 6, capIn18Decimals: compat };
          const fee = platformFee(budget, FEE);
          const bond = disputed ? disputeBond(budget, rates, compat) : 0n;
          const s = settleJob({ end, budget, fee, disputed, bond, penaltyFromWinner: compat, penaltyNow: arbitrationPenalty(budget, rates) });
          if (s.toWorker + s.toEmployer + s.toFees !== budget + bond) throw new Error(`fees.ts does not conserve at ${budget} ${end}`);
          out.push({ budget, end, disputed, compat, fee, bond, toWorker: s.toWorker, toEmployer: s.toEmployer, toFees: s.toFees });
        }
  return out;
}

/** Penalty caps in token units for several decimals. */
export function capVectors(): { decimals: number; capIn18: boolean; cap: bigint }[] {
  return [0, 2, 6, 8, 18, 24].flatMap((decimals) => [false, true].map((capIn18) => ({ decimals, capIn18, cap: penaltyCap(CAP18, decimals, capIn18) })));
}

/** A small deterministic PRNG (xorshift32) so the vectors never change between runs. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const rep = (o: Partial<Record<keyof ReputationInputs, bigint>>): ReputationInputs => Object.fromEntries(REPUTATION_FIELDS.map((k) => [k, o[k] ?? 0n])) as unknown as ReputationInputs;

/** Reputation snapshots: every tier boundary (score = threshold and threshold + 1), zero denominators, caps, and seeded random ones. */
export function reputationVectors(): { inputs: ReputationInputs; score: bigint; tier: number }[] {
  const cases: ReputationInputs[] = [
    rep({}),
    rep({ nexusRatingSum: 5n, nexusRatingCount: 1n }),
    rep({ nexusRatingSum: 5n, nexusRatingCount: 1n, jobsCompleted: 1n, jobsFailed: 2499n }),
    rep({ nexusRatingSum: 10n, nexusRatingCount: 2n, offChainRatingSum: 6n, offChainRatingCount: 1n }),
    rep({ nexusRatingSum: 5n, nexusRatingCount: 1n, offChainRatingSum: 5n, offChainRatingCount: 1n, jobsCompleted: 1n, jobsFailed: 4n }),
    rep({ nexusRatingSum: 5n, nexusRatingCount: 1n, offChainRatingSum: 5n, offChainRatingCount: 1n, jobsCompleted: 501n, jobsFailed: 1999n }),
    rep({ nexusRatingSum: 5n, nexusRatingCount: 1n, offChainRatingSum: 5n, offChainRatingCount: 1n, jobsCompleted: 7n }),
    rep({ nexusRatingSum: 5n, nexusRatingCount: 1n, offChainRatingSum: 5n, offChainRatingCount: 1n, jobsCompleted: 7n, proofVerified: 2000n, proofMatched: 1n }),
    rep({ nexusRatingSum: 5n, nexusRatingCount: 1n, offChainRatingSum: 5n, offChainRatingCount: 1n, jobsCompleted: 1n, proofVerified: 4n, proofMatched: 3n }),
    rep({ nexusRatingSum: 5n, nexusRatingCount: 1n, offChainRatingSum: 5n, offChainRatingCount: 1n, jobsCompleted: 1n, proofVerified: 2000n, proofMatched: 1501n }),
    rep({ nexusRatingSum: 5n, nexusRatingCount: 1n, offChainRatingSum: 5n, offChainRatingCount: 1n, jobsCompleted: 1n, proofVerified: 1n, proofMatched: 1n }),
    rep({ nexusRatingSum: 50n, nexusRatingCount: 1n, offChainRatingSum: 50n, offChainRatingCount: 1n, jobsCompleted: 9n, proofVerified: 1n, proofMatched: 1n }),
    rep({ proofVerified: 10n, proofMatched: 10n, proofSlashed: 9n, proofCommitments: 12n }),
    rep({ proofVerified: 10n, proofMatched: 10n, proofSlashed: 11n }),
    rep({ proofVerified: 3n, proofMatched: 0n, proofSlashed: 3n }),
    rep({ jobsFailed: 7n }),
  ];
  const r = prng(20260304);
  for (let i = 0; i < 24; i++) {
    const count = BigInt(r() % 50);
    const off = BigInt(r() % 50);
    const verified = BigInt(r() % 40);
    cases.push(
      rep({
        nexusRatingCount: count,
        nexusRatingSum: count * BigInt(1 + (r() % 5)) - (count > 0n ? BigInt(r() % 3) : 0n),
        offChainRatingCount: off,
        offChainRatingSum: off * BigInt(1 + (r() % 5)),
        jobsCompleted: BigInt(r() % 100),
        jobsFailed: BigInt(r() % 30),
        proofCommitments: verified + BigInt(r() % 5),
        proofVerified: verified,
        proofMatched: verified === 0n ? 0n : BigInt(r() % Number(verified + 1n)),
        proofSlashed: BigInt(r() % 4),
      }),
    );
  }
  return cases.map((inputs) => {
    const score = reputationScore(inputs);
    return { inputs, score, tier: reputationTier(score) };
  });
}

/** The Solidity file's text. */
export function vectorsSource(): string {
  const b = (x: boolean) => (x ? 'true' : 'false');
  const ends: Record<JobEnd, number> = { settle: 0, refund: 1, timeout: 2 };
  const jobs = jobVectors();
  const caps = capVectors();
  const ms = MILESTONE_AMOUNTS.map((a) => ({ amount: a, ...settleMilestone(a, FEE) }));
  const reps = reputationVectors();
  const lines: string[] = [];
  lines.push(
    '// SPDX-License-Identifier: MIT',
    '// GENERATED by reference-impl/aps1/gen-vectors.ts from reference-impl/aps1/protocol/fees.ts and',
    '// reputation.ts (the fee, penalty, rounding and score rules the model and the scenarios use).',
    '// Do not edit: run `npx tsx reference-impl/aps1/gen-vectors.ts`.',
    'pragma solidity ^0.8.28;',
    '',
    '/// @notice Expected APS-1 money and score figures, computed by the TypeScript reference functions.',
    'library Aps1FeeVectors {',
    '    /// @dev `end`: 0 settle, 1 refund, 2 timeout. `compat`: every NexusV2 compat switch on. 6-decimal token.',
    '    struct JobVector {',
    '        uint256 budget;',
    '        uint8 end;',
    '        bool disputed;',
    '        bool compat;',
    '        uint256 fee;',
    '        uint256 bond;',
    '        uint256 toWorker;',
    '        uint256 toEmployer;',
    '        uint256 toFees;',
    '    }',
    '',
    '    struct MilestoneVector {',
    '        uint256 amount;',
    '        uint256 toAgent;',
    '        uint256 toFees;',
    '    }',
    '',
    '    struct CapVector {',
    '        uint8 decimals;',
    '        bool capIn18;',
    '        uint256 cap;',
    '    }',
    '',
    '    struct ReputationVector {',
    '        uint256[10] inputs;',
    '        uint256 score;',
    '        uint8 tier;',
    '    }',
    '',
    `    uint256 internal constant PLATFORM_FEE_BPS = ${FEE};`,
    `    uint256 internal constant PENALTY_BPS = ${APS1_PROFILE.arbitrationPenaltyBps};`,
    `    uint256 internal constant MAX_PENALTY_TOKENS = ${APS1_PROFILE.maxArbitrationPenaltyTokens};`,
    '',
    '    function jobs() internal pure returns (JobVector[] memory v) {',
    `        v = new JobVector[](${jobs.length});`,
  );
  jobs.forEach((j, i) => lines.push(`        v[${i}] = JobVector(${j.budget}, ${ends[j.end]}, ${b(j.disputed)}, ${b(j.compat)}, ${j.fee}, ${j.bond}, ${j.toWorker}, ${j.toEmployer}, ${j.toFees});`));
  lines.push('    }', '', '    function milestones() internal pure returns (MilestoneVector[] memory v) {', `        v = new MilestoneVector[](${ms.length});`);
  ms.forEach((m, i) => lines.push(`        v[${i}] = MilestoneVector(${m.amount}, ${m.toAgent}, ${m.toFees});`));
  lines.push('    }', '', '    function caps() internal pure returns (CapVector[] memory v) {', `        v = new CapVector[](${caps.length});`);
  caps.forEach((c, i) => lines.push(`        v[${i}] = CapVector(${c.decimals}, ${b(c.capIn18)}, ${c.cap});`));
  lines.push('    }', '', '    function reputations() internal pure returns (ReputationVector[] memory v) {', `        v = new ReputationVector[](${reps.length});`);
  reps.forEach((r, i) => {
    const [first, ...rest] = REPUTATION_FIELDS.map((k) => r.inputs[k]);
    lines.push(`        v[${i}] = ReputationVector([uint256(${first}), ${rest.join(', ')}], ${r.score}, ${r.tier});`);
  });
  lines.push('    }', '}', '');
  return lines.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const text = vectorsSource();
  if (process.argv.includes('--check')) {
    let now = '';
    try {
      now = readFileSync(VECTORS_FILE, 'utf8');
    } catch {
      /* missing */
    }
    process.stdout.write(now === text ? 'Aps1FeeVectors.sol is up to date\n' : 'Aps1FeeVectors.sol is OUT OF DATE: run npx tsx reference-impl/aps1/gen-vectors.ts\n');
    process.exitCode = now === text ? 0 : 1;
  } else {
    writeFileSync(VECTORS_FILE, text);
    process.stdout.write(`wrote ${path.relative(ROOT, VECTORS_FILE)}\n`);
  }
}
