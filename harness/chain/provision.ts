/**
 * Putting the canonical contracts and the role accounts' money on a chain.
 *
 * Used twice: by gen-fixtures.ts on a blank anvil (everything is missing, the result is dumped to
 * fixtures/chain-state/<profile>.json), and by fork mode on a fork of a real chain (only what is
 * missing is added). Never used on a normal start: that loads the fixture.
 */
import { encodeFunctionData, maxUint256, parseAbi, type Address } from 'viem';
import { roleAccount, roleAccounts, ROLE_ETH_BALANCE, ROLE_USDC_BALANCE } from './accounts.ts';
import { readArtifact } from './artifacts.ts';
import { contractPlacements, type ContractPlacement } from './profiles.ts';
import { createChainClients, type ChainEndpoint } from './transport.ts';

/**
 * The USDC calls funding needs, written by hand (not from our artifact) so that fork mode works the
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
  /** Rows to place; default: the profile's rows in contractPlacements. */
  placements?: readonly ContractPlacement[];
}

/**
 * Write each canonical contract's runtime code at its address (anvil_setCode), then send each
 * placed contract's init call from the admin account, in table order.
 * @throws if an artifact is missing or an init call reverts.
 */
export async function placeContracts(chain: ChainEndpoint, opts: PlaceOptions = {}): Promise<PlacementResult[]> {
  const { profile } = chain;
  const placements = opts.placements ?? contractPlacements[profile.id];
  const { testClient, walletClient } = createChainClients(chain);
  const admin = roleAccount('admin');
  const results: PlacementResult[] = [];
  const toInit: { placement: ContractPlacement; address: Address; abi: ReturnType<typeof readArtifact>['abi'] }[] = [];

  for (const placement of placements) {
    const address = profile.contracts[placement.key];
    if (!address) throw new Error(`profile ${profile.id} has no address for contract key '${placement.key}'`);
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
      const call = placement.init!({ profile, admin: admin.address, operator: roleAccount('operator').address });
      const data = encodeFunctionData({ abi, functionName: call.functionName, args: call.args as unknown[] });
      const receipt = await wallet.sendTransactionSync({ to: address, data });
      if (receipt.status !== 'success') {
        throw new Error(`${placement.key}.${call.functionName} at ${address} reverted (tx ${receipt.transactionHash})`);
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

/** Funding actually applied to one role account. */
export interface FundingResult {
  role: string;
  address: Address;
  eth: bigint;
  usdc: bigint;
}

/**
 * Top every role account up to {@link ROLE_ETH_BALANCE} ETH (anvil_setBalance) and
 * {@link ROLE_USDC_BALANCE} USDC (minted by the admin). The admin is made a USDC minter by the
 * token's masterMinter; when the masterMinter is not our admin (a fork of the real chain) it is
 * impersonated for that one call. Balances above the target are left alone.
 */
export async function fundRoleAccounts(chain: ChainEndpoint): Promise<FundingResult[]> {
  const usdc = chain.profile.usdc.address;
  const { testClient, walletClient } = createChainClients(chain);
  const admin = roleAccount('admin');

  for (const acct of roleAccounts) await ensureEth(chain, acct.address, ROLE_ETH_BALANCE);

  const masterMinter = await testClient.readContract({ address: usdc, abi: usdcFundingAbi, functionName: 'masterMinter' });
  const need = roleAccounts.length > 0 ? ROLE_USDC_BALANCE * BigInt(roleAccounts.length) : 0n;
  const [isMinter, allowance] = await Promise.all([
    testClient.readContract({ address: usdc, abi: usdcFundingAbi, functionName: 'isMinter', args: [admin.address] }),
    testClient.readContract({ address: usdc, abi: usdcFundingAbi, functionName: 'minterAllowance', args: [admin.address] }),
  ]);
  if (!isMinter || allowance < need) {
    if (masterMinter.toLowerCase() === admin.address.toLowerCase()) {
      await walletClient(admin).writeContractSync({
        address: usdc,
        abi: usdcFundingAbi,
        functionName: 'configureMinter',
        args: [admin.address, maxUint256],
      });
    } else {
      await asImpersonated(chain, masterMinter, async () => {
        await walletClient({ address: masterMinter, type: 'json-rpc' }).writeContractSync({
          address: usdc,
          abi: usdcFundingAbi,
          functionName: 'configureMinter',
          args: [admin.address, maxUint256],
        });
      });
    }
  }

  const wallet = walletClient(admin);
  const results: FundingResult[] = [];
  for (const acct of roleAccounts) {
    const balance = await testClient.readContract({ address: usdc, abi: usdcFundingAbi, functionName: 'balanceOf', args: [acct.address] });
    if (balance < ROLE_USDC_BALANCE) {
      await wallet.writeContractSync({ address: usdc, abi: usdcFundingAbi, functionName: 'mint', args: [acct.address, ROLE_USDC_BALANCE - balance] });
    }
    const [eth, usdcBal] = await Promise.all([
      testClient.getBalance({ address: acct.address }),
      testClient.readContract({ address: usdc, abi: usdcFundingAbi, functionName: 'balanceOf', args: [acct.address] }),
    ]);
    results.push({ role: acct.role, address: acct.address, eth, usdc: usdcBal });
  }
  // The admin paid gas for the mints: top it up again so every role starts equal.
  await ensureEth(chain, admin.address, ROLE_ETH_BALANCE);
  const adminResult = results.find((r) => r.role === 'admin');
  if (adminResult) adminResult.eth = await testClient.getBalance({ address: admin.address });
  return results;
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
