/**
 * A sweep's worker process (harness/sim/sweep.ts starts a pool of them): carries out one run of
 * the sweep per request (its files written to the job's folder) and answers with what sweep.json
 * keeps of it, so the parent need not read the run's metrics back from disk.
 */
import workerpool from 'workerpool';
import { runSimulation } from './run.ts';
import { keyMetrics, type SweepJob, type SweepRun } from './sweep.ts';

workerpool.worker({
  async run(job: SweepJob): Promise<Omit<SweepRun, 'seed' | 'dir'>> {
    const { metrics: m } = await runSimulation(job);
    return { conserved: m.conservation.ok, violations: m.conservation.violations.length, metrics: keyMetrics(m) };
  },
});
