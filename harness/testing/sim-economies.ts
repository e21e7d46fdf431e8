/** Test support: small economies for the tests of `amh simulate` (plain data, as an economy file holds it). */

/** Agentripe and x402, every seller strategy, a few simulated hours: a report with something in every plot. */
export const SMALL_MIXED = {
  name: 'small-mixed',
  description: 'a small market for the report tests',
  seed: 5,
  durationHours: 6,
  protocols: { agentripe: 0.5, x402: 0.5 },
  profiles: { agentripe: { reclaimDelaySeconds: 7200, escrowFeeBps: 100 } },
  demand: { arrivalsPerHour: 40 },
  populations: [
    { name: 'shoppers', role: 'buyer', count: 12, choice: 'reputation', balance: '$20', budget: { dist: 'uniform', min: '$0.05', max: '$0.60' } },
    { name: 'pros', role: 'seller', strategy: 'honest', count: 3, price: { dist: 'uniform', min: '$0.10', max: '$0.40' }, costPerAttempt: '$0.02' },
    { name: 'sloppy', role: 'seller', strategy: 'sloppy', quality: 0.5, count: 2, price: '$0.10', serviceMinutes: 5 },
    { name: 'ghosts', role: 'seller', strategy: 'absent', count: 1, price: '$0.06', protocols: ['agentripe'] },
    { name: 'scammers', role: 'seller', strategy: 'malicious', count: 1, price: '$0.05', serviceMinutes: 1 },
    { name: 'fair', role: 'reviewer', strategy: 'honest', count: 1 },
  ],
};
