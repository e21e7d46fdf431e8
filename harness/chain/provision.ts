/**
 * Putting the canonical contracts and the role accounts' money on a chain.
 *
 * Used twice: by gen-fixtures.ts on a blank anvil (everything is missing, the result is dumped to
 * fixtures/chain-state/<profile>.json), and by fork mode on a fork of a real chain (only what is
 * missing is added). Never used on a normal start: that loads the fixture.
 */
import { encodeFunctionData, maxUint256, parseAbi, type Address } from 'viem';
import { roleAccount, roleAccounts, ROLE_ETH_BALANCE } from './accounts.ts';
import { readArtifact } from './artifacts.ts';
import { placementsFor, resolveInitArgs, type ContractPlacement, type TokenSpec } from './profiles.ts';
import { createChainClients, type ChainEndpoint } from './transport.ts';

/**
 * The token calls funding needs, written by hand (not from our artifact) so that fork mode works the
 * same against Circle's real FiatToken proxy.
 */
const usdcFundingAbi = parseAbi([
  'function masterMinter() view returns (address)',
  'function configureMinter(address minter, uint256 minterAllowedAmount) returns (bool)',
  'function isMinter(address account) view returns (bool)',
  'function minterAllowance(address minter) view returns (uint256)',
  'function mint(address to, uint256 amount) returns (bool)',
  'function balanceOf(address account) view returns (uint256)',
]);
const mintableAbi = parseAbi(['function mint(address to, uint256 amount)', 'function balanceOf(address account) view returns (uint256)']);

/** What happened to one canonical contract. */
export interface PlacementResult {
  key: string;
  address: Address;
  /** `placed`: code written (and initialised); `present`: code already there, left untouched. */
  action: 'placed' | 'present';
}

/** Options for {@link placeContracts}. */
export interface PlaceOptions {
  /** Skip addresses that already hold code (fork mode). Default false: overwrite everything. */
  onlyMissing?: boolean;
  /** Rows to place; default: every row placed on the profile (placementsFor). */
  placements?: readonly ContractPlacement[];
}

/**
 * Write each canonical contract's runtime code at its address (anvil_setCode), then send each
 * placed contract's init call from the admin account, in table order.
 * @throws if an artifact is missing or an init call reverts.
 */
export async function placeContracts(chain: ChainEndpoint, opts: PlaceOptions = {}): Promise<PlacementResult[]> {
  const { profile } = chain;
  const placements = opts.placements ?? placementsFor(profile.id);
  const { testClient, walletClient } = createChainClients(chain);
  const admin = roleAccount('admin');
  const results: PlacementResult[] = [];
  const toInit: { placement: ContractPlacement; address: Address; abi: ReturnType<typeof readArtifact>['abi'] }[] = [];

  for (const placement of placements) {
    const address = profile.contracts[placement.key];
    if (!address) throw new Error(`profile ${profile.id} has no address for contract key '${placement.key}' (${placement.source})`);
    if (opts.onlyMissing) {
      const code = await testClient.getCode({ address });
      if (code && code !== '0x') {
        results.push({ key: placement.key, address, action: 'present' });
        continue;
      }
    }
    const artifact = readArtifact(placement.artifact.file, placement.artifact.contract);
    await testClient.setCode({ address, bytecode: artifact.deployedBytecode });
    results.push({ key: placement.key, address, action: 'placed' });
    if (placement.init) toInit.push({ placement, address, abi: artifact.abi });
  }

  if (toInit.length > 0) {
    // The admin pays for the init calls; on a fork it may have no ETH yet.
    await ensureEth(chain, admin.address, ROLE_ETH_BALANCE);
    const wallet = walletClient(admin);
    for (const { placement, address, abi } of toInit) {
      const args = resolveInitArgs(placement, { profile, roles: (r) => roleAccount(r).address });
      const functionName = placement.init!.function;
      const data = encodeFunctionData({ abi, functionName, args });
      const receipt = await wallet.sendTransactionSync({ to: address, data });
      if (receipt.status !== 'success') {
        throw new Error(`${placement.key}.${functionName} at ${address} reverted (tx ${receipt.transactionHash})`);
      }
    }
  }
  return results;
}

