/**
 * Chain API of the harness. Other areas import only from here (and from ./bindings).
 * harness/chain depends on nothing above it.
 *
 * Importing it puts libsecp256k1 under viem's signing and signature recovery in this thread (same
 * bytes as noble's, a fraction of the CPU: native-secp256k1.ts).
 */
import { installNativeSecp256k1 } from './native-secp256k1.ts';

installNativeSecp256k1();
export {
  chainProfileIds,
  getProfile,
  isChainProfileId,
  placementsFor,
  resolveInitArgs,
  tokenOf,
  type ChainProfile,
  type ChainProfileId,
  type ContractPlacement,
  type PlacementContext,
  type TokenSpec,
} from './profiles.ts';
export {
  ROLE_ETH_BALANCE,
  ROLE_MNEMONIC,
  ROLE_NAMES,
  ROLE_USDC_BALANCE,
  roleAccount,
  roleAccounts,
  roleKey,
  roleKeys,
  serviceAccount,
  signedTransfer,
  throwawayAccount,
  type AccountKind,
  type RoleKey,
  type RoleAccount,
  type RoleName,
} from './accounts.ts';
export {
  LONG_RUN_STATES,
  PortInUseError,
  anvilBinary,
  dumpState,
  fixturePath,
  redactUrl,
  mineUniqueBlock,
  revert,
  snapshot,
  startChain,
  type RunningChain,
  type StartChainOptions,
} from './anvil.ts';
export {
  JsonRpcError,
  createChainClients,
  keepAliveFetch,
  onlyReads,
  postJson,
  postJsonRpc,
  keepAliveTransport,
  rpcCall,
  toViemChain,
  type ChainClients,
  type ChainEndpoint,
} from './transport.ts';
export { targetChainEntry } from './target-entry.ts';
export { keepAliveText, rpcBatch, type RpcOutcome, type RpcRequest, type TextAnswer } from './rpc.ts';
export { depthFrom, reorg, rollback, type BlockRef, type Reinclude, type ReorgResult } from './reorg.ts';
export { POOL_REPAIR_INTERVAL_MS, repairStuckTransactions, type PoolRepair, type PoolRepairRecord } from './pool-repair.ts';
export { SerialSender, simulatedGas, type ContractCall, type SendOptions } from './serial-sender.ts';
export { fundRoleAccounts, placeContracts, type FundingResult, type PlacementResult } from './provision.ts';
