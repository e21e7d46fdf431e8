/**
 * Requirement catalog: every check the harness makes is keyed to a requirement with a level, a
 * source and the sentence it enforces (h2spec / MCP-conformance style: a check quotes its rule).
 */

/** RFC 2119 keyword; MUST failures fail the run, SHOULD/MAY failures warn. */
export type Level = 'MUST' | 'SHOULD' | 'MAY';

export interface RequirementSource {
  /** Seed file or public spec, e.g. "EIP-3009", "ERC-8004 (erc-8004/erc-8004-contracts ERC8004SPEC.md)". */
  document: string;
  /** Section or function, e.g. "§ transferWithAuthorization". */
  section: string;
  url?: string;
}

export interface Requirement {
  /** Stable id, e.g. `USDC-3009-02`. */
  id: string;
  level: Level;
  title: string;
  source: RequirementSource;
  /** The sentence this requirement enforces (quoted or closely paraphrased from the source). */
  text: string;
  /** True when the seed is silent and the harness profile fills the gap (see DESIGN.md "profile"). */
  profileAssumption: boolean;
  /**
   * The spec revisions (ids of the protocol's `revisions`) this requirement belongs to; absent: every
   * revision. `--spec REV` certifies only the requirements of REV.
   */
  revisions?: readonly string[];
  /**
   * Protocol constants (reference-impl/<id>/protocol/constants.ts) this requirement depends on besides
   * those its title and text quote as `{name}` placeholders (which count already).
   */
  constants?: string[];
}

const ID = /^[A-Z0-9]+(-[A-Z0-9]+)+$/;

/** Validate and freeze a protocol's catalog (unique, well-formed ids; non-empty text). */
export function defineCatalog(reqs: Requirement[]): readonly Requirement[] {
  const seen = new Set<string>();
  for (const r of reqs) {
    if (!ID.test(r.id)) throw new Error(`requirement id '${r.id}' is not of the form ABC-DEF-01`);
    if (seen.has(r.id)) throw new Error(`duplicate requirement id '${r.id}'`);
    if (!r.text.trim()) throw new Error(`requirement ${r.id} has no text`);
    seen.add(r.id);
  }
  return Object.freeze(reqs.map((r) => Object.freeze({ ...r })));
}
