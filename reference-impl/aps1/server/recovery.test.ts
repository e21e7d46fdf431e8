/**
 * The marketplace finishes hires a crash cut: rows left in each open state (written here as a
 * killed marketplace leaves them, with its own key doing the chain steps it had done) are resumed by
 * a new marketplace on the same SQLite file, no transaction is sent twice, and the money ends exact.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, test } from 'vitest';
import { keccak256, parseEventLogs, type Address, type Hex } from 'viem';
import { rpcCall, serviceAccount } from '../../../harness/chain/index.ts';
import { allowAll } from '../agents/employer.ts';
import { marketplaceClient } from '../agents/clients.ts';
import { nexusAbi } from '../protocol/abi.ts';
import { platformFee } from '../protocol/fees.ts';
import { Aps1Chain, localChain } from './chain.ts';
import { Aps1Db } from './db.ts';
import { startMarketplace, type Marketplace } from './marketplace.ts';
import { aps1Addresses, aps1Tokens } from './stack.ts';
import { startLab, type Lab } from './testkit.ts';

const PRICE = 5_000_000n;
const KEY = serviceAccount('aps1-marketplace-recovery-test');

let lab: Lab;
let dir: string;
beforeAll(async () => {
  lab = await startLab();
  dir = mkdtempSync(path.join(tmpdir(), 'aps1-recovery-'));
  await rpcCall(lab.chain.rpcUrl, 'anvil_setBalance', [KEY.address, `0x${(10n ** 21n).toString(16)}`]);
  await allowAll(lab.actor('buyer1'), lab.alpha, KEY.address);
}, 120_000);
afterAll(async () => {
  await lab?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function market(faults = {}): Promise<Marketplace> {
  const c = lab.chain;
  return startMarketplace({
    rpcUrl: c.rpcUrl,
    chainId: c.chainId,
    addresses: aps1Addresses(c),
    tokens: aps1Tokens(c).map((t) => t.address),
    privateKey: KEY.privateKey,
    agents: [lab.stack.agent.url],
    dbPath: path.join(dir, 'market.sqlite'),
    faults,
  });
}

async function closed(db: Aps1Db, ids: string[]): Promise<void> {
  const until = Date.now() + 60_000;
  while (ids.some((id) => !['settled', 'returned', 'failed'].includes(db.marketJob(id)!.state))) {
    if (Date.now() > until) throw new Error(`still open: ${ids.map((id) => `${id} ${db.marketJob(id)!.state}`).join(', ')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('hires cut in each open state are finished by the next marketplace; nothing is sent twice; the money is exact', async () => {
  // The first marketplace sets up its allowance to NexusV2 and the file; then "crashes" (stops).
  await (await market()).stop();
  const caller = lab.actor('buyer1').address as Address;
  const agent = lab.stack.agent.wallet as Address;
  const manifest = JSON.stringify((await (await fetch(`${lab.stack.agent.url}/manifest`)).json()) as unknown);
  const chain = new Aps1Chain(localChain(lab.chain.chainId, lab.chain.rpcUrl), lab.chain.rpcUrl, aps1Addresses(lab.chain), KEY.privateKey);
  const db = new Aps1Db(path.join(dir, 'market.sqlite'));
  const row = (jobId: string, state: string) =>
    assert.ok(
      db.insertMarketJob({ jobId, agentId: 'data-analyzer', callerWallet: caller, token: lab.alpha, amount: PRICE.toString(), state, prompt: `task ${jobId}`, payload: '{"k":1}', manifest }, 'now'),
    );
  const caller0 = await lab.balance(lab.alpha, caller);
  const agent0 = await lab.balance(lab.alpha, agent);
  const market0 = await lab.balance(lab.alpha, KEY.address);
  const from = await chain.pub.getBlockNumber();

  // Killed after its pull was mined.
  row('rc-pulled', 'pulling');
  db.updateMarketJob('rc-pulled', { pullTx: (await chain.transferFrom(lab.alpha, caller, PRICE)).hash });
  // Killed after it signed its pull, which never reached the node.
  row('rc-lost-pull', 'pulling');
  db.updateMarketJob('rc-lost-pull', { pullTx: keccak256('0x01') });
  // Killed after its createJob was mined.
  row('rc-created', 'pulling');
  await chain.transferFrom(lab.alpha, caller, PRICE);
  const created = await chain.createJob(agent, KEY.address, lab.alpha, PRICE, 3600n);
  db.updateMarketJob('rc-created', { state: 'pulled', createTx: created.tx.hash });
  // Killed after it refunded the job and its transfer back was mined.
  row('rc-returned', 'pulling');
  await chain.transferFrom(lab.alpha, caller, PRICE);
  const refunded = await chain.createJob(agent, KEY.address, lab.alpha, PRICE, 3600n);
  await chain.refundJob(refunded.jobId);
  const back = await chain.transfer(lab.alpha, caller, PRICE);
  db.updateMarketJob('rc-returned', {
    state: 'refunded',
    nexusJobId: refunded.jobId.toString(),
    createTx: refunded.tx.hash,
    returnTx: back.hash,
    answer: JSON.stringify({ result: null, why: 'the agent failed' }),
  });
  db.close();

  const m = await market();
  try {
    const ids = ['rc-pulled', 'rc-lost-pull', 'rc-created', 'rc-returned'];
    await closed(m.db, ids);
    assert.deepEqual(
      ids.map((id) => m.db.marketJob(id)!.state),
      ['settled', 'failed', 'settled', 'returned'],
    );
    const fee = platformFee(PRICE, 800n);
    assert.equal(caller0 - (await lab.balance(lab.alpha, caller)), 2n * PRICE, 'two hires paid once each; the lost pull and the refund cost nothing');
    assert.equal((await lab.balance(lab.alpha, agent)) - agent0, 2n * (PRICE - fee));
    assert.equal(await lab.balance(lab.alpha, KEY.address), market0, 'the marketplace keeps nothing');
    // One NexusV2 job per hire that got one: the resumed pull created one, the recorded createJob none more.
    const logs = await chain.pub.getLogs({ address: lab.contracts.nexus, fromBlock: from });
    const jobs = parseEventLogs({ abi: nexusAbi, logs, eventName: 'JobCreated' }).filter((e) => e.args.employer.toLowerCase() === KEY.address.toLowerCase());
    assert.equal(jobs.length, 3);
    assert.equal(BigInt(JSON.parse(m.db.marketJob('rc-created')!.response!).escrow.onChainId), created.jobId);
    assert.equal(JSON.parse(m.db.marketJob('rc-returned')!.response!).settlement.type, 'refund');
    // The caller's resend gets the stored answer.
    const mk = marketplaceClient(m.url);
    const again = await mk.execute('data-analyzer', { jobId: 'rc-pulled', prompt: 'task rc-pulled', callerWallet: caller }, { signer: lab.key('buyer1') });
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(again.body, JSON.parse(m.db.marketJob('rc-pulled')!.response!));
    assert.equal(again.body.settlement.type, 'settle');
    const lost = await mk.execute('data-analyzer', { jobId: 'rc-lost-pull', prompt: 'task rc-lost-pull', callerWallet: caller }, { signer: lab.key('buyer1') });
    assert.equal(lost.status, 409);
  } finally {
    await m.stop();
  }
}, 180_000);

test('with noHireRecovery a cut hire stays open and its resend is refused (the fault the kill table uses)', async () => {
  const caller = lab.actor('buyer1').address as Address;
  const db = new Aps1Db(path.join(dir, 'market.sqlite'));
  const manifest = JSON.stringify((await (await fetch(`${lab.stack.agent.url}/manifest`)).json()) as unknown);
  db.insertMarketJob({ jobId: 'rc-stuck', agentId: 'data-analyzer', callerWallet: caller, token: lab.alpha, amount: PRICE.toString(), state: 'pulling', prompt: 'x', payload: null, manifest }, 'now');
  db.updateMarketJob('rc-stuck', { pullTx: keccak256('0x02') as Hex });
  db.close();
  const m = await market({ noHireRecovery: true });
  try {
    const r = await marketplaceClient(m.url).execute('data-analyzer', { jobId: 'rc-stuck', prompt: 'x', callerWallet: caller }, { signer: lab.key('buyer1') });
    assert.equal(r.status, 409);
    assert.equal(m.db.marketJob('rc-stuck')!.state, 'pulling');
  } finally {
    await m.stop();
  }
}, 60_000);
