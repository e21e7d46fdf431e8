/**
 * Re-pin the mutation-equivalents registers after their servers' files changed:
 *
 *   npx tsx harness/scripts/mutation-repin.ts --base REV [--protocol ID]... [--check]
 *
 * Every entry pinned to a line of a file that differs between REV and the working tree moves with
 * its line (harness/scripts/mutation/config.ts `repinEquivalents`); an entry whose line was edited
 * is placed by its `original` text when that is on exactly one line, else reported for a person to
 * place. Only entries the register at REV holds on the same line move: one added since REV, or
 * already moved by an earlier run against REV, is pinned to the working tree already (so running it
 * twice moves nothing twice). `--check` changes nothing and exits 1 when an entry would move or is lost.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../chain/paths.ts';
import { type Equivalent, equivalentsPath, loadEquivalents, parseEquivalents, repinEquivalents } from './mutation/config.ts';

const { values } = parseArgs({ options: { base: { type: 'string' }, protocol: { type: 'string', multiple: true }, check: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
if (values.help || !values.base) {
  process.stdout.write('usage: npx tsx harness/scripts/mutation-repin.ts --base REV [--protocol ID]... [--check]\n');
  process.exit(values.help ? 0 : 2);
}
const base = values.base;
const protocols = values.protocol ?? readdirSync(path.join(REPO_ROOT, 'reference-impl')).filter((id) => existsSync(equivalentsPath(id)));
const show = (file: string): string | undefined => {
  try {
    return execFileSync('git', ['show', `${base}:${file}`], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
  } catch {
    return undefined;
  }
};
/** An entry's identity apart from its line. */
const entryKey = (e: Equivalent) => JSON.stringify([e.file, e.mutator, String(e.replacement), String(e.original ?? ''), e.reason]);
let changed = 0;
let lost = 0;
for (const id of protocols) {
  const file = equivalentsPath(id);
  if (!existsSync(file)) {
    process.stderr.write(`${id}: no register at ${path.relative(REPO_ROOT, file)}\n`);
    process.exit(2);
  }
  const entries = loadEquivalents(file);
  const before = new Map<string, string>();
  const after = new Map<string, string>();
  for (const f of new Set(entries.map((e) => e.file))) {
    const old = show(f);
    const abs = path.join(REPO_ROOT, f);
    if (old !== undefined && existsSync(abs)) {
      before.set(f, old);
      after.set(f, readFileSync(abs, 'utf8'));
    }
  }
  // The register as it was at REV: only its entries, on their lines of then, are pinned to REV's files.
  const baseText = show(path.relative(REPO_ROOT, file));
  const atBase = new Map<string, number[]>();
  for (const e of baseText === undefined ? entries : parseEquivalents(JSON.parse(baseText), `${base}:${path.relative(REPO_ROOT, file)}`)) {
    const k = entryKey(e);
    atBase.set(k, [...(atBase.get(k) ?? []), e.line ?? 0]);
  }
  const r = repinEquivalents(entries, before, after, (e) => atBase.get(entryKey(e))?.includes(e.line ?? 0) ?? false);
  for (const m of r.moved) {
    if ('lost' in m) {
      lost++;
      process.stdout.write(`${id}: LOST ${m.entry.file}:${m.from} ${m.entry.mutator} ${m.entry.replacement}: ${m.lost}\n`);
    } else {
      changed++;
      process.stdout.write(`${id}: ${m.entry.file}:${m.from} → ${m.to} ${m.entry.mutator}\n`);
    }
  }
  if (!values.check && r.moved.some((m) => !('lost' in m))) {
    // Only the line numbers change: the file keeps its entries' fields and order as written.
    const json = JSON.parse(readFileSync(file, 'utf8')) as { equivalents: { line?: number }[] };
    r.entries.forEach((e, i) => {
      if (e.line !== undefined) json.equivalents[i]!.line = e.line;
    });
    writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  }
}
process.stdout.write(`${changed} entr${changed === 1 ? 'y' : 'ies'} ${values.check ? 'would move' : 'moved'}, ${lost} lost\n`);
process.exit(values.check && changed + lost > 0 ? 1 : lost > 0 ? 1 : 0);
