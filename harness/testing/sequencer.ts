/**
 * vitest's file order: by each file's last duration, or by file size when it has none (a fresh
 * clone, which is what CI runs). The kill suites are tiny files (each calls killSuite) that run
 * for one to two minutes each, so by size they start last and the run ends on a tail with one or
 * two workers busy. Without durations they start first; with durations vitest's own order stands.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const HEAVY = /[/\\]kills\.test\.ts$/;

export default class KillSuitesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    if (files.some((f) => this.ctx.cache.getTestSpecificationResult(f))) return sorted;
    return [...sorted.filter((f) => HEAVY.test(f.moduleId)), ...sorted.filter((f) => !HEAVY.test(f.moduleId))];
  }
}
