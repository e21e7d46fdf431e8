/**
 * Kill table for `aimarket`: every requirement has a broken implementation that must fail it (a SHOULD
 * one must warn). The variants are the reference deployment with one test-only fault of the provider
 * hub or of the routing hub (server/faults.ts), or AIMarketEscrow with one line of its source changed
 * (compiled with solcjs, placed at the lab address with anvil_setCode, restored after), or the
 * restartable hub (a supervised child process the crash scenario kills) with one fault. All run on
 * one base anvil; each is described as a Target.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import solc from 'solc';
import type { Hex } from 'viem';
import { roleAccounts, rpcCall, startChain, type RunningChain } from '../../harness/chain/index.ts';
import { defineKills, type KillVariant } from '../../harness/testing/kill.ts';
import { parseTarget } from '../../harness/target/schema.ts';
import { FAILURE_FIXTURE } from './protocol/wire.ts';
import { AIM_FAULTS, type AimFaults } from './server/faults.ts';
import { startAimStack } from './server/stack.ts';
import { startRestartableAimHub } from './restartable.ts';

interface Variant {
  faults?: AimFaults;
  routerFaults?: AimFaults;
  /** AIMarketEscrow.sol with `find` replaced by `replace`. */
  mutant?: { find: string; replace: string };
  /** Faults of the restartable hub the crash scenario kills (serve.ts --fault NAME); set: it is started. */
  restartable?: (typeof AIM_FAULTS.names)[number][];
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SRC = path.join(ROOT, 'contracts', 'src', 'aimarket', 'AIMarketEscrow.sol');
const CACHE = path.join(ROOT, 'contracts', 'cache', 'mutants');

/** Runtime code of AIMarketEscrow with one change (foundry.toml's settings; cached by source text). */
function mutantCode(find: string, replace: string): Hex {
  const original = readFileSync(SRC, 'utf8');
  if (!original.includes(find)) throw new Error(`AIMarketEscrow.sol no longer contains: ${find}`);
  const source = original.replace(find, replace);
  const cached = path.join(CACHE, `AIMarketEscrow-${createHash('sha256').update(source).digest('hex').slice(0, 24)}.hex`);
  if (existsSync(cached)) return readFileSync(cached, 'utf8') as Hex;
  const input = {
    language: 'Solidity',
    sources: { 'AIMarketEscrow.sol': { content: source } },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: 'cancun',
      metadata: { bytecodeHash: 'none', appendCBOR: false },
      outputSelection: { 'AIMarketEscrow.sol': { AIMarketEscrow: ['evm.deployedBytecode.object'] } },
    },
  };
  const find1 = (p: string) => {
    const f = path.join(ROOT, 'node_modules', p);
    return existsSync(f) ? { contents: readFileSync(f, 'utf8') } : { error: `not found: ${p}` };
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input), { import: find1 })) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts: Record<string, Record<string, { evm: { deployedBytecode: { object: string } } }>>;
  };
  const errs = (out.errors ?? []).filter((e) => e.severity === 'error');
  if (errs.length) throw new Error(errs.map((e) => e.formattedMessage).join('\n'));
  const code = `0x${out.contracts['AIMarketEscrow.sol']!.AIMarketEscrow!.evm.deployedBytecode.object}` as Hex;
  mkdirSync(CACHE, { recursive: true });
  writeFileSync(cached, code);
  return code;
}

const fault = (requirement: string, name: (typeof AIM_FAULTS.names)[number], grep: string, runs = 3): KillVariant<Variant> => ({
  requirement,
  defect: AIM_FAULTS.describe(name),
  grep,
  runs,
  variant: { faults: AIM_FAULTS.parse([name]) },
});
const routerFault = (requirement: string, name: (typeof AIM_FAULTS.names)[number], grep: string, runs = 3): KillVariant<Variant> => ({
  requirement,
  defect: `routing hub: ${AIM_FAULTS.describe(name)}`,
  grep,
  runs,
  variant: { routerFaults: AIM_FAULTS.parse([name]) },
});
/** A variant whose restartable hub has one fault, against AIM-RST-01 (one run: it fails at the first restart; a start and a restart of the child cost tens of seconds on a loaded machine, so one such variant). */
const restart = (name: (typeof AIM_FAULTS.names)[number]): KillVariant<Variant> => ({
  requirement: 'AIM-RST-01',
  defect: `restartable hub: ${AIM_FAULTS.describe(name)}`,
  grep: 'aimarket/hub-restart',
  runs: 1,
  variant: { restartable: [name] },
});
const mutant = (requirement: string, defect: string, find: string, replace: string): KillVariant<Variant> => ({
  requirement,
  defect: `AIMarketEscrow: ${defect}`,
  grep: 'escrow',
  runs: 3,
  variant: { mutant: { find, replace } },
});

