/**
 * Plan and result hashes for AIProofRegistry (seed 004 "Phase 5: Verification": commit planHash
 * before execution, submit resultHash after, planHash === resultHash proves honest execution).
 *
 * The seed does not say what is hashed (profile APS-PROF-08). The profile's answer: the task the
 * agent runs, `{aps, jobId, agentId, prompt, payload}`, as canonical JSON (keys sorted at every
 * level, no whitespace), keccak256 of its UTF-8 bytes. The agent commits the hash of the task it
 * received before running it and verifies with the hash of the task it actually ran, so the two
 * match exactly when it ran what it was asked to run.
 */
import { keccak256, stringToBytes, type Hex } from 'viem';

/** JSON with object keys sorted at every level (arrays keep their order); undefined members dropped. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') {
    const s = JSON.stringify(v);
    return s === undefined ? 'null' : s;
  }
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJson(x)).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

/** What an agent runs for an envelope. */
export interface TaskSpec {
  jobId: string;
  agentId: string;
  prompt: string;
  payload?: Record<string, unknown>;
}

/** The hash of a task (the plan before execution, the result after). */
export function taskHash(t: TaskSpec): Hex {
  return keccak256(stringToBytes(canonicalJson({ aps: '1.0', jobId: t.jobId, agentId: t.agentId, prompt: t.prompt, payload: t.payload ?? null })));
}

/** planHash of an envelope: the task it asks for. */
export const planHash = taskHash;
/** resultHash: the task the agent actually ran. */
export const resultHash = taskHash;
