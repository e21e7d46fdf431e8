/**
 * Reading forge build artifacts (contracts/out/<File>.sol/<Contract>.json).
 * Used by the fixture and bindings generators, fork mode and the sync tests; never at normal
 * start-up (start-up loads the committed state fixture).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Abi, Hex } from 'viem';
import { z } from 'zod';

import { REPO_ROOT } from './paths.ts';

export { REPO_ROOT };
/** Where forge writes artifacts (foundry.toml `out`). */
export const FORGE_OUT_DIR = path.join(REPO_ROOT, 'contracts', 'out');

const hexString = z.string().regex(/^0x[0-9a-fA-F]*$/, 'expected 0x-prefixed hex');
const artifactSchema = z.object({
  abi: z.array(z.record(z.string(), z.unknown())),
  bytecode: z.object({ object: hexString }),
  deployedBytecode: z.object({ object: hexString }),
});

/** The parts of a forge artifact the harness uses. */
export interface ForgeArtifact {
  /** Source base name, e.g. "FiatTokenV2_2.sol". */
  file: string;
  contract: string;
  abi: Abi;
  /** Creation code. */
  bytecode: Hex;
  /** Runtime code: what anvil_setCode writes. */
  deployedBytecode: Hex;
}

/** Path of one artifact. */
export function artifactPath(file: string, contract: string): string {
  return path.join(FORGE_OUT_DIR, file, `${contract}.json`);
}

/**
 * Load one artifact.
 * @throws with a hint to run `npm run gen` / `npx forge build` when it is missing or malformed.
 */
export function readArtifact(file: string, contract: string): ForgeArtifact {
  const p = artifactPath(file, contract);
  if (!existsSync(p)) {
    throw new Error(`forge artifact not found: ${path.relative(REPO_ROOT, p)} (run \`npx forge build --offline\` or \`npm run gen\`)`);
  }
  const parsed = artifactSchema.safeParse(JSON.parse(readFileSync(p, 'utf8')));
  if (!parsed.success) {
    throw new Error(`malformed forge artifact ${path.relative(REPO_ROOT, p)}: ${parsed.error.message}`);
  }
  const { abi, bytecode, deployedBytecode } = parsed.data;
  if (deployedBytecode.object.length <= 2) {
    throw new Error(`forge artifact ${path.relative(REPO_ROOT, p)} has no runtime bytecode (abstract contract or interface?)`);
  }
  return {
    file,
    contract,
    abi: abi as unknown as Abi,
    bytecode: bytecode.object as Hex,
    deployedBytecode: deployedBytecode.object as Hex,
  };
}
