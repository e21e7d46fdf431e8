/** `amh badge BUNDLE -o badge.svg`: an SVG badge from a verified verdict bundle. */
import { writeFile } from 'node:fs/promises';
import { renderBadge } from '../../report/badge.ts';
import { readBundle, verifyBundle } from '../../report/bundle.ts';
import { InputError, UsageError, guard, parse } from './_shared.ts';

export const summary = 'draw an SVG badge (verdict, counts, date) from a verified verdict bundle';

export const help = `Usage: amh badge BUNDLE [-o badge.svg] [--public-key HEX]

Verifies BUNDLE (as amh verify does; an invalid bundle gets no badge) and writes a shields.io-style
SVG: "amh <protocols> | pass 13/13 · 2026-12-01" (green), "fail 2/13 · ..." (red), "pass (N
accepted) ..." under a baseline, or "error". The bundle's hash and signer are embedded in the SVG so
a reader can find and verify the bundle; link the badge to the bundle.

Options:
  -o, --out FILE     write the SVG to FILE (default: standard output)
  --public-key HEX   require this signer
  -h, --help         this help

Exit codes: 0 written · 1 the bundle does not verify · 2 unreadable or not a bundle.
`;

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals } = parse(argv, { out: { type: 'string', short: 'o' }, 'public-key': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, true);
    if (values.help) {
      process.stdout.write(help);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('badge needs exactly one BUNDLE (see amh badge --help)');
    const b = await readBundle(positionals[0]!);
    const v = verifyBundle(b, values['public-key']);
    if (!v.ok) {
      process.stderr.write(`amh: no badge: the bundle does not verify\n${v.problems.map((x) => `  - ${x}`).join('\n')}\n`);
      return 1;
    }
    const svg = renderBadge(b);
    if (values.out) {
      await writeFile(values.out, svg).catch((e: Error) => {
        throw new InputError(`cannot write ${values.out}: ${e.message}`);
      });
      process.stderr.write(`wrote ${values.out}\n`);
    } else process.stdout.write(svg);
    return 0;
  });
}
