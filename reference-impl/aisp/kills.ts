/**
 * Kill table for `aisp`: the reference backend and inference server with one test-only fault
 * (server/faults.ts), or the DiemMarketplace with one line of its real source changed (compiled once
 * with solcjs, placed at the canonical address with anvil_setCode, restored after), or the restartable
 * backend (a child process the crash scenario kills) with one fault. Every variant runs on one `base`
 * anvil and is described as a Target (endpoints + chain + accounts + config.aisp).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import solc from 'solc';
import type { Hex } from 'viem';
import { roleAccounts, rpcCall, startChain, type RunningChain, targetChainEntry } from '../../harness/chain/index.ts';
import { defineKills, type KillVariant } from '../../harness/testing/kill.ts';
import { parseTarget } from '../../harness/target/schema.ts';
import { AISP_PROFILE } from './protocol/profile.ts';
import { AISP_FAULTS } from './server/faults.ts';
import { startAispStack } from './server/stack.ts';
import { startRestartableAispBackend } from './restartable.ts';

/** One source edit: in `file` (under contracts/src/aisp), `from` becomes `to`. */
interface Mutation {
  file: 'DiemMarketplace.sol' | 'AispMath.sol';
  from: string;
  to: string;
}

interface Variant {
  faults?: Parameters<typeof AISP_FAULTS.parse>[0];
  mutation?: Mutation;
  /** The backend's confirmation depth, also declared in the target (default: the profile's). */
  confirmations?: number;
  /** Faults of the restartable backend the crash scenario kills (serve.ts --fault NAME); set: it is started. */
  restartable?: (typeof AISP_FAULTS.names)[number][];
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SRC = path.join(ROOT, 'contracts', 'src', 'aisp');
const MUTANT_CACHE = path.join(ROOT, 'contracts', 'cache', 'mutants');
const FILES = ['DiemMarketplace.sol', 'IDiemMarketplace.sol', 'AispMath.sol'] as const;

/**
 * The marketplace's runtime bytecode with one edit (same compiler settings as foundry.toml, same
 * storage layout), compiled once per source text and cached in contracts/cache/mutants/.
 */
export function marketplaceMutant(m: Mutation): Hex {
  const sources: Record<string, { content: string }> = {};
  for (const f of FILES) sources[f] = { content: readFileSync(path.join(SRC, f), 'utf8') };
  const original = sources[m.file]!.content;
  if (!original.includes(m.from)) throw new Error(`${m.file} no longer contains: ${m.from}`);
  sources[m.file] = { content: original.replace(m.from, m.to) };
  const key = createHash('sha256').update(JSON.stringify(sources)).digest('hex').slice(0, 24);
  const cached = path.join(MUTANT_CACHE, `DiemMarketplace-${key}.hex`);
  if (existsSync(cached)) return readFileSync(cached, 'utf8') as Hex;
  const input = {
    language: 'Solidity',
    sources,
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: 'cancun', outputSelection: { 'DiemMarketplace.sol': { DiemMarketplace: ['evm.deployedBytecode.object'] } } },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts: Record<string, Record<string, { evm: { deployedBytecode: { object: string } } }>>;
  };
  const errs = (out.errors ?? []).filter((e) => e.severity === 'error');
  if (errs.length) throw new Error(errs.map((e) => e.formattedMessage).join('\n'));
  const code = `0x${out.contracts['DiemMarketplace.sol']!.DiemMarketplace!.evm.deployedBytecode.object}` as Hex;
  mkdirSync(MUTANT_CACHE, { recursive: true });
  writeFileSync(cached, code);
  return code;
}

/** A variant with one server fault: the defect's words are the fault registry's. */
function fault(requirement: string, name: (typeof AISP_FAULTS.names)[number], grep: string, runs = 3, confirmations?: number): KillVariant<Variant> {
  const at = confirmations === undefined ? '' : ` (confirmations ${confirmations})`;
  return { requirement, defect: `${AISP_FAULTS.describe(name)}${at}`, grep, runs, variant: { faults: [name], confirmations } };
}

/** A variant whose restartable backend has one fault, against AISP-RST-01 (one run: two restarts). */
function restart(name: (typeof AISP_FAULTS.names)[number]): KillVariant<Variant> {
  return { requirement: 'AISP-RST-01', defect: AISP_FAULTS.describe(name), grep: 'backend-restart', runs: 1, variant: { restartable: [name] } };
}

