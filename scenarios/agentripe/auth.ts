/**
 * Vendor authentication and authority: every credential (EVM headers, an ak_ key, with and without
 * an X-Agent-Id naming someone else) tried on another agent's task and on the listing route; every
 * kind of bad signature in every run; wallet changes; API keys. After each refusal the task, the
 * escrow and the money are checked unchanged (scenario rules 4, 5, 6).
 */
import fc from 'fast-check';
import type { Address, Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { hasCapability } from '../../harness/target/schema.ts';
import { registerWithKeyMessage, solanaAuthHeaders, solanaKeyPair, vendorAuthMessage } from '../../reference-impl/agentripe/protocol/auth.ts';
import { identityAbi } from '../../reference-impl/agentripe/protocol/abi.ts';
import { agentWallet, agr, card, constantsOf, deposit, getJson, goodResult, registerAgent, sendJson, short, signWalletSet, uniq, type Agr } from './lab.ts';
import { PATH, paidTask, tidy, type PaidTask } from './observe.ts';
import { BASE } from './tasks.ts';

/** Headers and the action log name of a credential. */
interface Credential {
  name: string;
  headers(): Promise<Record<string, string>>;
}

/** EVM vendor-auth headers signed by `key` for `agentId`, claiming `claimed` (default: the signer). */
function evmHeaders(key: Hex, agentId: bigint | string, ts: number, claimed?: Address): Promise<Record<string, string>> {
  const signer = privateKeyToAccount(key);
  const address = claimed ?? signer.address;
  return signer
    .signMessage({ message: vendorAuthMessage(address, ts) })
    .then((signature) => ({ 'x-vendor-address': address, 'x-agent-id': agentId.toString(), 'x-timestamp': String(ts), 'x-signature': signature }));
}

/** What a task looks like from the outside: status, /result, deposit status. */
async function snapshot(t: PaidTask): Promise<string> {
  const [st, r, d] = await Promise.all([getJson(t.a, `/tasks/${t.taskId}`), getJson(t.a, `/tasks/${t.taskId}/result`), deposit(t.a, t.taskId)]);
  return JSON.stringify({ status: st.body?.status, result: [r.status, r.body?.status, r.body?.result ?? null, r.body?.errorMessage ?? null], deposit: d.status });
}

/** Registers an agent with an ak_ key for `role`'s wallet; undefined when the route does not give one. */
async function keyAgent(a: Agr, role: string): Promise<{ agentId: string; apiKey: string } | undefined> {
  const wallet = privateKeyToAccount(a.ctx.key(role));
  const ts = Math.floor(Date.now() / 1000);
  const walletSignature = await wallet.signMessage({ message: registerWithKeyMessage(wallet.address, ts) });
  a.ctx.act(`${role} registers an agent with POST /agents/register-with-key`);
  const r = await sendJson(a, 'POST', '/agents/register-with-key', {
    walletAddress: wallet.address,
    walletSignature,
    timestamp: ts,
    data: card(a, `${role} key agent ${uniq()}`, [{ path: 'other', price: '$0.10' }]),
  });
  if (r.status !== 201 || typeof r.body?.apiKey !== 'string' || r.body?.agentId === undefined) return undefined;
  return { agentId: String(r.body.agentId), apiKey: r.body.apiKey };
}

/** Send a vendor action with raw headers. */
async function act(a: Agr, action: string, taskId: Hex, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  const body = action === 'complete' ? { result: goodResult(PATH) } : action === 'fail' ? { errorMessage: 'sabotage' } : {};
  return sendJson(a, 'POST', `/vendor/tasks/${taskId}/${action}`, body, headers);
}

const ACTIONS = ['start', 'complete', 'fail'] as const;
const CREDENTIALS = ['evm-own-agent', 'evm-claims-victim', 'key', 'key-names-victim'] as const;

export const foreignCredentials = defineScenario({
  kind: 'property',
  id: 'foreign-credentials',
  title: "Every vendor credential of another agent (EVM, ak_ key, with X-Agent-Id naming the victim) on the victim's task and on the listing: refused, nothing changes, nothing listed",
  requirements: ['AGR-AUTH-01', 'AGR-AUTH-05'],
  ...BASE,
  arbitrary: () =>
    fc.record({
      creds: fc.shuffledSubarray([...CREDENTIALS], { minLength: CREDENTIALS.length }),
      actions: fc.shuffledSubarray([...ACTIONS], { minLength: ACTIONS.length }),
      started: fc.boolean(),
    }),
  async run(ctx, v) {
    const t = await paidTask(ctx, { price: '$0.10', buyer: 'buyer1', checkPay: false });
    const a = t.a;
    if (v.started) await t.v.start(t.taskId);
    const otherAgent = await registerAgent(a, 'vendor2', 'other', '$0.10');
    const key = await keyAgent(a, 'vendor2');
    if (!key) ctx.act('(the server gave no ak_ key: the key credentials are skipped; AGR-AUTH-04 reports the route)');
    const now = () => Math.floor(Date.now() / 1000);
    const cred: Record<(typeof CREDENTIALS)[number], Credential | undefined> = {
      'evm-own-agent': { name: `vendor2's EVM headers for its own agent ${otherAgent}`, headers: () => evmHeaders(ctx.key('vendor2'), otherAgent, now()) },
      'evm-claims-victim': { name: `vendor2's EVM headers naming the victim agent ${t.agentId}`, headers: () => evmHeaders(ctx.key('vendor2'), t.agentId, now()) },
      key: key && { name: `the ak_ key of vendor2's agent ${key.agentId}`, headers: async () => ({ authorization: `Bearer ${key.apiKey}` }) },
      'key-names-victim': key && {
        name: `the ak_ key of agent ${key.agentId} with X-Agent-Id ${t.agentId}`,
        headers: async () => ({ authorization: `Bearer ${key.apiKey}`, 'x-agent-id': t.agentId.toString() }),
      },
    };
    const holders = { buyer: a.s.address(t.buyer), escrow: a.escrow, wallet: t.payee };
    // Every attempt is refused, so the task and the money must stay as they are now throughout.
    const before = await snapshot(t);
    const money = await ctx.balancesOf(a.s, a.usdc, holders);
    for (const c of v.creds) {
      const k = cred[c];
      if (!k) continue;
      for (const action of v.actions) {
        ctx.act(`with ${k.name}: ${action} the victim's task ${short(t.taskId)}`);
        const res = await act(a, action, t.taskId, await k.headers());
        ctx.check('AGR-AUTH-01', [401, 403, 404].includes(res.status), `${action} on another agent's task with ${c} is refused (401/403 "Not authorized for this agent")`, {
          expected: '401, 403 or 404',
          actual: `${res.status} ${JSON.stringify(res.body).slice(0, 200)}`,
        });
        ctx.expectEqual('AGR-AUTH-01', await snapshot(t), before, `the task, its result and its deposit are unchanged after the refused ${action}`);
        await ctx.expectNoMoneyMoved('AGR-AUTH-01', money, `no USDC moved after the refused ${action}`);
      }
      ctx.act(`with ${k.name}: GET /vendor/tasks`);
      const l = await getJson(a, '/vendor/tasks', await k.headers());
      const tasks: { id?: string }[] = Array.isArray(l.body?.tasks) ? l.body.tasks : [];
      const leaked = tasks.some((x) => String(x.id).toLowerCase() === t.taskId);
      ctx.check('AGR-AUTH-05', l.status < 500 && !leaked, "another agent's credential never lists the victim's task", {
        expected: `no ${short(t.taskId)}`,
        actual: `${l.status}, ${tasks.length} tasks${leaked ? `, including ${short(t.taskId)}` : ''}`,
      });
    }
    // Not a blanket refusal: the victim's own credential does list its task.
    const own = await t.v.listTasks();
    const ownTasks: { id?: string }[] = Array.isArray(own.body?.tasks) ? own.body.tasks : [];
    ctx.check('AGR-AUTH-05', own.status === 200 && ownTasks.some((x) => String(x.id).toLowerCase() === t.taskId), "the victim agent's own credential lists its task", {
      expected: `200 with ${short(t.taskId)}`,
      actual: `${own.status}, ${ownTasks.length} tasks`,
    });
    await t.v.fail(t.taskId, 'cleanup');
    await tidy(t);
  },
});

// stale/future: a generated distance past the window; *-edge: 30 s past it, every run (a window a few
// minutes too wide passes every far timestamp). The two Solana kinds: vendor auth by a Solana key is
// an optional scheme (register.ts).
const SIG_KINDS = ['stale', 'future', 'stale-edge', 'future-edge', 'forged', 'not-owner', 'solana-forged', 'solana-not-wallet'] as const;
/** How far past the auth window the *-edge kinds are (room for clock differences between harness and server). */
const EDGE_SECONDS = 30;

export const vendorAuth = defineScenario({
  kind: 'property',
  id: 'vendor-signature-auth',
  title:
    "Vendor auth refuses stale and future (far, and just past the window), forged and non-owner EIP-191 signatures, and Solana signatures by a key that is not the agent's solanaWallet (all in every run), on actions and on the listing; nothing changes",
  requirements: ['AGR-AUTH-02'],
  ...BASE,
  arbitrary: (env) =>
    fc.record({
      kinds: fc.shuffledSubarray([...SIG_KINDS], { minLength: SIG_KINDS.length }),
      skew: fc.integer({ min: constantsOf(env).authWindowSeconds + EDGE_SECONDS, max: 86_400 }),
      edge: fc.constant(constantsOf(env).authWindowSeconds + EDGE_SECONDS),
    }),
  async run(ctx, v) {
    const t = await paidTask(ctx, { price: '$0.10', buyer: 'buyer2', checkPay: false });
    const a = t.a;
    const owner = privateKeyToAccount(ctx.key('vendor1'));
    const other = ctx.key('attacker');
    const holders = { buyer: a.s.address(t.buyer), escrow: a.escrow, wallet: t.payee };
    // Every attempt is refused, so the task and the money must stay as they are now throughout.
    const before = await snapshot(t);
    const money = await ctx.balancesOf(a.s, a.usdc, holders);
    // How far from now each kind's timestamp is (the others sign at now).
    const offset: Partial<Record<(typeof SIG_KINDS)[number], number>> = { stale: -v.skew, future: v.skew, 'stale-edge': -v.edge, 'future-edge': v.edge };
    // forged: the owner's address, signed by someone else; not-owner: a valid signature by an address that is not authorized;
    // solana-*: a Solana key that is not the agent's solanaWallet, with a valid signature or one by another key.
    const credential = (kind: (typeof SIG_KINDS)[number], ts: number): Promise<Record<string, string>> | Record<string, string> => {
      if (kind === 'forged') return evmHeaders(other, t.agentId, ts, owner.address);
      if (kind === 'not-owner') return evmHeaders(other, t.agentId, ts);
      if (kind === 'solana-not-wallet') return solanaAuthHeaders(solanaKeyPair(), t.agentId, ts);
      if (kind === 'solana-forged') return solanaAuthHeaders(solanaKeyPair(), t.agentId, ts, solanaKeyPair().address);
      return evmHeaders(ctx.key('vendor1'), t.agentId, ts);
    };
    for (const kind of v.kinds) {
      const nowS = Math.floor(Date.now() / 1000);
      const ts = nowS + (offset[kind] ?? 0);
      const headers = await credential(kind, ts);
      ctx.act(`a request for agent ${t.agentId} with a ${kind} signature (timestamp ${ts - nowS >= 0 ? '+' : ''}${ts - nowS}s)`);
      const res = await act(a, 'start', t.taskId, headers);
      ctx.check('AGR-AUTH-02', res.status === 401 || res.status === 403, `a ${kind} vendor signature is refused`, { expected: 401, actual: `${res.status} ${JSON.stringify(res.body).slice(0, 200)}` });
      const l = await getJson(a, '/vendor/tasks', headers);
      ctx.check('AGR-AUTH-02', l.status === 401 || l.status === 403, `GET /vendor/tasks with a ${kind} signature is refused`, {
        expected: 401,
        actual: `${l.status} ${JSON.stringify(l.body).slice(0, 200)}`,
      });
      ctx.expectEqual('AGR-AUTH-02', await snapshot(t), before, 'the task, its result and its deposit are unchanged');
      await ctx.expectNoMoneyMoved('AGR-AUTH-02', money);
    }
    // The honest vendor with a fresh timestamp is accepted, so refusals above are not blanket refusals.
    const ok = await t.v.start(t.taskId);
    ctx.expectStatus('AGR-AUTH-02', ok, 200, 'the owner with a fresh signature is accepted');
    await t.v.fail(t.taskId, 'cleanup');
    await tidy(t);
  },
});

const WALLET_KINDS = ['wrong-signer', 'wrong-agent', 'expired'] as const;

export const walletChange = defineScenario({
  kind: 'property',
  id: 'wallet-change-signature',
  title: 'An agent wallet changes only with a valid EIP-712 AgentWalletSet signature by the new wallet (every bad kind in every run)',
  requirements: ['AGR-AUTH-03'],
  ...BASE,
  arbitrary: () => fc.shuffledSubarray([...WALLET_KINDS], { minLength: WALLET_KINDS.length }),
  async run(ctx, kinds) {
    const a = await agr(ctx);
    const reg = await sendJson(a, 'POST', '/agents/register', { data: card(a, `wallet scenario agent ${uniq()}`, [{ path: PATH, price: '$0.10' }]) });
    if (reg.status !== 201 || reg.body?.agentId === undefined) throw new Indeterminate('AGR-AUTH-03', `POST /agents/register answered ${reg.status}; cannot test wallet changes`);
    const agentId = BigInt(reg.body.agentId);
    const owner = await a.s.read(a.identity, identityAbi, 'ownerOf', [agentId]);
    const newWallet = privateKeyToAccount(ctx.key('vendor2'));
    const now = await a.s.pendingTime();
    for (const kind of kinds) {
      const before = await agentWallet(a, agentId);
      const deadline = kind === 'expired' ? now - 10n : now + 120n;
      const sig =
        kind === 'wrong-signer'
          ? await signWalletSet(a, ctx.key('attacker'), agentId, owner, deadline)
          : await signWalletSet(a, ctx.key('vendor2'), kind === 'wrong-agent' ? agentId + 1000n : agentId, owner, deadline);
      ctx.act(`someone asks to set agent ${agentId}'s wallet to vendor2 with a ${kind} signature`);
      const res = await sendJson(a, 'POST', `/agents/${agentId}/wallet`, { walletAddress: newWallet.address, deadline: Number(deadline), signature: sig });
      ctx.expectRefused('AGR-AUTH-03', res, `a wallet change with a ${kind} signature is refused`);
      ctx.expectEqual('AGR-AUTH-03', await agentWallet(a, agentId), before, 'getAgentWallet is unchanged');
    }
    ctx.act('the new wallet signs a valid AgentWalletSet');
    const good = await signWalletSet(a, ctx.key('vendor2'), agentId, owner, now + 120n);
    const ok = await sendJson(a, 'POST', `/agents/${agentId}/wallet`, { walletAddress: newWallet.address, deadline: Number(now + 120n), signature: good });
    const w = await agentWallet(a, agentId);
    ctx.check('AGR-AUTH-03', ok.status === 200 && w.toLowerCase() === newWallet.address.toLowerCase(), 'a valid signature does change the wallet (refusals are not blanket)', {
      expected: `200, wallet ${newWallet.address}`,
      actual: `${ok.status}, wallet ${w}`,
    });
  },
});

/** Agents registered since `from` whose URI carries `label`. */
async function registeredWith(a: Agr, from: bigint, label: string): Promise<number> {
  const logs = await a.s.public.getContractEvents({ address: a.identity, abi: identityAbi, eventName: 'Registered', fromBlock: from, toBlock: 'latest' });
  return logs.filter((l) => {
    const uri = String(l.args.agentURI ?? '');
    const b64 = /^data:application\/json;base64,(.*)$/.exec(uri)?.[1];
    return (b64 ? Buffer.from(b64, 'base64').toString('utf8') : uri).includes(label);
  }).length;
}

export { registeredWith };

export const apiKeys = defineScenario({
  kind: 'property',
  id: 'api-key-auth',
  title: 'register-with-key: fresh signature → ak_ key for that agent; unknown key, stale (far, and just past the window) or foreign signature refused and nothing registered',
  requirements: ['AGR-AUTH-04'],
  ...BASE,
  // Every run tries the stale (far, and just past the window) and the foreign signature (in a generated order) before the fresh one.
  arbitrary: (env) =>
    fc.record({
      bads: fc.shuffledSubarray(['stale', 'stale-edge', 'foreign'] as const, { minLength: 3 }),
      skew: fc.integer({ min: constantsOf(env).authWindowSeconds + EDGE_SECONDS, max: 86_400 }),
      edge: fc.constant(constantsOf(env).authWindowSeconds + EDGE_SECONDS),
    }),
  async run(ctx, v) {
    const a = await agr(ctx);
    const wallet = privateKeyToAccount(ctx.key('vendor2'));
    const label = `api-key scenario agent ${uniq()}`;
    const data = card(a, label, [{ path: PATH, price: '$0.10' }]);
    const from = await a.s.public.getBlockNumber({ cacheTime: 0 });
    const register = async (ts: number, signer: Hex) => {
      const walletSignature = await privateKeyToAccount(signer).signMessage({ message: registerWithKeyMessage(wallet.address, ts) });
      return sendJson(a, 'POST', '/agents/register-with-key', { walletAddress: wallet.address, walletSignature, timestamp: ts, data });
    };
    const nowS = Math.floor(Date.now() / 1000);
    for (const bad of v.bads) {
      const ts = bad === 'stale' ? nowS - v.skew : bad === 'stale-edge' ? nowS - v.edge : nowS;
      ctx.act(`vendor2 registers with a ${bad} signature (timestamp ${ts - nowS}s)`);
      const r = await register(ts, bad === 'foreign' ? ctx.key('attacker') : ctx.key('vendor2'));
      ctx.check('AGR-AUTH-04', r.status >= 400 && r.status < 500 && !r.body?.apiKey, `a ${bad} register-with-key is refused`, {
        expected: '4xx, no apiKey',
        actual: `${r.status} ${JSON.stringify(r.body).slice(0, 200)}`,
      });
      ctx.expectEqual('AGR-AUTH-04', await registeredWith(a, from, label), 0, `the ${bad} registration minted no agent`);
    }
    // Where the chain can be reverted, the fresh registration is made after a snapshot, so that it can be taken away again below.
    const revertable = hasCapability(ctx.target, 'snapshot');
    const snap = revertable ? await a.s.test.snapshot() : undefined;
    ctx.act('vendor2 registers with a fresh signature');
    const ok = await register(nowS, ctx.key('vendor2'));
    ctx.check('AGR-AUTH-04', ok.status === 201 && /^ak_/.test(ok.body?.apiKey ?? '') && ok.body?.agentId !== undefined, 'a fresh signature registers an agent and returns an ak_ key', {
      expected: '201 {agentId, apiKey: ak_…}',
      actual: `${ok.status} ${JSON.stringify(ok.body).slice(0, 200)}`,
    });
    const listWith = async (key: string) => (await getJson(a, '/vendor/tasks', { authorization: `Bearer ${key}` })).status;
    ctx.expectEqual('AGR-AUTH-04', await listWith(ok.body.apiKey), 200, 'the issued key authenticates /vendor/tasks');
    ctx.expectEqual('AGR-AUTH-04', await listWith(`ak_${'0'.repeat(48)}`), 401, 'an unknown ak_ key gets 401');
    if (snap === undefined) return;
    // The key names an agent that exists only in the registration's block: once a revert removes
    // that block, the agent id is free for the next registration, and the key must not act for it
    // (profile AGR-PROF-20: what a server derived from a transaction lives only while it is canonical).
    ctx.act("the chain is reverted to before vendor2's registration (the agent and its key go with it)");
    await a.s.test.revert({ id: snap });
    const stale = await listWith(ok.body.apiKey);
    ctx.check('AGR-AUTH-04', stale >= 400 && stale < 500, 'the key of a registration the chain no longer holds is refused with 4xx', { expected: '4xx', actual: String(stale) });
  },
});
