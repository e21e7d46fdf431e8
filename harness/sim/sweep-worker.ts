/**
 * A sweep's worker process (harness/sim/sweep.ts starts a pool of them): carries out one run of
 * the sweep per request and answers with its exit code; the run's files are its result.
 */
import workerpool from 'workerpool';
import { runSimulation } from './run.ts';
import type { SweepJob } from './sweep.ts';

workerpool.worker({
  async run(job: SweepJob): Promise<number> {
    return (await runSimulation(job)).exitCode;
  },
});
