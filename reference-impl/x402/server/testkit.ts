/**
 * Test support for the x402 reference servers: small chain helpers over one RPC URL and a minimal
 * ERC-1271 smart wallet for smart-wallet payment tests.
 */
import { createPublicClient, http, type Address, type Hex } from 'viem';
import { eip3009ABI } from '@x402/evm';

/** Small chain helpers over one RPC URL. */
export function chainTools(rpcUrl: string) {
  const client = createPublicClient({ transport: http(rpcUrl) });
  const rpc = async <T>(method: string, params: unknown[] = []): Promise<T> => {
    const res = await fetch(rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
    const j = (await res.json()) as { result?: T; error?: { message: string } };
    if (j.error) throw new Error(`${method}: ${j.error.message}`);
    return j.result as T;
  };
  return {
    client,
    rpc,
    /** Timestamp the next block will carry. */
    async now(): Promise<bigint> {
      return (await client.getBlock({ blockTag: 'pending' })).timestamp;
    },
    /** Moves chain time forward and mines a block so `latest` shows it too. */
    async advance(seconds: number): Promise<void> {
      await rpc('evm_increaseTime', [seconds]);
      await rpc('evm_mine');
    },
    async balanceOf(token: Address, who: Address): Promise<bigint> {
      return client.readContract({ address: token, abi: eip3009ABI, functionName: 'balanceOf', args: [who] });
    },
    async txCount(who: Address): Promise<number> {
      return client.getTransactionCount({ address: who });
    },
  };
}

/**
 * Runtime bytecode of a minimal ERC-1271 wallet (solc 0.8.30, optimizer 200 runs, cancun), for
 * smart-wallet payment tests. Place it with `anvil_setCode` and write the owner to slot 0:
 *
 * ```solidity
 * contract OwnerWallet {
 *     address public owner;
 *     function isValidSignature(bytes32 hash, bytes calldata sig) external view returns (bytes4) {
 *         if (sig.length != 65 || owner == address(0)) return 0xffffffff;
 *         bytes32 r = bytes32(sig[0:32]);
 *         bytes32 s = bytes32(sig[32:64]);
 *         uint8 v = uint8(sig[64]);
 *         return ecrecover(hash, v, r, s) == owner ? bytes4(0x1626ba7e) : bytes4(0xffffffff);
 *     }
 * }
 * ```
 */
export const OWNER_WALLET_RUNTIME: Hex =
  '0x608060405234801561000f575f5ffd5b5060043610610034575f3560e01c80631626ba7e146100385780638da5cb5b14610069575b5f5ffd5b61004b6100463660046101a7565b610093565b6040516001600160e01b031990911681526020015b60405180910390f35b5f5461007b906001600160a01b031681565b6040516001600160a01b039091168152602001610060565b5f6041821415806100ac57505f546001600160a01b0316155b156100c057506001600160e01b03196101a0565b5f6100ce602082858761021e565b6100d791610245565b90505f6100e860406020868861021e565b6100f191610245565b90505f8585604081811061010757610107610263565b5f805460408051928352602083018082528d9052949092013560f81c93810184905260608101879052608081018690529293506001600160a01b0316916001915060a0016020604051602081039080840390855afa15801561016b573d5f5f3e3d5ffd5b505050602060405103516001600160a01b031614610191576001600160e01b031961019a565b630b135d3f60e11b5b93505050505b9392505050565b5f5f5f604084860312156101b9575f5ffd5b83359250602084013567ffffffffffffffff8111156101d6575f5ffd5b8401601f810186136101e6575f5ffd5b803567ffffffffffffffff8111156101fc575f5ffd5b86602082840101111561020d575f5ffd5b939660209190910195509293505050565b5f5f8585111561022c575f5ffd5b83861115610238575f5ffd5b5050820193919092039150565b8035602083101561025d575f19602084900360031b1b165b92915050565b634e487b7160e01b5f52603260045260245ffdfea26469706673582212203880da9bcfa40b482ca9278497df3bf6514ca237b692f780a58b6e1ee47d38ec64736f6c634300081e0033';

/** Places an {@link OWNER_WALLET_RUNTIME} wallet owned by `owner` at `at`. */
export async function placeOwnerWallet(tools: ReturnType<typeof chainTools>, at: Address, owner: Address): Promise<void> {
  await tools.rpc('anvil_setCode', [at, OWNER_WALLET_RUNTIME]);
  await tools.rpc('anvil_setStorageAt', [at, '0x0', `0x${owner.slice(2).toLowerCase().padStart(64, '0')}`]);
}
