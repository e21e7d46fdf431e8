/**
 * Trust score (spec §5.1): `0.2·age + 0.3·bond + 0.35·success_rate + 0.15·volume` with
 * `age = min(days/365, 1)`, `bond = min(log10(bond_usd)/4, 1)`, `volume = min(log10(volume_30d)/5, 1)`.
 * The spec leaves amounts below $1 (a negative logarithm) and a peer without invocations open;
 * profile.md AIM-PROF-09 clamps every factor to [0, 1] and takes success_rate 0 with no invocations.
 */
export const TRUST_WEIGHTS = { age: 0.2, bond: 0.3, success: 0.35, volume: 0.15 } as const;

export interface TrustInputs {
  hubAgeDays: number;
  bondUsd: number;
  successful: number;
  total: number;
  volumeUsd30d: number;
}

const clamp01 = (x: number) => (Number.isFinite(x) ? Math.min(Math.max(x, 0), 1) : 0);

export function trustFactors(t: TrustInputs) {
  return {
    age: clamp01(t.hubAgeDays / 365),
    bond: t.bondUsd <= 1 ? 0 : clamp01(Math.log10(t.bondUsd) / 4),
    success: t.total > 0 ? clamp01(t.successful / t.total) : 0,
    volume: t.volumeUsd30d <= 1 ? 0 : clamp01(Math.log10(t.volumeUsd30d) / 5),
  };
}

export function trustScore(t: TrustInputs): number {
  const f = trustFactors(t);
  return TRUST_WEIGHTS.age * f.age + TRUST_WEIGHTS.bond * f.bond + TRUST_WEIGHTS.success * f.success + TRUST_WEIGHTS.volume * f.volume;
}
