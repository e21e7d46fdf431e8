/**
 * Does a committed state fixture still match the current forge artifacts? Each canonical address in
 * the profile's placement table must hold exactly keccak256(deployedBytecode) of its artifact.
 * (Run by the sync test; a mismatch means `npm run gen` was not run after a contract changed.)
 */
import { readFileSync } from 'node:fs';
import { keccak256, type Hex } from 'viem';
import { fixturePath } from './anvil.ts';
import { readArtifact } from './artifacts.ts';
import { getProfile, placementsFor, type ChainProfileId } from './profiles.ts';

/** Shape of the parts of an anvil state dump we read. */
export interface StateDump {
  accounts: Record<string, { code?: string; balance?: string; storage?: Record<string, string> }>;
}

/** Read a committed fixture. */
export function readFixture(profile: ChainProfileId): StateDump {
  return JSON.parse(readFileSync(fixturePath(profile), 'utf8')) as StateDump;
}

/**
 * Runtime code without solc's CBOR metadata trailer (its last 2 bytes give the trailer's length).
 * Used only to explain a mismatch, never to accept one.
 */
export function stripMetadata(code: Hex): Hex {
  const hex = code.slice(2);
  if (hex.length < 4) return code;
  const len = parseInt(hex.slice(-4), 16) * 2 + 4;
  return len <= hex.length ? (`0x${hex.slice(0, hex.length - len)}` as Hex) : code;
}

/**
 * Human-readable mismatches between a fixture and the artifacts (empty = in sync).
 * @param state the dump to check; default: the committed fixture of the profile.
 */
export function fixtureDrift(profile: ChainProfileId, state: StateDump = readFixture(profile)): string[] {
  const problems: string[] = [];
  const p = getProfile(profile);
  for (const row of placementsFor(profile)) {
    const address = p.contracts[row.key]!;
    const code = state.accounts[address.toLowerCase()]?.code;
    const expected = keccak256(readArtifact(row.artifact.file, row.artifact.contract).deployedBytecode);
    if (!code || code === '0x') problems.push(`${profile}: no code for ${row.key} at ${address}`);
    else if (keccak256(code as Hex) !== expected) {
      const artifactCode = readArtifact(row.artifact.file, row.artifact.contract).deployedBytecode;
      const onlyMetadata = stripMetadata(code as Hex) === stripMetadata(artifactCode);
      problems.push(
        `${profile}: ${row.key} at ${address} has code hash ${keccak256(code as Hex)}, artifact ${row.artifact.contract} has ${expected}` +
          (onlyMetadata ? ' (only the compiler metadata trailer differs: a comment/format change)' : ''),
      );
    }
  }
  return problems;
}