async function ensureEth(chain: ChainEndpoint, address: Address, atLeast: bigint): Promise<void> {
  const { testClient } = createChainClients(chain);
  const balance = await testClient.getBalance({ address });
  if (balance < atLeast) await testClient.setBalance({ address, value: atLeast });
}

/** Funding actually applied to one role account: ETH and each token's balance after funding. */
export interface FundingResult {
  role: string;
  address: Address;
  eth: bigint;
  /** Token balances by token key (base units). */
  tokens: Record<string, bigint>;
}

/** Make the admin a minter of a FiatToken (through its masterMinter, impersonated when it is not ours). */
async function ensureFiatMinter(chain: ChainEndpoint, token: TokenSpec, need: bigint): Promise<void> {
  const { testClient, walletClient } = createChainClients(chain);
  const admin = roleAccount('admin');
  const [isMinter, allowance] = await Promise.all([
    testClient.readContract({ address: token.address, abi: usdcFundingAbi, functionName: 'isMinter', args: [admin.address] }),
    testClient.readContract({ address: token.address, abi: usdcFundingAbi, functionName: 'minterAllowance', args: [admin.address] }),
  ]);
  if (isMinter && allowance >= need) return;
  const masterMinter = await testClient.readContract({ address: token.address, abi: usdcFundingAbi, functionName: 'masterMinter' });
  const configure = { address: token.address, abi: usdcFundingAbi, functionName: 'configureMinter', args: [admin.address, maxUint256] } as const;
  if (masterMinter.toLowerCase() === admin.address.toLowerCase()) {
    await walletClient(admin).writeContractSync(configure);
  } else {
    await asImpersonated(chain, masterMinter, async () => {
      await walletClient({ address: masterMinter, type: 'json-rpc' }).writeContractSync(configure);
    });
  }
}

/**
 * Top every role account up to {@link ROLE_ETH_BALANCE} ETH (anvil_setBalance) and each of the
 * profile's tokens up to its `fundEach` (minted by the admin). For a `fiat-token` the admin is first
 * made a minter by the token's masterMinter, impersonated for that one call when it is not our admin
 * (a fork of the real chain); a `mintable` token takes `mint(address,uint256)` from the admin.
 * Balances above the target are left alone.
 */
export async function fundRoleAccounts(chain: ChainEndpoint): Promise<FundingResult[]> {
  const { testClient, walletClient } = createChainClients(chain);
  const admin = roleAccount('admin');
  const wallet = walletClient(admin);
  for (const acct of roleAccounts) await ensureEth(chain, acct.address, ROLE_ETH_BALANCE);

  for (const token of chain.profile.tokens) {
    if (token.kind === 'fiat-token') await ensureFiatMinter(chain, token, token.fundEach * BigInt(roleAccounts.length));
    const abi = token.kind === 'fiat-token' ? usdcFundingAbi : mintableAbi;
    for (const acct of roleAccounts) {
      const balance = await testClient.readContract({ address: token.address, abi, functionName: 'balanceOf', args: [acct.address] });
      if (balance < token.fundEach) await wallet.writeContractSync({ address: token.address, abi, functionName: 'mint', args: [acct.address, token.fundEach - balance] });
    }
  }
  // The admin paid gas for the mints: top it up again so every role starts equal.
  await ensureEth(chain, admin.address, ROLE_ETH_BALANCE);
  return Promise.all(
    roleAccounts.map(async (acct) => ({
      role: acct.role,
      address: acct.address,
      eth: await testClient.getBalance({ address: acct.address }),
      tokens: Object.fromEntries(
        await Promise.all(
          chain.profile.tokens.map(async (t) => [t.key, await testClient.readContract({ address: t.address, abi: usdcFundingAbi, functionName: 'balanceOf', args: [acct.address] })] as const),
        ),
      ),
    })),
  );
}

/**
 * Run `fn` while `address` is impersonated. Gas for the impersonated sender is topped up only if it
 * lacks 1 ETH (its balance is the one piece of upstream state this may change).
 */
async function asImpersonated(chain: ChainEndpoint, address: Address, fn: () => Promise<void>): Promise<void> {
  const { testClient } = createChainClients(chain);
  await ensureEth(chain, address, 10n ** 18n);
  await testClient.impersonateAccount({ address });
  try {
    await fn();
  } finally {
    await testClient.stopImpersonatingAccount({ address });
  }
}
