/**
 * The dependency rule that keeps certification honest (DESIGN.md, "Protocol packs"): scenarios talk
 * to a Target through agents and the protocol library, never through a server. This module reads
 * the imports of every source file and lists the edges the rule forbids; dependency-rule.test.ts
 * fails on any.
 *
 * Layers, by path:
 * - `harness/chain/**`            chain: imports nothing outside harness/chain;
 * - `harness/engine/**`           engine: imports neither scenarios/ nor reference-impl/;
 * - `harness/**` (other)          harness: its runtime code imports neither scenarios/ nor
 *                                 reference-impl/ (packs are discovered by path at run time);
 *                                 its tests, harness/scripts and harness/testing may import anything;
 * - `scenarios/<id>/**`           scenarios: harness/, reference-impl/<any>/protocol/ and
 *                                 reference-impl/<any>/agents/ only; never another pack's scenarios;
 * - `reference-impl/<id>/protocol/**` protocol library: harness/ and other protocol libraries only;
 * - `reference-impl/<id>/agents/**`   agents: harness/, protocol libraries and other agents;
 * - `reference-impl/_shared/**`    the reference-server skeleton: server code (so scenarios, agents and
 *                                 protocol libraries never import it) that imports no pack;
 * - `reference-impl/**` (other)   servers: anything but scenarios/.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export type Layer = 'chain' | 'engine' | 'harness' | 'harness-tooling' | 'scenarios' | 'protocol' | 'agents' | 'server' | 'other';

/** Where a repository-relative path sits in the layering (and which pack, for scenarios and reference-impl). */
export function classify(file: string): { layer: Layer; pack?: string } {
  const p = file.split(path.sep).join('/');
  const parts = p.split('/');
  if (parts[0] === 'harness') {
    // Tests and tooling may reach anything (a fixture sync test runs the generator, a kill test a broken server).
    if (parts[1] === 'scripts' || parts[1] === 'testing' || p.endsWith('.test.ts')) return { layer: 'harness-tooling' };
    if (parts[1] === 'chain') return { layer: 'chain' };
    if (parts[1] === 'engine') return { layer: 'engine' };
    return { layer: 'harness' };
  }
  if (parts[0] === 'scenarios' && parts.length > 2) return { layer: 'scenarios', pack: parts[1] };
  if (parts[0] === 'reference-impl' && parts.length > 2) {
    if (parts[2] === 'protocol') return { layer: 'protocol', pack: parts[1] };
    if (parts[2] === 'agents') return { layer: 'agents', pack: parts[1] };
    return { layer: 'server', pack: parts[1] };
  }
  return { layer: 'other' };
}

/** The reference-server skeleton's folder under reference-impl/ (a server layer shared by every pack). */
const SHARED = '_shared';

/** Why an import from `from` to `to` is forbidden, or null when it is allowed. */
export function forbidden(from: string, to: string): string | null {
  const a = classify(from);
  const b = classify(to);
  const top = to.split('/')[0];
  switch (a.layer) {
    case 'chain':
      return b.layer === 'chain' ? null : 'harness/chain imports nothing above it';
    case 'engine':
      return top === 'scenarios' || top === 'reference-impl' ? 'the engine imports neither scenarios/ nor reference-impl/ (packs are discovered at run time)' : null;
    case 'harness':
      return top === 'scenarios' || top === 'reference-impl' ? 'harness runtime code discovers packs by path; it does not import scenarios/ or reference-impl/' : null;
    case 'scenarios':
      if (b.layer === 'server') return 'scenarios never import a server: they talk to the Target through agents and the protocol library';
      if (b.layer === 'scenarios' && b.pack !== a.pack)
        return `a pack's scenarios do not import another pack's scenarios (${b.pack}); shared client code belongs in reference-impl/${b.pack}/agents or protocol`;
      return null;
    case 'protocol':
      if (b.layer === 'server' || b.layer === 'agents') return 'a protocol library imports no server and no agent';
      if (b.layer === 'scenarios') return 'a protocol library does not import scenarios';
      return null;
    case 'agents':
      if (b.layer === 'server') return 'agents speak the protocol library only; they import no server';
      if (b.layer === 'scenarios') return 'agents do not import scenarios';
      return null;
    case 'server':
      if (b.layer === 'scenarios') return 'servers never import scenarios';
      if (a.pack === SHARED && top === 'reference-impl' && b.pack !== SHARED) return 'reference-impl/_shared is protocol-neutral: it imports no pack';
      return null;
    default:
      return null;
  }
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;(=])import\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|[\s;])import\s+['"]([^'"]+)['"]/g;

/** Relative import specifiers of a source text (static, re-exports, side-effect and literal dynamic imports). */
export function importsOf(source: string): string[] {
  // Comments may mention paths; drop them first (line comments only outside strings, good enough for this repo's style).
  const text = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec?.startsWith('.')) out.push(spec);
  }
  return out;
}

/** A forbidden edge: file → imported file, with the rule it breaks. */
export interface Violation {
  from: string;
  to: string;
  rule: string;
}

/** Forbidden edges among `files` (repository-relative paths) read from `root`. */
export function violations(root: string, files: string[], read: (abs: string) => string = (f) => readFileSync(f, 'utf8')): Violation[] {
  const out: Violation[] = [];
  for (const file of files) {
    for (const spec of importsOf(read(path.join(root, file)))) {
      const to = path.posix.normalize(path.posix.join(path.posix.dirname(file.split(path.sep).join('/')), spec));
      const rule = forbidden(file, to);
      if (rule) out.push({ from: file, to, rule });
    }
  }
  return out;
}
