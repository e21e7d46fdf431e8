/** Test support for what-if profiles: which requirements depend on a constant, and what `amh diff --markdown` lists for them. */

/** The ids of `reqs` that declare a dependency on one of `constants` (a report's `constants` per requirement), sorted. */
export function dependingOn(reqs: readonly { id: string; constants?: Record<string, unknown> }[], constants: readonly string[]): string[] {
  return reqs
    .filter((q) => Object.keys(q.constants ?? {}).some((k) => constants.includes(k)))
    .map((q) => q.id)
    .sort();
}

/** The "Depend on a constant A and B set differently" section of an `amh diff --markdown`. */
export function changedConstantsSection(diffMarkdown: string): string {
  return diffMarkdown.split('### Depend on a constant A and B set differently')[1]?.split('###')[0] ?? '';
}

/** The requirement ids of `protocol` listed as depending on a constant the two reports set differently, sorted. */
export function dependingOnChangedConstants(diffMarkdown: string, protocol: string): string[] {
  return [...changedConstantsSection(diffMarkdown).matchAll(new RegExp(`\`${protocol}/([A-Z0-9-]+)\``, 'g'))].map((m) => m[1]!).sort();
}
