/**
 * Requirement register: the traceability table between a protocol's documents and its requirement
 * catalog. Every line of the protocol's sources (the seed, its section of the spec notes, the
 * profile) is covered by an entry that maps it to requirement ids, or says why it is not testable;
 * so is every route, event, view and header of its public surface. A sentence nobody mapped is a
 * guarantee nobody checks: `register.test.ts` fails on it, and the report shows the coverage.
 *
 * Sources are copies kept in the pack (`scenarios/<id>/sources/`), so line numbers are stable and
 * CI can check them on a fresh clone.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** A document the register covers (a copy inside the pack). */
export interface RegisterSource {
  /** Short id used by entries, e.g. `seed`, `spec`, `profile`. */
  id: string;
  title: string;
  /** Repository-relative path of the copy. */
  file: string;
  /** Where the copy comes from (file in shared/, URL, section). */
  origin: string;
  /** The lines of the file the register must cover (1-based, inclusive); default: all. */
  lines?: [number, number];
}

/** Lines of a source mapped to requirements, or set aside with a reason. */
export interface RegisterEntry {
  source: string;
  /** 1-based, inclusive. */
  lines: [number, number];
  /** Words that must occur in those lines (whitespace-insensitive): keeps an entry pinned to its text. */
  quote: string;
  requirements?: string[];
  /** Why these lines need no check (prose, marketing, an example, a duplicate in another language...). */
  notTestable?: string;
}

/** One element of the protocol's public surface. */
export interface SurfaceEntry {
  kind: 'route' | 'event' | 'view' | 'function' | 'header' | 'message' | 'field';
  name: string;
  requirements?: string[];
  notTestable?: string;
}

export interface Register {
  sources: RegisterSource[];
  entries: RegisterEntry[];
  surface: SurfaceEntry[];
}

/** Coverage figures for the report. */
export interface RegisterCoverage {
  entries: number;
  mapped: number;
  notTestable: number;
  lines: { covered: number; total: number };
  surface: { total: number; mapped: number; notTestable: number };
  /** Requirements of the catalog no entry traces to a source. */
  untraced: string[];
  /** Everything wrong with the register (empty when it is complete and consistent). */
  problems: string[];
}

export function defineRegister(r: Register): Register {
  return r;
}

const squash = (s: string) => s.replace(/\s+/g, ' ').trim().toLowerCase();

/** Check a register against its sources and the catalog; `root` is the repository root. */
export function checkRegister(r: Register, requirementIds: readonly string[], root: string): RegisterCoverage {
  const problems: string[] = [];
  const known = new Set(requirementIds);
  const traced = new Set<string>();
  let coveredTotal = 0;
  let linesTotal = 0;
  const mapsTo = (what: string, reqs: string[] | undefined, notTestable: string | undefined) => {
    if (reqs?.length && notTestable) problems.push(`${what}: maps to requirements and is marked not testable; choose one`);
    if (!reqs?.length && !notTestable?.trim()) problems.push(`${what}: maps to nothing (give requirement ids, or notTestable with the reason)`);
    for (const id of reqs ?? []) {
      if (!known.has(id)) problems.push(`${what}: unknown requirement ${id}`);
      traced.add(id);
    }
  };
  for (const src of r.sources) {
    let text: string;
    try {
      text = readFileSync(path.join(root, src.file), 'utf8');
    } catch (e) {
      problems.push(`source ${src.id}: cannot read ${src.file} (${(e as Error).message})`);
      continue;
    }
    const lines = text.split('\n');
    const [from, to] = src.lines ?? [1, lines.length];
    const covered = new Set<number>();
    for (const [i, e] of r.entries.entries()) {
      if (e.source !== src.id) continue;
      const what = `${src.id}:${e.lines[0]}-${e.lines[1]} (entry ${i})`;
      if (e.lines[0] < from || e.lines[1] > to || e.lines[0] > e.lines[1]) problems.push(`${what}: lines outside ${src.id}'s range ${from}-${to}`);
      const body = lines.slice(e.lines[0] - 1, e.lines[1]).join('\n');
      if (!squash(body).includes(squash(e.quote))) problems.push(`${what}: quote "${e.quote.slice(0, 60)}" is not in those lines (the source changed, or the range is wrong)`);
      mapsTo(what, e.requirements, e.notTestable);
      for (let n = e.lines[0]; n <= e.lines[1]; n++) covered.add(n);
    }
    const gaps: number[] = [];
    for (let n = from; n <= to; n++) {
      if (!lines[n - 1]?.trim()) continue;
      linesTotal++;
      if (covered.has(n)) coveredTotal++;
      else gaps.push(n);
    }
    if (gaps.length) problems.push(`source ${src.id}: ${gaps.length} non-blank lines no entry covers: ${ranges(gaps)}`);
  }
  for (const e of r.entries) if (!r.sources.some((s) => s.id === e.source)) problems.push(`entry for unknown source '${e.source}'`);
  for (const s of r.surface) mapsTo(`${s.kind} ${s.name}`, s.requirements, s.notTestable);
  const untraced = requirementIds.filter((id) => !traced.has(id));
  for (const id of untraced) problems.push(`requirement ${id} is traced to no source line or surface element`);
  return {
    entries: r.entries.length,
    mapped: r.entries.filter((e) => e.requirements?.length).length,
    notTestable: r.entries.filter((e) => !e.requirements?.length).length,
    lines: { covered: coveredTotal, total: linesTotal },
    surface: { total: r.surface.length, mapped: r.surface.filter((s) => s.requirements?.length).length, notTestable: r.surface.filter((s) => !s.requirements?.length).length },
    untraced,
    problems,
  };
}

/** `[3,4,5,9]` → "3-5, 9". */
function ranges(ns: number[]): string {
  const out: string[] = [];
  let start = ns[0]!;
  let prev = start;
  for (const n of [...ns.slice(1), Number.NaN]) {
    if (n === prev + 1) {
      prev = n;
      continue;
    }
    out.push(start === prev ? `${start}` : `${start}-${prev}`);
    start = n;
    prev = n;
  }
  return out.slice(0, 20).join(', ') + (out.length > 20 ? `, … (${out.length - 20} more ranges)` : '');
}