/** A variant with one contract edit. */
function mutant(requirement: string, defect: string, grep: string, m: Mutation, runs = 6): KillVariant<Variant> {
  return { requirement, defect: `the marketplace ${defect}`, grep, runs, variant: { mutation: m } };
}

let chain: RunningChain | undefined;

export default defineKills<Variant>({
  protocol: 'aisp',
  seed: 5,
  controlRuns: 3,
  controlWithoutRestart: 'certify.test.ts: the backend + inference server pass AISP-RST-01 through the restart control of their target file',
  async setup() {
    chain = await startChain({ profile: 'base' });
  },
  async teardown() {
    await chain?.stop();
  },
  async start(v) {
    const c = chain!;
    const market = c.profile.contracts.diemMarketplace!;
    const original = v?.mutation ? await rpcCall<Hex>(c.rpcUrl, 'eth_getCode', [market, 'latest']) : undefined;
    if (v?.mutation) await rpcCall(c.rpcUrl, 'anvil_setCode', [market, marketplaceMutant(v.mutation)]);
    const confirmations = v?.confirmations ?? AISP_PROFILE.confirmations;
    const stack = await startAispStack(c, { faults: AISP_FAULTS.parse(v?.faults ?? []), backend: { confirmations } });
    // The crashable backend (a child process) for the control and the crash variants only: it costs a process.
    const restartable =
      !v || v.restartable
        ? await startRestartableAispBackend(c, stack.venice.url, {
            args: [...(v?.restartable ?? []).flatMap((f) => ['--fault', f]), '--confirmations', String(confirmations)],
          }).catch(async (e) => {
            await stack.stop();
            throw e;
          })
        : undefined;
    const target = parseTarget({
      name: 'aisp reference variant',
      chains: [targetChainEntry(c)],
      endpoints: { 'aisp-backend': stack.backend.url, 'aisp-inference': stack.venice.url },
      accounts: roleAccounts.map((a) => ({ role: a.role, kind: 'evm', address: a.address, privateKey: a.privateKey })),
      capabilities: ['clock-control', 'snapshot', 'reorg', 'aisp:admin-keys', ...(restartable ? ['restart'] : [])],
      config: { aisp: { adminKeys: stack.adminKeys, confirmations, signatureWindowSeconds: AISP_PROFILE.signatureWindowSeconds } },
      ...(restartable ? { restart: { 'aisp-backend': restartable.control } } : {}),
    });
    return {
      target,
      async stop() {
        await restartable?.stop();
        await stack.stop();
        if (original) await rpcCall(c.rpcUrl, 'anvil_setCode', [market, original]);
      },
    };
  },
  variants: [
    // ---- the contract ----
    mutant('AISP-LIST-01', 'lists a zero price', 'list-terms', { file: 'DiemMarketplace.sol', from: 'if (pricePerDay == 0) revert ZeroPrice();', to: '' }, 2),
    mutant('AISP-FUND-01', 'makes a rental expire one second late', 'fund-exact-cost', {
      file: 'DiemMarketplace.sol',
      from: 'uint64 expiresAt = uint64(block.timestamp + termDays * DAY);',
      to: 'uint64 expiresAt = uint64(block.timestamp + termDays * DAY + 1);',
    }),
    mutant('AISP-FUND-02', 'lets a provider rent its own listing', 'fund-exact-cost', { file: 'DiemMarketplace.sol', from: 'if (msg.sender == l.provider) revert SelfRental(msg.sender);', to: '' }, 2),
    mutant('AISP-CAP-01', 'has no capacity check', 'capacity-race', { file: 'DiemMarketplace.sol', from: 'if (diemAmount > available) revert CapacityExceeded(diemAmount, available);', to: '' }),
    mutant(
      'AISP-TERM-01',
      'settles before expiry',
      'settle-after-term',
      { file: 'DiemMarketplace.sol', from: 'if (block.timestamp < rt.expiresAt) revert NotExpired(rentalId, rt.expiresAt);', to: '' },
      2,
    ),
    mutant('AISP-FEE-01', 'rounds the fee up (toward the protocol)', 'settle-after-term', {
      file: 'AispMath.sol',
      from: 'return (amount / BPS) * feeBps + ((amount % BPS) * feeBps) / BPS;',
      to: 'return (amount / BPS) * feeBps + ((amount % BPS) * feeBps + BPS - 1) / BPS;',
    }),
    mutant('AISP-REV-01', 'does not charge the day in progress on a revoke', 'revoke-refund', {
      file: 'DiemMarketplace.sol',
      from: 'uint256 usedDays = (block.timestamp - rt.fundedAt) / DAY + (refundRule == RefundRule.STARTED_DAYS ? 1 : 0);',
      to: 'uint256 usedDays = (block.timestamp - rt.fundedAt) / DAY;',
    }),
    mutant('AISP-ONCE-01', 'never marks a settled rental SETTLED', 'settle-after-term', { file: 'DiemMarketplace.sol', from: 'rt.status = RentalStatus.SETTLED;', to: '' }, 3),
    mutant(
      'AISP-CONS-01',
      'forgets to lower totalEscrowed on settle',
      'marketplace-model',
      { file: 'DiemMarketplace.sol', from: 'totalEscrowed -= cost_;\n        address provider', to: 'address provider' },
      6,
    ),
    // ---- the backend ----
    fault('AISP-API-01', 'listingIgnoresFunded', 'listing-routes'),
    fault('AISP-KEY-01', 'storeKeyAnySigner', 'store-key-auth'),
    fault('AISP-KEY-02', 'expiresAtOffByOneDay', 'get-key-funder-only'),
    fault('AISP-KEY-03', 'keyToAnySigner', 'get-key-funder-only'),
    fault('AISP-KEY-04', 'keepRevertedRentals', 'funded-revert'),
    fault('AISP-KEY-04', 'ignoreConfirmations', 'key-before-funding', 2, 3),
    fault('AISP-ORG-01', 'ignoreReorgs', 'funded-reorg', 2),
    fault('AISP-ORG-01', 'keepRevertedRentals', 'funded-reorg', 2),
    fault('AISP-ORG-01', 'ignoreConfirmations', 'funded-reorg', 2, 3),
    fault('AISP-KEY-05', 'keyAfterExpiry', 'key-after-end'),
    fault('AISP-KEY-05', 'keyAfterEnd', 'key-after-end'),
    fault('AISP-SIG-01', 'noSignatureWindow', 'get-key-funder-only'),
    fault('AISP-SIG-02', 'acceptReplay', 'get-key-funder-only'),
    fault('AISP-SIG-02', 'shortReplayMemory', 'replay-later'),
    fault('AISP-KEY-04', 'rentalIdUnchecked', 'key-before-funding'),
    fault('AISP-ADMIN-01', 'acceptAdminKey', 'store-key-auth'),
    fault('AISP-LEAK-01', 'keyInListing', 'keys-never-leaked'),
    fault('AISP-BAL-01', 'balanceCached', 'balance'),
    fault('AISP-BAL-01', 'balanceDropsExpiry', 'balance'),
    fault('AISP-REQ-01', 'requestsAcceptAnything', 'rental-requests'),
    fault('AISP-ROB-01', 'bodyJsonParse', 'aisp/robustness', 5),
    fault('AISP-ROB-01', 'storeKeyBeforeAuth', 'aisp/robustness', 5),
    fault('AISP-ROB-01', 'rentalIdUnchecked', 'aisp/robustness', 5),
    fault('AISP-ROB-01', 'keyInListing', 'aisp/robustness', 5),
    // ---- requests delivered twice (one run: every mode and request kind runs in it) ----
    fault('AISP-FLT-01', 'usedSignatureRace', 'fault-duplicate-delivery', 1),
    fault('AISP-FLT-01', 'debitAfterCompletion', 'fault-duplicate-delivery', 1),
    // ---- the backend across a crash (the restartable child carries the fault) ----
    restart('keySecretPerStart'),
    restart('replayMemoryInMemory'),
    restart('noCatchUpOnStart'),
    // ---- the inference server ----
    fault('AISP-INF-01', 'inferenceNondeterministic', 'inference-chat'),
    fault('AISP-INF-01', 'modelsNotAList', 'inference-chat'),
    fault('AISP-INF-02', 'noSpendLimit', 'spend-limit'),
    fault('AISP-INF-03', 'noEpochReset', 'epoch-reset'),
    fault('AISP-INF-04', 'expiredKeysWork', 'key-expiry-revocation'),
    fault('AISP-INF-04', 'revokedKeysWork', 'key-expiry-revocation'),
    fault('AISP-INF-05', 'inferenceKeysAreAdmin', 'admin-routes'),
    fault('AISP-INF-05', 'adminKeyListedWhole', 'admin-routes'),
    fault('AISP-INF-06', 'noAccountDebit', 'spend-limit'),
  ],
});
