/** Test support for what-if profiles: what `amh diff --markdown` lists under "Depend on a constant". */

/** The requirement ids of `protocol` listed as depending on a constant the two reports set differently. */
export function dependingOnChangedConstants(diffMarkdown: string, protocol: string): string[] {
  const section = diffMarkdown.split('### Depend on a constant A and B set differently')[1]?.split('###')[0] ?? '';
  return [...section.matchAll(new RegExp(`\`${protocol}/([A-Z0-9-]+)\``, 'g'))].map((m) => m[1]!).sort();
}
