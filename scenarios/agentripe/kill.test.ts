/**
 * Each Agentripe requirement catches a broken server: an Agentripe stack with one test-only fault
 * (or a changed rule such as the review limit) runs on one base-sepolia anvil, is described as a
 * Target (endpoints + chain + accounts only), and the scenario covering the requirement must report
 * it failed. The five acceptance variants are also run through `amh certify` on a separate process
 * in certify.test.ts; this file covers the other requirements in-process, which is faster.
 *
 * AGR-ESC-03 (buyer reclaim) is enforced by the escrow contract alone, so its broken variants are
 * the project's escrow with one check deleted, placed at the canonical address. For AGR-ESC-02 the escrow refuses a second resolution whatever the server does, so the variant is a
 * server whose reported task state does not follow the escrow.
 */
import { test, beforeAll, afterAll } from 'vitest';
import assert from 'node:assert/strict';
import { roleAccounts, startChain, type RunningChain } from '../../harness/chain/index.ts';
import { createTargetClients } from '../../harness/engine/session.ts';
import { runAll } from '../../harness/engine/runner.ts';
import { parseTarget } from '../../harness/target/schema.ts';
import { startAgentripeStack } from '../../reference-impl/agentripe/server/stack.ts';
import type { AgentripeServerConfig } from '../../reference-impl/agentripe/server/server.ts';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import solc from 'solc';
import type { Hex } from 'viem';
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import agentripe from './index.ts';

let chain: RunningChain;
beforeAll(async () => {
  chain = await startChain({ profile: 'base-sepolia' });
});
afterAll(async () => {
  await chain?.stop();
});

/**
 * A proxy in front of the server that rewrites one route's JSON answer: a broken server built from
 * the reference one without touching it (for read-route requirements).
 */
async function mangler(upstream: string, match: RegExp, edit: (body: any) => unknown): Promise<{ url: string; stop(): Promise<void> }> {
  const app = new Hono();
  app.all('*', async (c) => {
    const u = new URL(c.req.url);
    const body = c.req.method === 'GET' || c.req.method === 'HEAD' ? undefined : await c.req.arrayBuffer();
    const headers = new Headers(c.req.raw.headers);
    headers.delete('host');
    const res = await fetch(`${upstream}${u.pathname}${u.search}`, { method: c.req.method, headers, body });
    if (!match.test(u.pathname) || res.status !== 200) return new Response(res.body, res);
    return c.json(edit(await res.json()) as object, 200);
  });
  const server = await new Promise<ReturnType<typeof serve>>((r) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => r(s));
  });
  const addr = server.address() as { port: number };
  return { url: `http://127.0.0.1:${addr.port}`, stop: () => new Promise<void>((r) => server.close(() => r())) };
}

type Mangle = { match: RegExp; edit: (body: any) => unknown };

const ESCROW_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'contracts', 'src', 'agentripe');

/**
 * The project's escrow with one line of its source removed (a deliberately broken escrow), compiled
 * with solcjs (same settings as foundry.toml), as runtime bytecode for anvil_setCode at the canonical
 * address: same storage layout, so the deployed state keeps working.
 */
function brokenEscrowCode(remove: string): Hex {
  const src = readFileSync(path.join(ESCROW_DIR, 'AgentripeEscrow.sol'), 'utf8');
  if (!src.includes(remove)) throw new Error(`escrow source no longer contains: ${remove}`);
  const input = {
    language: 'Solidity',
    sources: { 'AgentripeEscrow.sol': { content: src.replace(remove, '') } },
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: 'cancun', outputSelection: { 'AgentripeEscrow.sol': { AgentripeEscrow: ['evm.deployedBytecode.object'] } } },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input), { import: (p: string) => ({ contents: readFileSync(path.join(ESCROW_DIR, p), 'utf8') }) })) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts: Record<string, Record<string, { evm: { deployedBytecode: { object: string } } }>>;
  };
  const errs = (out.errors ?? []).filter((e) => e.severity === 'error');
  if (errs.length) throw new Error(errs.map((e) => e.formattedMessage).join('\n'));
  return `0x${out.contracts['AgentripeEscrow.sol']!.AgentripeEscrow!.evm.deployedBytecode.object}`;
}

