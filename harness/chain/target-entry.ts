/**
 * How a target file names a lab chain the harness started: its profile id, chain id and RPC URL,
 * USDC with its EIP-712 domain, and the profile's other contracts at their placed addresses. The
 * kill tables, serve.ts target files and the tests that write target files all describe their chain so.
 */
import type { RunningChain } from './anvil.ts';
import { tokenOf } from './profiles.ts';

export function targetChainEntry(c: RunningChain) {
  const usdc = tokenOf(c.profile, 'usdc');
  const { usdc: _usdc, ...contracts } = c.profile.contracts;
  return { id: c.profile.id, chainId: c.chainId, rpcUrl: c.rpcUrl, usdc: { address: usdc.address, name: usdc.name, version: usdc.version, decimals: usdc.decimals }, contracts };
}
