/**
 * Kill table for `aps1`: every requirement has a broken implementation that must fail it. The
 * variants are the reference deployment with one test-only server fault (server/faults.ts), a
 * public-contract quirk switched on (the compat profile, one switch at a time), one line of a
 * contract's real source changed (compiled once with solcjs and placed at the canonical address with
 * anvil_setCode, restored after), or a chain whose setting differs from the seed. All run on one
 * tempo anvil; each is described as a Target (endpoints + chain + role accounts only).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import solc from 'solc';
import type { Hex } from 'viem';
import { roleAccounts, rpcCall, startChain, type RunningChain } from '../../harness/chain/index.ts';
import { defineKills, type KillVariant } from '../../harness/testing/kill.ts';
import { parseTarget } from '../../harness/target/schema.ts';
import { APS1_PROFILE, withCompat, type CompatSwitches } from './protocol/profile.ts';
import { applyProfile } from './server/apply-profile.ts';
import { APS1_FAULTS, type Aps1Faults } from './server/faults.ts';
import { startAps1Stack } from './server/stack.ts';
import { startRestartableAps1 } from './restartable.ts';
import { nexusAbi } from './protocol/abi.ts';
import { createWalletClient, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { roleAccount } from '../../harness/chain/index.ts';
import { localChain } from './server/chain.ts';

/** One contract source line replaced (`replace` '' deletes it). */
interface Mutant {
  /** Contract key on the chain (its canonical address). */
  key: 'paypolNexusV2' | 'paypolStreamV1' | 'aiProofRegistry' | 'paypolReputation';
  /** Source file (contracts/src/aps1) and contract compiled. */
  file: string;
  contract: string;
  /** The file whose text changes (default `file`: a library such as Aps1Fees.sol can be mutated too). */
  mutate?: string;
  find: string;
  replace?: string;
}

interface Variant {
  faults?: Aps1Faults;
  compat?: Partial<CompatSwitches>;
  mutant?: Mutant;
  /** NexusV2's platform fee set to another value for the run. */
  platformFeeBps?: bigint;
  /** Faults of the crashable pair the crash scenarios kill (serve.ts --child --fault NAME); set: it is started. */
  restartable?: (typeof APS1_FAULTS.names)[number][];
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SRC = path.join(ROOT, 'contracts', 'src', 'aps1');
const MUTANT_CACHE = path.join(ROOT, 'contracts', 'cache', 'mutants');

/** The runtime code of `m`'s contract with its one change (same settings as foundry.toml; cached by source text). */
function mutantCode(m: Mutant): Hex {
  const files = Object.fromEntries(
    readdirSync(SRC)
      .filter((f) => f.endsWith('.sol'))
      .map((f) => [f, readFileSync(path.join(SRC, f), 'utf8')]),
  );
  const target = m.mutate ?? m.file;
  if (!files[target]!.includes(m.find)) throw new Error(`${target} no longer contains: ${m.find}`);
  files[target] = files[target]!.replace(m.find, m.replace ?? '');
  const key = createHash('sha256').update(JSON.stringify(files)).update(m.contract).digest('hex').slice(0, 24);
  const cached = path.join(MUTANT_CACHE, `${m.contract}-${key}.hex`);
  if (existsSync(cached)) return readFileSync(cached, 'utf8') as Hex;
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(Object.entries(files).map(([f, content]) => [f, { content }])),
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: 'cancun', outputSelection: { [m.file]: { [m.contract]: ['evm.deployedBytecode.object'] } } },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input), { import: (p: string) => ({ contents: files[path.basename(p)] ?? '' }) })) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts: Record<string, Record<string, { evm: { deployedBytecode: { object: string } } }>>;
  };
  const errs = (out.errors ?? []).filter((e) => e.severity === 'error');
  if (errs.length) throw new Error(errs.map((e) => e.formattedMessage).join('\n'));
  const code = `0x${out.contracts[m.file]![m.contract]!.evm.deployedBytecode.object}` as Hex;
  mkdirSync(MUTANT_CACHE, { recursive: true });
  writeFileSync(cached, code);
  return code;
}

const nexusMutant = (find: string, replace = ''): Mutant => ({ key: 'paypolNexusV2', file: 'PayPolNexusV2.sol', contract: 'PayPolNexusV2', find, replace });
const streamMutant = (find: string, replace = ''): Mutant => ({ key: 'paypolStreamV1', file: 'PayPolStreamV1.sol', contract: 'PayPolStreamV1', find, replace });

