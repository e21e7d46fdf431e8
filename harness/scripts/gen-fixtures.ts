/**
 * Generates fixtures/chain-state/<profile>.json: a blank anvil per profile, every canonical contract
 * placed (anvil_setCode with the forge artifact's runtime code) and initialised, the admin made USDC
 * minter, every role account funded; then anvil_dumpState. Chains start from these files and never
 * redeploy. Run through `npm run gen` (it builds the contracts first).
 *
 * Usage: tsx harness/scripts/gen-fixtures.ts [--profile <id>]... [--allow-missing] [--check]
 *   --check          rebuild in memory and exit 1 if a committed fixture differs (writes nothing)
 *   --allow-missing  skip table rows whose artifact is not built yet (warns; the sync test will fail
 *                    until the fixture is regenerated with every contract).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { keccak256, type Hex } from 'viem';
import { artifactPath, readArtifact, REPO_ROOT } from '../chain/artifacts.ts';
import { chainProfileIds, placementsFor, dumpState, fixturePath, fundRoleAccounts, isChainProfileId, placeContracts, rpcCall, startChain, type ChainProfileId } from '../chain/index.ts';

type DumpBlock = { header: { number: string } };
type DumpTx = { block_number: string | number; info: { transaction_index: number } };
const num = (v: string | number) => Number(BigInt(v));

/** anvil dumps blocks and transactions in hash-map order; sort them so equal states give equal files. */
function normalizeDump(state: Record<string, unknown>): Record<string, unknown> {
  const blocks = [...((state.blocks as DumpBlock[] | undefined) ?? [])].sort((a, b) => num(a.header.number) - num(b.header.number));
  const txs = [...((state.transactions as DumpTx[] | undefined) ?? [])].sort((a, b) => num(a.block_number) - num(b.block_number) || a.info.transaction_index - b.info.transaction_index);
  return { ...state, blocks, transactions: txs };
}

/** 2026-01-01T00:00:00Z. */
const GENESIS_TIMESTAMP = 1_767_225_600n;

/** A freshly built fixture: file text and what went into it. */
export interface BuiltFixture {
  profile: ChainProfileId;
  text: string;
  placed: string[];
  funded: number;
}

/**
 * Build one profile's fixture on a throw-away blank anvil and return the file text (not written).
 * Deterministic: the same contracts and table give the same text.
 */
export async function buildFixture(profileId: ChainProfileId, allowMissing = false): Promise<BuiltFixture> {
  const rows = placementsFor(profileId).filter((row) => {
    if (existsSync(artifactPath(row.artifact.file, row.artifact.contract))) return true;
    const rel = path.relative(REPO_ROOT, artifactPath(row.artifact.file, row.artifact.contract));
    if (!allowMissing) throw new Error(`${profileId}: artifact ${rel} missing for '${row.key}'. Run \`npm run gen\` (builds contracts first).`);
    process.stderr.write(`warning: ${profileId}: skipping '${row.key}' (artifact ${rel} not built)\n`);
    return false;
  });

  const chain = await startChain({ profile: profileId, state: 'blank', genesisTimestamp: GENESIS_TIMESTAMP });
  try {
    // Fixed genesis time + 1 s per block => identical dumps on every run (no churn in git). Chains
    // mine a block at the host clock right after loading, so these old times are never "now".
    await rpcCall(chain.rpcUrl, 'anvil_setBlockTimestampInterval', [1]);
    const placed = await placeContracts(chain, { placements: rows });
    const funded = await fundRoleAccounts(chain);
    // Check before dumping: every placed address holds exactly the artifact's runtime code.
    for (const row of rows) {
      const address = chain.profile.contracts[row.key]!;
      const code = await rpcCall<Hex>(chain.rpcUrl, 'eth_getCode', [address, 'latest']);
      const expected = readArtifact(row.artifact.file, row.artifact.contract).deployedBytecode;
      if (keccak256(code) !== keccak256(expected)) throw new Error(`${profileId}: code at ${address} (${row.key}) differs from the artifact`);
    }
    const state = normalizeDump(await dumpState(chain.rpcUrl));
    return { profile: profileId, text: `${JSON.stringify(state, null, 1)}\n`, placed: placed.map((p) => p.key), funded: funded.length };
  } finally {
    await chain.stop();
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      profile: { type: 'string', multiple: true },
      'allow-missing': { type: 'boolean', default: false },
      check: { type: 'boolean', default: false },
    },
  });
  const profiles = values.profile ?? chainProfileIds();
  for (const p of profiles) {
    if (!isChainProfileId(p)) {
      process.stderr.write(`unknown profile '${p}'; known: ${chainProfileIds().join(', ')}\n`);
      return 2;
    }
  }
  let stale = 0;
  for (const p of profiles as ChainProfileId[]) {
    const built = await buildFixture(p, values['allow-missing'] ?? false);
    const file = fixturePath(p);
    const rel = path.relative(REPO_ROOT, file);
    if (values.check) {
      const same = existsSync(file) && readFileSync(file, 'utf8') === built.text;
      if (!same) stale++;
      process.stdout.write(`${p}: ${same ? 'up to date' : 'OUT OF DATE'} (${rel})\n`);
      continue;
    }
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, built.text);
    process.stdout.write(`${p}: ${built.placed.join(', ')} placed; ${built.funded} role accounts funded -> ${rel}\n`);
  }
  if (stale > 0) process.stderr.write('fixtures out of date: run `npm run gen`\n');
  return stale > 0 ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`gen-fixtures: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 2;
    },
  );
}
