/**
 * The protocol library's ABIs are written by hand from §D's interfaces, not generated from this
 * project's contracts; this keeps the two from drifting: every function and event the library
 * declares exists, with the same signature, in the compiled contracts.
 */
import assert from 'node:assert/strict';
import { toEventSignature, toFunctionSignature, type Abi, type AbiEvent, type AbiFunction } from 'viem';
import { test } from 'vitest';
import { readArtifact } from '../../../harness/chain/artifacts.ts';
import { nexusAbi, proofAbi, reputationAbi, streamAbi, tokenAbi } from './abi.ts';

function signatures(abi: Abi): Set<string> {
  return new Set(
    abi.filter((x) => x.type === 'function' || x.type === 'event').map((x) => (x.type === 'function' ? toFunctionSignature(x as AbiFunction) : `event ${toEventSignature(x as AbiEvent)}`)),
  );
}

for (const [name, abi, file, contract] of [
  ['NexusV2', nexusAbi, 'PayPolNexusV2.sol', 'PayPolNexusV2'],
  ['StreamV1', streamAbi, 'PayPolStreamV1.sol', 'PayPolStreamV1'],
  ['AIProofRegistry', proofAbi, 'AIProofRegistry.sol', 'AIProofRegistry'],
  ['ReputationRegistry', reputationAbi, 'PayPolReputationRegistry.sol', 'PayPolReputationRegistry'],
  ['stablecoin', tokenAbi, 'TempoStablecoin.sol', 'TempoStablecoin'],
] as const) {
  test(`the ${name} ABI of the protocol library matches the compiled ${contract}`, () => {
    const compiled = signatures(readArtifact(file, contract).abi);
    const missing = [...signatures(abi as Abi)].filter((s) => !compiled.has(s));
    assert.deepEqual(missing, [], `declared in protocol/abi.ts but not in ${contract}`);
  });
}