function fault(requirement: string, name: (typeof APS1_FAULTS.names)[number], grep: string, runs = 3): KillVariant<Variant> {
  return { requirement, defect: APS1_FAULTS.describe(name), grep, runs, variant: { faults: APS1_FAULTS.parse([name]) } };
}

function quirk(requirement: string, sw: keyof CompatSwitches, defect: string, grep: string, runs = 6): KillVariant<Variant> {
  return { requirement, defect: `compat ${sw}: ${defect}`, grep, runs, variant: { compat: { [sw]: true } } };
}

function mutant(requirement: string, defect: string, m: Mutant, grep: string, runs = 10): KillVariant<Variant> {
  return { requirement, defect: `${m.contract}: ${defect}`, grep, runs, variant: { mutant: m } };
}

async function setFee(chain: RunningChain, bps: bigint): Promise<void> {
  const wallet = createWalletClient({ account: privateKeyToAccount(roleAccount('admin').privateKey), chain: localChain(chain.chainId, chain.rpcUrl), transport: http(chain.rpcUrl) });
  await wallet.writeContractSync({ address: chain.profile.contracts.paypolNexusV2!, abi: nexusAbi, functionName: 'setPlatformFee', args: [bps] });
}

let chain: RunningChain | undefined;

export default defineKills<Variant>({
  protocol: 'aps1',
  seed: 11,
  // One run: certify.test.ts runs the same reference through its target file at 3 or more runs.
  controlRuns: 1,
  controlWithoutRestart: 'profile.test.ts: `amh run --profile` passes every aps1 scenario, the crash ones included, on the reference',
  async setup() {
    chain = await startChain({ profile: 'tempo' });
  },
  async teardown() {
    await chain?.stop();
  },
  async start(v) {
    const c = chain!;
    let restoreCode: (() => Promise<void>) | undefined;
    if (v?.mutant) {
      const address = c.profile.contracts[v.mutant.key]!;
      const original = await rpcCall<Hex>(c.rpcUrl, 'eth_getCode', [address, 'latest']);
      await rpcCall(c.rpcUrl, 'anvil_setCode', [address, mutantCode(v.mutant)]);
      restoreCode = () => rpcCall(c.rpcUrl, 'anvil_setCode', [address, original]);
    }
    if (v?.compat) await applyProfile(c, withCompat(APS1_PROFILE, v.compat));
    if (v?.platformFeeBps !== undefined) await setFee(c, v.platformFeeBps);
    const stack = await startAps1Stack(c, { faults: v?.faults });
    // The pair the crash scenarios kill runs as a child process: only where they run (the control and its variants).
    const restartable = !v || v.restartable ? await startRestartableAps1(c, { args: (v?.restartable ?? []).flatMap((f) => ['--fault', f]) }) : undefined;
    const tokens = Object.fromEntries(c.profile.tokens.map((t) => [t.key, { address: t.address, name: t.name, version: t.version, decimals: t.decimals }]));
    const contracts = Object.fromEntries(Object.entries(c.profile.contracts).filter(([k]) => !c.profile.tokens.some((t) => t.key === k)));
    const target = parseTarget({
      name: 'aps1 reference variant',
      chains: [{ id: 'tempo', chainId: c.chainId, rpcUrl: c.rpcUrl, tokens, contracts }],
      endpoints: { 'aps1-agent': stack.agent.url, 'aps1-marketplace': stack.marketplace.url },
      accounts: roleAccounts.map((a) => ({ role: a.role, kind: 'evm', address: a.address, privateKey: a.privateKey })),
      capabilities: ['clock-control', 'snapshot', 'reorg', ...(restartable ? ['restart', 'rpc-faults'] : [])],
      ...(restartable ? { restart: restartable.controls } : {}),
    });
    return {
      target,
      async stop() {
        await restartable?.stop();
        await stack.stop();
        if (v?.compat) await applyProfile(c, APS1_PROFILE);
        if (v?.platformFeeBps !== undefined) await setFee(c, APS1_PROFILE.platformFeeBps);
        await restoreCode?.();
      },
    };
  },
  variants: [
    { requirement: 'APS-CHN-01', defect: 'NexusV2 charges 5% instead of APS1_PLATFORM_FEE_BPS 800', grep: 'chain-profile', runs: 1, variant: { platformFeeBps: 500n } },
    fault('APS-MAN-01', 'manifestNoWallet', 'manifest', 1),
    fault('APS-MAN-02', 'tokenDecimals18', 'manifest', 1),
    fault('APS-MAN-03', 'healthNotOk', 'manifest', 1),
    fault('APS-MSG-01', 'offsetTimestamps', 'message-readings', 2),
    fault('APS-MSG-02', 'refuseUnknownKeys', 'message-readings', 8),
    fault('APS-MSG-03', 'malformed500', 'malformed-requests', 1),
    fault('APS-ROB-01', 'malformed500', 'robustness-agent', 1),
    fault('APS-ROB-01', 'recordRefusedEnvelopes', 'robustness-agent', 1),
    fault('APS-ROB-01', 'hireJunk500', 'robustness-marketplace', 2),
    fault('APS-NEG-01', 'replyOtherJob', 'negotiation', 2),
    fault('APS-NEG-02', 'acceptBelowFloor', 'negotiation', 12),
    fault('APS-NEG-02', 'counterAboveBase', 'negotiation', 12),
    fault('APS-NEG-03', 'ignoreAgreement', 'negotiated-price', 6),
    fault('APS-NEG-03', 'statelessNegotiation', 'negotiated-price', 6),
    fault('APS-EXE-01', 'forgetStatus', 'execute-paid', 2),
    fault('APS-EXE-01', 'wrongChainId', 'execute-paid', 2),
    fault('APS-EXE-02', 'skipEscrowCheck', 'execute-unpaid', 2),
    fault('APS-EXE-02', 'executeWithoutEscrow', 'execute-unpaid', 2),
    fault('APS-EXE-02', 'ignoreDeadline', 'execute-unpaid', 2),
    fault('APS-EXE-01', 'invalidErrorResult', 'marketplace-hire', 10),
    fault('APS-EXE-03', 'acceptReusedEscrow', 'escrow-reuse', 2),
    fault('APS-EXE-04', 'noComplete', 'execute-paid', 12),
    fault('APS-PRF-01', 'skipProofCommit', 'execute-paid', 2),
    fault('APS-PRF-04', 'otherPlanHash', 'execute-paid', 2),
    fault('APS-MKT-01', 'staleListing', 'marketplace-listing', 1),
    fault('APS-MKT-02', 'settleOnFailure', 'marketplace-hire', 10),
    fault('APS-MKT-02', 'payoutOffByOne', 'marketplace-hire', 10),
    fault('APS-MKT-02', 'keepRefund', 'marketplace-hire', 10),
    fault('APS-MKT-02', 'noFundsCheck', 'marketplace-hire', 2),
    fault('APS-MKT-02', 'dropPayload', 'marketplace-hire', 6),
    fault('APS-MKT-04', 'forgetHireAnswer', 'marketplace-hire', 2),
    fault('APS-MKT-02', 'noHireAnchor', 'marketplace-revert', 2),
    fault('APS-MKT-03', 'noCallerAuth', 'marketplace-auth', 2),
    fault('APS-FLT-01', 'noIdempotency', 'fault-duplicate-execute', 1),
    fault('APS-ORG-01', 'noRevertCheck', 'escrow-reorg', 1),
    { requirement: 'APS-RST-01', defect: APS1_FAULTS.describe('inMemoryState'), grep: 'restart-every-step', runs: 1, variant: { restartable: ['inMemoryState'] } },
    { requirement: 'APS-RST-01', defect: APS1_FAULTS.describe('noCrashResume'), grep: 'restart-inside-completion', runs: 1, variant: { restartable: ['noCrashResume'] } },
    { requirement: 'APS-RST-01', defect: APS1_FAULTS.describe('noHireRecovery'), grep: 'restart-inside-hire', runs: 1, variant: { restartable: ['noHireRecovery'] } },
    fault('APS-MKT-03', 'acceptUnverifiableSignature', 'marketplace-auth', 2),
    fault('APS-MKT-03', 'authWindowTenMinutes', 'marketplace-auth', 1),
    quirk('APS-DSP-01', 'penaltyFromWinner', 'the penalty is cut from the winner', 'dispute-outcomes'),
    quirk('APS-DSP-02', 'penaltyCapIn18Decimals', 'the cap 10e18 is compared in 6-decimal units', 'penalty-cap', 12),
    quirk('APS-JOB-05', 'timeoutAfterDelivery', 'a delivered job still times out', 'timeout-rules', 2),
    quirk('APS-PRF-03', 'verifyByAnyone', 'anyone verifies a commitment', 'proof-forgery', 2),
    mutant(
      'APS-PRF-02',
      'a commitment verifies twice',
      { key: 'aiProofRegistry', file: 'AIProofRegistry.sol', contract: 'AIProofRegistry', find: 'if (c.verified) revert AlreadyVerified(commitmentId);' },
      'proof-registry',
      2,
    ),
    mutant(
      'APS-JOB-01',
      'the fee is computed at settlement with the current rate',
      nexusMutant('uint256 fee = j.platformFee;', 'uint256 fee = Aps1Fees.share(j.budget, platformFeeBps);'),
      'fee-boundaries',
      8,
    ),
    mutant('APS-JOB-02', 'anyone may start a job', nexusMutant('_onlyWorkerJudgeOwner(jobId, j);'), 'job-lifecycle-model', 2),
    mutant('APS-JOB-03', 'a refund keeps the platform fee', nexusMutant('uint256 refund = j.budget;\n', 'uint256 refund = j.budget - j.platformFee;\n'), 'fee-boundaries', 3),
    mutant(
      'APS-JOB-04',
      'a settled job can be disputed again',
      nexusMutant('if (j.status != JobStatus.Created && j.status != JobStatus.Executing && j.status != JobStatus.Completed) {', 'if (j.status == JobStatus.Refunded) {'),
      'job-attacks',
      2,
    ),
    mutant('APS-JOB-06', 'settling does not mark the job settled', nexusMutant('_setStatus(jobId, j, JobStatus.Settled);'), 'job-races', 12),
    mutant(
      'APS-DSP-03',
      'anyone may settle',
      nexusMutant('_onlyJudgeOwner(jobId, j);\n        _notFinal(jobId, j);\n        uint256 fee', '_notFinal(jobId, j);\n        uint256 fee'),
      'job-attacks',
      2,
    ),
    mutant('APS-STR-01', 'eleven milestones are allowed', streamMutant('if (n == 0 || n > MAX_MILESTONES)', 'if (n == 0)'), 'stream-model', 2),
    mutant('APS-STR-02', 'an approval takes 8.01%', streamMutant('uint256 fee = Aps1Fees.share(m.amount, s.feeBps);', 'uint256 fee = Aps1Fees.share(m.amount, s.feeBps + 1);'), 'stream-model', 15),
    mutant('APS-STR-03', 'anyone may submit a milestone', streamMutant('if (msg.sender != s.agent && msg.sender != owner) revert NotAuthorized(streamId, msg.sender);'), 'stream-model', 15),
    mutant('APS-STR-04', 'a stream times out before its deadline', streamMutant('if (block.timestamp <= s.deadline) revert DeadlineNotReached(streamId, s.deadline);'), 'stream-model', 15),
    mutant(
      'APS-FEE-01',
      'fees round up',
      {
        key: 'paypolNexusV2',
        file: 'PayPolNexusV2.sol',
        contract: 'PayPolNexusV2',
        mutate: 'Aps1Fees.sol',
        find: 'return amount * rateBps / BPS;',
        replace: 'return (amount * rateBps + BPS - 1) / BPS;',
      },
      'fee-boundaries',
      3,
    ),
    mutant(
      'APS-REP-01',
      'the rating term weighs 601 per star',
      {
        key: 'paypolReputation',
        file: 'PayPolReputationRegistry.sol',
        contract: 'PayPolReputationRegistry',
        find: 'r.nexusRatingSum * 600 / r.nexusRatingCount',
        replace: 'r.nexusRatingSum * 601 / r.nexusRatingCount',
      },
      'reputation-score',
      10,
    ),
    mutant(
      'APS-REP-02',
      'anyone may push a snapshot',
      {
        key: 'paypolReputation',
        file: 'PayPolReputationRegistry.sol',
        contract: 'PayPolReputationRegistry',
        find: '    ) external onlyOwner {\n        _update(',
        replace: '    ) external {\n        _update(',
      },
      'reputation-score',
      2,
    ),
  ],
});