async function rpc(method: string, params: unknown[]): Promise<unknown> {
  const r = await fetch(chain.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  const j = (await r.json()) as { result?: unknown; error?: { message: string } };
  if (j.error) throw new Error(`${method}: ${j.error.message}`);
  return j.result;
}

async function certify(o: { config: Partial<AgentripeServerConfig>; grep: string; runs: number; mangle?: Mangle }) {
  const stack = await startAgentripeStack(chain, o.config);
  const proxy = o.mangle ? await mangler(stack.server.url, o.mangle.match, o.mangle.edit) : undefined;
  try {
    const { usdc: _u, ...contracts } = chain.profile.contracts;
    const target = parseTarget({
      name: 'agentripe variant',
      chains: [{ id: 'base-sepolia', chainId: chain.chainId, rpcUrl: chain.rpcUrl, usdc: { ...chain.profile.usdc }, contracts }],
      endpoints: { agentripe: proxy?.url ?? stack.server.url },
      accounts: roleAccounts.map((a) => ({ role: a.role, address: a.address, privateKey: a.privateKey })),
      capabilities: ['clock-control', 'snapshot'],
    });
    return await runAll(
      { target, targetInfo: { name: target.name, kind: 'file', capabilities: target.capabilities, chains: [] } as never, workers: [createTargetClients(target)], protocols: [agentripe] },
      { runs: o.runs, seed: 5, command: 'test', protocols: ['agentripe'], grep: o.grep },
    );
  } finally {
    await proxy?.stop();
    await stack.stop();
  }
}

/** requirement → a server defect that must make it fail, and the scenario that shows it. */
const VARIANTS: { requirement: string; grep: string; runs: number; config: Partial<AgentripeServerConfig>; mangle?: Mangle }[] = [
  { requirement: 'AGR-PAY-02', grep: 'paid-task-approved', runs: 2, config: { faults: { taskIdNotTxHash: true } } },
  { requirement: 'AGR-AMT-01', grep: 'paid-task-approved', runs: 2, config: { faults: { recordAmountOffByOne: true } } },
  { requirement: 'AGR-TASK-01', grep: 'task-lifecycle-model', runs: 10, config: { faults: { anyStateComplete: true } } },
  { requirement: 'AGR-REV-01', grep: 'paid-task-approved', runs: 2, config: { faults: { refundOnApprove: true } } },
  { requirement: 'AGR-REV-02', grep: 'review-rejections', runs: 2, config: { reviewLimit: 1 } },
  { requirement: 'AGR-FAIL-01', grep: 'vendor-fail-refund', runs: 2, config: { faults: { failWithoutRefund: true } } },
  { requirement: 'AGR-AUTH-01', grep: 'vendor-ownership', runs: 2, config: { faults: { noOwnershipCheck: true } } },
  { requirement: 'AGR-AUTH-03', grep: 'wallet-change-signature', runs: 2, config: { faults: { walletChangeAlwaysOk: true } } },
  {
    // A server whose reported outcome does not follow the escrow (completed and failed swapped).
    requirement: 'AGR-ESC-02',
    grep: 'vendor-races',
    runs: 8,
    config: {},
    mangle: { match: /^\/tasks\/0x[0-9a-f]{64}$/i, edit: (b) => ({ ...b, status: ({ failed: 'completed', completed: 'failed' } as Record<string, string>)[b.status] ?? b.status }) },
  },
  { requirement: 'AGR-AUTH-04', grep: 'api-key-auth', runs: 2, config: { authWindowSeconds: 1_000_000_000 } },
  {
    requirement: 'AGR-API-01',
    grep: 'buyer-routes',
    runs: 2,
    config: {},
    mangle: { match: /^\/tasks\/0x[0-9a-f]{64}\/detail$/i, edit: (b) => ({ ...b, payment: { ...b.payment, amount: String(BigInt(b.payment.amount) + 1n) } }) },
  },
];

test('AGR-ESC-03 catches an escrow whose reclaim ignores the deadline or the buyer', { timeout: 180_000 }, async () => {
  const escrow = chain.profile.contracts.agentripeEscrow!;
  const original = (await rpc('eth_getCode', [escrow, 'latest'])) as Hex;
  const defects = ['if (block.timestamp < d.reclaimableAt) revert ReclaimTooEarly(depositId, d.reclaimableAt);', 'if (msg.sender != d.buyer) revert NotDepositBuyer(depositId, msg.sender);'];
  try {
    for (const line of defects) {
      await rpc('anvil_setCode', [escrow, brokenEscrowCode(line)]);
      const r = await certify({ config: {}, grep: 'vendor-absent-reclaim', runs: 2 });
      const q = r.protocols[0]!.requirements.find((x) => x.id === 'AGR-ESC-03');
      assert.equal(q?.status, 'fail', `without "${line}": AGR-ESC-03 is ${q?.status}`);
    }
  } finally {
    await rpc('anvil_setCode', [escrow, original]);
  }
});

for (const v of VARIANTS) {
  test(`${v.requirement} catches ${JSON.stringify(v.config)}`, { timeout: 120_000 }, async () => {
    const r = await certify(v);
    const p = r.protocols[0]!;
    const q = p.requirements.find((x) => x.id === v.requirement);
    assert.equal(q?.status, 'fail', `${v.requirement} is ${q?.status} (${q?.reason ?? ''}); scenarios: ${JSON.stringify(p.scenarios.map((s) => [s.caseId, s.status, s.reason]))}`);
    assert.equal(r.exitCode, 1);
  });
}