let chain: RunningChain | undefined;

export default defineKills<Variant>({
  protocol: 'aimarket',
  seed: 17,
  controlRuns: 3,
  async setup() {
    chain = await startChain({ profile: 'base' });
  },
  async teardown() {
    await chain?.stop();
  },
  async start(v) {
    const c = chain!;
    let restore: (() => Promise<unknown>) | undefined;
    if (v?.mutant) {
      const address = c.profile.contracts.aimarketEscrow!;
      const original = await rpcCall<Hex>(c.rpcUrl, 'eth_getCode', [address, 'latest']);
      await rpcCall(c.rpcUrl, 'anvil_setCode', [address, mutantCode(v.mutant.find, v.mutant.replace)]);
      restore = () => rpcCall(c.rpcUrl, 'anvil_setCode', [address, original]);
    }
    const stack = await startAimStack(c, { faults: v?.faults, routerFaults: v?.routerFaults });
    // The crashable hub (a child process) for the control and the crash variants only: it costs a process.
    const restartable =
      !v || v.restartable
        ? await startRestartableAimHub(c, { args: (v?.restartable ?? []).flatMap((f) => ['--fault', f]) }).catch(async (e) => {
            await stack.stop();
            throw e;
          })
        : undefined;
    const usdc = c.profile.usdc!;
    const target = parseTarget({
      name: 'aimarket reference variant',
      chains: [
        {
          id: 'base',
          chainId: c.chainId,
          rpcUrl: c.rpcUrl,
          usdc: { address: usdc.address, name: usdc.name, version: usdc.version, decimals: usdc.decimals },
          contracts: { aimarketEscrow: c.profile.contracts.aimarketEscrow },
        },
      ],
      endpoints: { aimarket: stack.provider.url, 'aimarket-router': stack.router!.url },
      accounts: roleAccounts.map((a) => ({ role: a.role, kind: 'evm', address: a.address, privateKey: a.privateKey })),
      capabilities: ['clock-control', 'snapshot', 'reorg', 'aimarket:failure-fixture', ...(restartable ? ['restart'] : [])],
      ...(restartable ? { restart: { aimarket: restartable.control } } : {}),
      protocols: ['aimarket'],
      config: { aimarket: { failure: FAILURE_FIXTURE, downPeer: stack.downPeer } },
    });
    return {
      target,
      async stop() {
        await restartable?.stop();
        await stack.stop();
        await restore?.();
      },
    };
  },
  variants: [
    fault('AIM-DSC-01', 'wellKnownBadVersions', 'discovery', 1),
    fault('AIM-SIG-01', 'wellKnownWrongKey', 'discovery', 1),
    fault('AIM-SIG-02', 'manifestLegacy3', 'discovery', 1),
    fault('AIM-SIG-02', 'receiptLegacy5', 'pay-per-call', 1),
    fault('AIM-MCP-01', 'mcpMissingTool', 'discovery', 1),
    fault('AIM-MCP-02', 'mcpFree', 'mcp-sdk', 1),
    fault('AIM-PAY-01', 'no402Header', 'pay-per-call', 1),
    fault('AIM-PAY-01', 'base64Header', 'pay-per-call', 1),
    fault('AIM-PAY-02', 'acceptWrongToken', 'pay-per-call', 1),
    fault('AIM-PAY-02', 'acceptWrongRecipient', 'pay-per-call', 1),
    fault('AIM-PAY-02', 'acceptShortAmount', 'pay-per-call', 1),
    fault('AIM-PAY-02', 'acceptDemoTx', 'pay-per-call', 1),
    fault('AIM-PAY-03', 'acceptReusedTx', 'pay-per-call', 1),
    fault('AIM-RCP-01', 'receiptOtherKey', 'pay-per-call', 1),
    fault('AIM-RCP-02', 'rejectionV1', 'channel-model', 10),
    fault('AIM-RCP-03', 'receiptLookupMissing', 'pay-per-call', 1),
    fault('AIM-PRC-01', 'quoteMismatch', 'pricing', 25),
    fault('AIM-DIS-01', 'discoverOverBudget', 'intent-discovery', 10),
    fault('AIM-CHN-01', 'acceptShortAmount', 'channel-open', 1),
    fault('AIM-CHN-02', 'floorCents', 'channel-model', 10),
    fault('AIM-CHN-03', 'overdraw', 'channel-model', 15),
    fault('AIM-CHN-04', 'keepFailedDebit', 'channel-model', 10),
    fault('AIM-CHN-05', 'refundOffByCent', 'channel-model', 3),
    fault('AIM-CHN-05', 'closeTwice', 'channel-model', 3),
    fault('AIM-ORG-01', 'keepReorgedChannels', 'channel-deposit-reorg', 2),
    fault('AIM-ORG-01', 'orphanReminedDeposits', 'channel-deposit-reorg', 2),
    fault('AIM-CHN-06', 'noExpiry', 'channel-expiry', 1),
    // ---- across a crash (the restartable hub carries the fault), and a call delivered twice ----
    restart('usedTxInMemory'),
    fault('AIM-FLT-01', 'acceptReusedTx', 'aimarket/fault-duplicate-delivery', 1),
    fault('AIM-FLT-01', 'replayDebitsAgain', 'aimarket/fault-duplicate-delivery', 1),
    fault('AIM-PIP-01', 'pipelineReverseOrder', 'pipelines', 5),
    fault('AIM-PIP-02', 'pipelineNoCycleCheck', 'pipelines', 3),
    fault('AIM-PIP-02', 'pipelineDebitFirst', 'pipelines', 3),
    fault('AIM-PIP-03', 'pipelineRunDependants', 'pipelines', 10),
    fault('AIM-PIP-04', 'bomTotalWrong', 'pipelines', 10),
    fault('AIM-PIP-05', 'bomBadSignature', 'pipelines', 1),
    routerFault('AIM-FED-01', 'routingFeeIgnored', 'federated-search', 3),
    routerFault('AIM-FED-02', 'routedNoForward402', 'routed-invoke', 1),
    routerFault('AIM-FED-03', 'routedDown404', 'routed-invoke', 1),
    routerFault('AIM-FED-04', 'announceOverwrites', 'announcements', 1),
    routerFault('AIM-FED-04', 'announceNoVerify', 'announcements', 1),
    fault('AIM-DSC-01', 'productsCountOne', 'discovery', 1),
    fault('AIM-CHN-01', 'acceptZeroDeposit', 'channel-open', 1),
    fault('AIM-CHN-02', 'noBalanceRoute', 'channel-model', 1),
    fault('AIM-MCP-02', 'mcpFailureNotError', 'mcp-sdk', 1),
    fault('AIM-DIS-01', 'discoverIgnoresLatency', 'intent-discovery', 10),
    fault('AIM-DIS-01', 'discoverLatencyStrict', 'intent-discovery', 5),
    routerFault('AIM-FED-01', 'minTrustExclusive', 'federated-search', 1),
    routerFault('AIM-FED-01', 'searchIgnoresLatency', 'federated-search', 1),
    routerFault('AIM-FED-01', 'searchIgnoresBudget', 'federated-search', 1),
    fault('AIM-FED-01', 'searchLocalEmpty', 'federated-search', 1),
    routerFault('AIM-FED-01', 'reputationMissing', 'federated-search', 1),
    fault('AIM-FED-02', 'v2InvokeNoLocal', 'routed-invoke', 1),
    routerFault('AIM-FED-02', 'routedChannelTwice', 'routed-invoke', 1),
    routerFault('AIM-FED-04', 'byHubListsPending', 'announcements', 1),
    fault('AIM-STA-01', 'statsFrozen', 'pay-per-call', 1),
    fault('AIM-MAL-01', 'malformed500', 'malformed-requests', 5),
    fault('AIM-ROB-01', 'mcpNotRpc500', 'aimarket/robustness', 1),
    fault('AIM-ROB-01', 'debitBeforeValidation', 'aimarket/robustness', 1),
    mutant(
      'AIM-ESC-01',
      'any signature debits',
      'if (err != ECDSA.RecoverError.NoError || signer != c.depositor) revert InvalidSignature();',
      'if (err != ECDSA.RecoverError.NoError) revert InvalidSignature();',
    ),
    mutant('AIM-ESC-01', 'a receipt id debits twice', 'if (usedReceipts[receiptId]) revert ReceiptUsed(receiptId);', ''),
    mutant('AIM-ESC-01', 'settle pays the hub one unit more', 'paid = c.used;', 'paid = c.used + (c.deposit > c.used ? 1 : 0);'),
  ],
});
