/**
 * The protocol library's ABI is written from the interface, not generated from this project's
 * contract; this keeps them from drifting: every function, event and error it declares exists, with
 * the same signature, in the compiled DiemMarketplace.
 */
import assert from 'node:assert/strict';
import { toEventSignature, toFunctionSignature, type Abi, type AbiEvent, type AbiFunction } from 'viem';
import { test } from 'vitest';
import { readArtifact } from '../../../harness/chain/artifacts.ts';
import { marketplaceAbi } from './abi.ts';

function signatures(abi: Abi): Set<string> {
  return new Set(
    abi.map((x) => {
      if (x.type === 'function') return toFunctionSignature(x as AbiFunction);
      if (x.type === 'event') return `event ${toEventSignature(x as AbiEvent)}`;
      if (x.type === 'error') return `error ${x.name}(${x.inputs.map((i) => i.type).join(',')})`;
      return x.type;
    }),
  );
}

test('the marketplace ABI of the protocol library matches the compiled DiemMarketplace', () => {
  const compiled = signatures(readArtifact('DiemMarketplace.sol', 'DiemMarketplace').abi);
  const missing = [...signatures(marketplaceAbi as Abi)].filter((s) => !compiled.has(s));
  assert.deepEqual(missing, [], 'declared in protocol/abi.ts but not in DiemMarketplace');
});
