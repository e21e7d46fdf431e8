/**
 * `erc8004` scenarios: identity registry (registration, authorization, agent wallet) and reputation
 * registry (feedback, self-feedback, decimals, revocation), all through the target's chain.
 */
import fc from 'fast-check';
import { zeroAddress } from 'viem';
import { defineScenario } from '../../harness/engine/dsl.ts';
import type { RunContext } from '../../harness/engine/context.ts';
import type { ChainSession } from '../../harness/engine/session.ts';
import { CLIENTS, OWNERS, WALLETS, agentCardArb, call, chainArb, feedbackArb, identityAbi, outcome, registerAgent, reputationAbi, signWallet, type FeedbackContent } from './registry.ts';

const ID = { needs: ['identityRegistry'], capabilities: ['snapshot' as const] };
const REP = { needs: ['identityRegistry', 'reputationRegistry'], capabilities: ['snapshot' as const] };
const ROLES = [...new Set([...OWNERS, ...CLIENTS, ...WALLETS, 'attacker', 'operator'])];

/** How a delegate is authorized by the owner. */
type Delegation = 'operator' | 'approved';

async function delegate(ctx: RunContext, s: ChainSession, owner: string, who: string, agentId: bigint, how: Delegation): Promise<void> {
  ctx.act(how === 'operator' ? `${owner} approves ${who} as operator for all its agents` : `${owner} approves ${who} for agent #${agentId}`);
  const r =
    how === 'operator'
      ? await call(s, owner, 'setApprovalForAll', [s.address(who), true], `${owner} setApprovalForAll(${who})`)
      : await call(s, owner, 'approve', [s.address(who), agentId], `${owner} approve(${who}, #${agentId})`);
  if (!r.ok) throw new Error(`setup: ERC-721 ${how === 'operator' ? 'setApprovalForAll' : 'approve'} refused: ${r.reason}`);
}

export const register = defineScenario({
  kind: 'property',
  id: 'identity-register',
  title: 'register(agentURI) mints an agent to the caller with the URI and the caller as agentWallet',
  requirements: ['ERC8004-ID-01'],
  roles: ROLES,
  ...ID,
  arbitrary: (env) => fc.record({ chain: chainArb(env), owner: fc.constantFrom(...OWNERS), cards: fc.array(agentCardArb, { minLength: 1, maxLength: 3 }) }),
  async run(ctx, v) {
    const s = await ctx.chain(v.chain);
    const reg = s.contract('identityRegistry');
    const ids: bigint[] = [];
    for (const card of v.cards) {
      ctx.act(`[${s.id}] ${v.owner} registers agent "${card.name}"`);
      const r = await call(s, v.owner, 'register', [card.uri], `${v.owner} registers "${card.name}"`);
      ctx.check('ERC8004-ID-01', r.ok, 'register(agentURI) is accepted', { expected: 'success', actual: outcome(r) });
      if (!r.ok) return;
      const ev = r.events.find((e) => e.eventName === 'Registered');
      ctx.check('ERC8004-ID-01', Boolean(ev) && ev!.args.owner === s.address(v.owner) && ev!.args.agentURI === card.uri, 'emits Registered(agentId, agentURI, owner)', {
        expected: `Registered(…, ${card.uri.slice(0, 40)}…, ${s.address(v.owner)})`,
        actual: ev ? `Registered(${ev.args.agentId}, ${String(ev.args.agentURI).slice(0, 40)}…, ${ev.args.owner})` : r.events.map((e) => e.eventName).join(', ') || 'no events',
      });
      const id = ev!.args.agentId as bigint;
      ctx.check('ERC8004-ID-01', !ids.includes(id), 'each registration gets a new agentId', { expected: `not in [${ids.join(', ')}]`, actual: id });
      ids.push(id);
      const [owner, uri, wallet] = await Promise.all([s.read(reg, identityAbi, 'ownerOf', [id]), s.read(reg, identityAbi, 'tokenURI', [id]), s.read(reg, identityAbi, 'getAgentWallet', [id])]);
      ctx.check('ERC8004-ID-01', owner === s.address(v.owner), 'ownerOf(agentId) is the caller', { expected: s.address(v.owner), actual: owner });
      ctx.check('ERC8004-ID-01', uri === card.uri, 'tokenURI(agentId) is the agentURI', { expected: card.uri, actual: uri });
      ctx.check('ERC8004-ID-01', wallet === s.address(v.owner), 'getAgentWallet(agentId) defaults to the caller', { expected: s.address(v.owner), actual: wallet });
    }
  },
});

export const updateAuth = defineScenario({
  kind: 'property',
  id: 'identity-update-auth',
  title: 'Only the owner, an operator or the approved address can set the agent URI and metadata',
  requirements: ['ERC8004-ID-02'],
  roles: ROLES,
  ...ID,
  arbitrary: (env) =>
    fc.record({
      chain: chainArb(env),
      owner: fc.constantFrom(...OWNERS),
      intruder: fc.constantFrom('attacker', ...CLIENTS),
      how: fc.constantFrom<Delegation>('operator', 'approved'),
      card: agentCardArb,
      next: agentCardArb,
      key: fc.constantFrom('category', 'pricing', 'x402.endpoint', 'region'),
      value: fc.uint8Array({ minLength: 1, maxLength: 64 }),
    }),
  async run(ctx, v) {
    const s = await ctx.chain(v.chain);
    const reg = s.contract('identityRegistry');
    const id = await registerAgent(ctx, s, v.owner, v.card);
    ctx.act(`${v.intruder} (not authorized) calls setAgentURI(#${id}) and setMetadata(#${id}, "${v.key}")`);
    const r1 = await call(s, v.intruder, 'setAgentURI', [id, v.next.uri], `${v.intruder} setAgentURI`);
    ctx.check('ERC8004-ID-02', !r1.ok, 'setAgentURI by a stranger is refused', { expected: 'refused (Not authorized)', actual: outcome(r1) });
    const hex = `0x${Buffer.from(v.value).toString('hex')}` as const;
    const r2 = await call(s, v.intruder, 'setMetadata', [id, v.key, hex], `${v.intruder} setMetadata`);
    ctx.check('ERC8004-ID-02', !r2.ok, 'setMetadata by a stranger is refused', { expected: 'refused (Not authorized)', actual: outcome(r2) });
    const uri0 = await s.read(reg, identityAbi, 'tokenURI', [id]);
    ctx.check('ERC8004-ID-02', uri0 === v.card.uri, 'the URI is unchanged', { expected: v.card.uri, actual: uri0 });
    await delegate(ctx, s, v.owner, 'operator', id, v.how);
    ctx.act(`operator sets the URI and metadata "${v.key}"`);
    const r3 = await call(s, 'operator', 'setAgentURI', [id, v.next.uri], `operator setAgentURI`);
    ctx.check('ERC8004-ID-02', r3.ok, `setAgentURI by the ${v.how === 'operator' ? 'approved-for-all operator' : 'approved address'} is accepted`, { expected: 'success', actual: outcome(r3) });
    const r4 = await call(s, 'operator', 'setMetadata', [id, v.key, hex], `operator setMetadata`);
    ctx.check('ERC8004-ID-02', r4.ok, 'setMetadata by a delegate is accepted', { expected: 'success', actual: outcome(r4) });
    const [uri1, meta] = await Promise.all([s.read(reg, identityAbi, 'tokenURI', [id]), s.read(reg, identityAbi, 'getMetadata', [id, v.key])]);
    ctx.check('ERC8004-ID-02', uri1 === v.next.uri && meta === hex, 'the new URI and metadata are stored', {
      expected: `${v.next.uri.slice(0, 30)}… / ${hex}`,
      actual: `${uri1.slice(0, 30)}… / ${meta}`,
    });
  },
});

type WalletCase = 'stranger' | 'wrong-signer' | 'expired' | 'too-far';
const WALLET_REQ: Record<WalletCase, string> = { stranger: 'ERC8004-ID-03', 'wrong-signer': 'ERC8004-ID-04', expired: 'ERC8004-ID-05', 'too-far': 'ERC8004-ID-06' };

/**
 * One scenario per refusal rule (so one defect cannot hide another's verdict). Each run registers an
 * agent, optionally delegates to an operator, makes the refused attempt, then — for the
 * authorization and signature rules — shows the legitimate setter succeeding with a valid signature.
 */
function walletScenario(c: WalletCase) {
  const req = WALLET_REQ[c];
  return defineScenario({
    kind: 'property',
    id: `identity-wallet-${c}`,
    title: {
      stranger: 'setAgentWallet by anyone but the owner, an operator or the approved address is refused',
      'wrong-signer': "setAgentWallet needs newWallet's EIP-712 AgentWalletSet signature",
      expired: 'setAgentWallet with an expired deadline is refused',
      'too-far': 'setAgentWallet with a deadline more than 5 minutes ahead is refused',
    }[c],
    requirements: [req],
    roles: ROLES,
    ...ID,
    arbitrary: (env) =>
      fc.record({
        chain: chainArb(env),
        owner: fc.constantFrom(...OWNERS),
        newWallet: fc.constantFrom(...WALLETS),
        setter: fc.constantFrom<'owner' | Delegation>('owner', 'operator', 'approved'),
        card: agentCardArb,
        ago: fc.integer({ min: 1, max: 30 * 86_400 }),
        ahead: fc.integer({ min: 3600, max: 365 * 86_400 }),
        ttl: fc.integer({ min: 30, max: 240 }),
      }),
    async run(ctx, v) {
      const s = await ctx.chain(v.chain);
      const reg = s.contract('identityRegistry');
      const id = await registerAgent(ctx, s, v.owner, v.card);
      const owner = s.address(v.owner);
      const nw = s.address(v.newWallet);
      const setter = v.setter === 'owner' ? v.owner : 'operator';
      if (v.setter !== 'owner') await delegate(ctx, s, v.owner, 'operator', id, v.setter);
      const now = await s.now();
      const w0 = await s.read(reg, identityAbi, 'getAgentWallet', [id]);
      let caller = setter;
      let signer: string = v.newWallet;
      let deadline = now + BigInt(v.ttl);
      if (c === 'stranger') {
        caller = 'attacker';
        ctx.act(`${v.newWallet} signs AgentWalletSet(#${id}, ${v.newWallet}, owner, now+${v.ttl}s); attacker submits setAgentWallet`);
      } else if (c === 'wrong-signer') {
        signer = 'attacker';
        ctx.act(`attacker signs AgentWalletSet for ${v.newWallet}; ${setter} submits setAgentWallet`);
      } else if (c === 'expired') {
        deadline = now - BigInt(v.ago);
        ctx.act(`${v.newWallet} signs with deadline now-${v.ago}s; ${setter} submits setAgentWallet`);
      } else {
        deadline = now + 300n + BigInt(v.ahead);
        ctx.act(`${v.newWallet} signs with deadline now+${300 + v.ahead}s (more than 5 minutes ahead); ${setter} submits setAgentWallet`);
      }
      const sig = await signWallet(s, signer, { agentId: id, newWallet: nw, owner, deadline });
      const r = await call(s, caller, 'setAgentWallet', [id, nw, deadline, sig], `setAgentWallet (${c})`);
      const w = await s.read(reg, identityAbi, 'getAgentWallet', [id]);
      ctx.check(req, !r.ok, `setAgentWallet is refused (${c})`, { expected: 'refused', actual: outcome(r) });
      ctx.check(req, w === w0, 'the agent wallet is unchanged', { expected: w0, actual: w });
      if (c !== 'stranger' && c !== 'wrong-signer') return;
      const good = now + BigInt(v.ttl);
      ctx.act(`${v.newWallet} signs AgentWalletSet(#${id}, deadline now+${v.ttl}s); ${setter} submits setAgentWallet`);
      const gsig = await signWallet(s, v.newWallet, { agentId: id, newWallet: nw, owner, deadline: good });
      const ok = await call(s, setter, 'setAgentWallet', [id, nw, good, gsig], 'setAgentWallet (valid)');
      const who = v.setter === 'owner' ? 'owner' : v.setter === 'operator' ? 'approved-for-all operator' : 'approved address';
      ctx.check(req, ok.ok, `the ${who} sets the wallet with a valid signature`, { expected: 'success', actual: outcome(ok) });
      const w2 = await s.read(reg, identityAbi, 'getAgentWallet', [id]);
      ctx.check(req, w2 === nw, 'getAgentWallet returns the new, signature-proven wallet', { expected: nw, actual: w2 });
    },
  });
}
export const walletStranger = walletScenario('stranger');
export const walletSignature = walletScenario('wrong-signer');
export const walletExpired = walletScenario('expired');
export const walletTooFar = walletScenario('too-far');

export const transferClears = defineScenario({
  kind: 'property',
  id: 'identity-transfer-clears-wallet',
  title: 'Transferring an agent clears its wallet',
  requirements: ['ERC8004-ID-07'],
  roles: ROLES,
  ...ID,
  arbitrary: (env) =>
    fc.record({
      chain: chainArb(env),
      pair: fc.tuple(fc.constantFrom(...OWNERS), fc.constantFrom(...OWNERS)).filter(([a, b]) => a !== b),
      card: agentCardArb,
      setWallet: fc.boolean(),
      newWallet: fc.constantFrom(...WALLETS),
    }),
  async run(ctx, v) {
    const s = await ctx.chain(v.chain);
    const reg = s.contract('identityRegistry');
    const [from, to] = v.pair;
    const id = await registerAgent(ctx, s, from, v.card);
    if (v.setWallet) {
      const now = await s.now();
      const sig = await signWallet(s, v.newWallet, { agentId: id, newWallet: s.address(v.newWallet), owner: s.address(from), deadline: now + 120n });
      ctx.act(`${from} sets the agent wallet to ${v.newWallet} (signed by it)`);
      const r = await call(s, from, 'setAgentWallet', [id, s.address(v.newWallet), now + 120n, sig], 'setAgentWallet');
      if (!r.ok) throw new Error(`setup: setAgentWallet refused: ${r.reason}`);
    }
    ctx.act(`${from} transfers agent #${id} to ${to}`);
    const t = await call(s, from, 'transferFrom', [s.address(from), s.address(to), id], 'transferFrom');
    if (!t.ok) throw new Error(`setup: ERC-721 transferFrom refused: ${t.reason}`);
    const [owner, w] = await Promise.all([s.read(reg, identityAbi, 'ownerOf', [id]), s.read(reg, identityAbi, 'getAgentWallet', [id])]);
    ctx.check('ERC8004-ID-07', owner === s.address(to) && w === zeroAddress, 'after a transfer the agent wallet is the zero address', { expected: zeroAddress, actual: w });
  },
});

export const reservedKey = defineScenario({
  kind: 'property',
  id: 'identity-reserved-key',
  title: 'setMetadata("agentWallet") is refused; other keys are stored',
  requirements: ['ERC8004-ID-08'],
  roles: ROLES,
  ...ID,
  arbitrary: (env) =>
    fc.record({ chain: chainArb(env), owner: fc.constantFrom(...OWNERS), card: agentCardArb, wallet: fc.constantFrom(...WALLETS), key: fc.constantFrom('category', 'pricing', 'region') }),
  async run(ctx, v) {
    const s = await ctx.chain(v.chain);
    const reg = s.contract('identityRegistry');
    const id = await registerAgent(ctx, s, v.owner, v.card);
    const forged = s.address(v.wallet);
    ctx.act(`${v.owner} calls setMetadata(#${id}, "agentWallet", ${v.wallet}'s address) to bypass the signature`);
    const r = await call(s, v.owner, 'setMetadata', [id, 'agentWallet', forged], 'setMetadata(agentWallet)');
    ctx.check('ERC8004-ID-08', !r.ok, 'setMetadata with the reserved key "agentWallet" is refused', { expected: 'refused (reserved key)', actual: outcome(r) });
    const w = await s.read(reg, identityAbi, 'getAgentWallet', [id]);
    ctx.check('ERC8004-ID-08', w === s.address(v.owner), 'the agent wallet is unchanged', { expected: s.address(v.owner), actual: w });
    ctx.act(`${v.owner} calls setMetadata(#${id}, "${v.key}", …)`);
    const r2 = await call(s, v.owner, 'setMetadata', [id, v.key, '0x01'], `setMetadata(${v.key})`);
    ctx.check('ERC8004-ID-08', r2.ok, 'an ordinary key is accepted', { expected: 'success', actual: outcome(r2) });
  },
});

// ---------------------------------------------------------------------------------- reputation

async function give(ctx: RunContext, s: ChainSession, client: string, id: bigint, f: FeedbackContent, label = 'giveFeedback') {
  ctx.act(`${client} gives feedback to agent #${id}: ${f.value}/10^${f.decimals} "${f.tag1}"/"${f.tag2}"`);
  return call(s, client, 'giveFeedback', [id, f.value, f.decimals, f.tag1, f.tag2, f.endpoint, f.uri, `0x${'00'.repeat(32)}`], label, 'reputationRegistry');
}

export const feedback = defineScenario({
  kind: 'property',
  id: 'reputation-feedback',
  title: 'Feedback is stored per client at 1-based indexes and read back exactly',
  requirements: ['ERC8004-REP-01'],
  roles: ROLES,
  ...REP,
  arbitrary: (env) =>
    fc.record({ chain: chainArb(env), owner: fc.constantFrom(...OWNERS), card: agentCardArb, items: fc.array(fc.tuple(fc.constantFrom(...CLIENTS), feedbackArb), { minLength: 1, maxLength: 4 }) }),
  async run(ctx, v) {
    const s = await ctx.chain(v.chain);
    const rep = s.contract('reputationRegistry');
    const id = await registerAgent(ctx, s, v.owner, v.card);
    const counts: Record<string, bigint> = {};
    for (const [client, f] of v.items) {
      const r = await give(ctx, s, client, id, f);
      ctx.check('ERC8004-REP-01', r.ok, 'giveFeedback by a client is accepted', { expected: 'success', actual: outcome(r) });
      if (!r.ok) return;
      const expectedIndex = (counts[client] ?? 0n) + 1n;
      counts[client] = expectedIndex;
      const ev = r.events.find((e) => e.eventName === 'NewFeedback');
      ctx.check('ERC8004-REP-01', ev !== undefined && BigInt(ev.args.feedbackIndex as bigint) === expectedIndex, 'NewFeedback carries feedbackIndex = previous lastIndex + 1', {
        expected: expectedIndex,
        actual: ev ? String(ev.args.feedbackIndex) : 'no NewFeedback event',
      });
      const last = await s.read(rep, reputationAbi, 'getLastIndex', [id, s.address(client)]);
      ctx.check('ERC8004-REP-01', last === expectedIndex, "getLastIndex(agentId, client) counts this client's feedback from 1", { expected: expectedIndex, actual: last });
      const read = await s.public.readContract({ address: rep, abi: reputationAbi, functionName: 'readFeedback', args: [id, s.address(client), expectedIndex] }).catch((e: Error) => e);
      const ok = !(read instanceof Error) && read[0] === f.value && read[1] === f.decimals && read[2] === f.tag1 && read[3] === f.tag2 && read[4] === false;
      ctx.check('ERC8004-REP-01', ok, 'readFeedback(agentId, client, index) returns what was given', {
        expected: `${f.value}, ${f.decimals}, ${f.tag1}, ${f.tag2}, not revoked`,
        actual: read instanceof Error ? `reverted: ${read.message.split('\n')[0]}` : read.map(String).join(', '),
      });
    }
  },
});

export const selfFeedback = defineScenario({
  kind: 'property',
  id: 'reputation-self-feedback',
  title: 'The owner, an operator or the approved address cannot give their agent feedback',
  requirements: ['ERC8004-REP-02'],
  roles: ROLES,
  ...REP,
  arbitrary: (env) =>
    fc.record({ chain: chainArb(env), owner: fc.constantFrom(...OWNERS), card: agentCardArb, f: feedbackArb, who: fc.constantFrom<'owner' | Delegation>('owner', 'operator', 'approved') }),
  async run(ctx, v) {
    const s = await ctx.chain(v.chain);
    const rep = s.contract('reputationRegistry');
    const id = await registerAgent(ctx, s, v.owner, v.card);
    const giver = v.who === 'owner' ? v.owner : 'operator';
    if (v.who !== 'owner') await delegate(ctx, s, v.owner, 'operator', id, v.who);
    const r = await give(ctx, s, giver, id, v.f, `self-feedback by the ${v.who}`);
    ctx.check('ERC8004-REP-02', !r.ok, `feedback from the agent's ${v.who} is refused`, { expected: 'refused (Self-feedback not allowed)', actual: outcome(r) });
    const last = await s.read(rep, reputationAbi, 'getLastIndex', [id, s.address(giver)]);
    ctx.check('ERC8004-REP-02', last === 0n, 'nothing was stored', { expected: 0, actual: last });
  },
});

export const decimals = defineScenario({
  kind: 'property',
  id: 'reputation-decimals',
  title: 'Feedback with valueDecimals > 18 is refused',
  requirements: ['ERC8004-REP-03'],
  roles: ROLES,
  ...REP,
  arbitrary: (env) =>
    fc.record({ chain: chainArb(env), owner: fc.constantFrom(...OWNERS), client: fc.constantFrom(...CLIENTS), card: agentCardArb, f: feedbackArb, decimals: fc.integer({ min: 19, max: 255 }) }),
  async run(ctx, v) {
    const s = await ctx.chain(v.chain);
    const id = await registerAgent(ctx, s, v.owner, v.card);
    const r = await give(ctx, s, v.client, id, { ...v.f, decimals: v.decimals }, `feedback with ${v.decimals} decimals`);
    ctx.check('ERC8004-REP-03', !r.ok, `valueDecimals = ${v.decimals} is refused`, { expected: 'refused (too many decimals)', actual: outcome(r) });
  },
});

export const revoke = defineScenario({
  kind: 'property',
  id: 'reputation-revoke',
  title: 'Revoked feedback is marked, excluded from getSummary, and cannot be revoked twice or by others',
  requirements: ['ERC8004-REP-04'],
  roles: ROLES,
  ...REP,
  arbitrary: (env) =>
    fc.record({
      chain: chainArb(env),
      owner: fc.constantFrom(...OWNERS),
      clients: fc.tuple(fc.constantFrom(...CLIENTS), fc.constantFrom(...CLIENTS)).filter(([a, b]) => a !== b),
      card: agentCardArb,
      given: fc.array(feedbackArb, { minLength: 1, maxLength: 3 }),
      pick: fc.nat(),
    }),
  async run(ctx, v) {
    const s = await ctx.chain(v.chain);
    const rep = s.contract('reputationRegistry');
    const [client, other] = v.clients;
    const id = await registerAgent(ctx, s, v.owner, v.card);
    for (const f of v.given) {
      const r = await give(ctx, s, client, id, f);
      if (!r.ok) throw new Error(`setup: giveFeedback refused: ${r.reason}`);
    }
    const summary = async () => (await s.read(rep, reputationAbi, 'getSummary', [id, [s.address(client)], '', '']))[0];
    const before = await summary();
    const index = BigInt((v.pick % v.given.length) + 1);
    ctx.act(`${other} tries to revoke ${client}'s feedback #${index}`);
    const rOther = await call(s, other, 'revokeFeedback', [id, index], `revoke by ${other}`, 'reputationRegistry');
    ctx.check('ERC8004-REP-04', !rOther.ok, 'a client cannot revoke an index it never gave', { expected: 'refused (index out of bounds)', actual: outcome(rOther) });
    ctx.act(`${client} revokes its feedback #${index}`);
    const r = await call(s, client, 'revokeFeedback', [id, index], `revoke by ${client}`, 'reputationRegistry');
    ctx.check('ERC8004-REP-04', r.ok, 'the original client can revoke its feedback', { expected: 'success', actual: outcome(r) });
    if (!r.ok) return;
    const read = await s.read(rep, reputationAbi, 'readFeedback', [id, s.address(client), index]);
    ctx.check('ERC8004-REP-04', read[4] === true, 'readFeedback reports isRevoked = true', { expected: true, actual: read[4] });
    const after = await summary();
    ctx.check('ERC8004-REP-04', after === before - 1n, 'getSummary no longer counts the revoked feedback', { expected: before - 1n, actual: after });
    ctx.act(`${client} revokes #${index} again`);
    const r2 = await call(s, client, 'revokeFeedback', [id, index], 'second revoke', 'reputationRegistry');
    ctx.check('ERC8004-REP-04', !r2.ok, 'revoking twice is refused', { expected: 'refused (Already revoked)', actual: outcome(r2) });
  },
});

// ------------------------------------------------------------------------------ model-based

interface RepModel {
  /** Per client: the feedback it gave, in index order (index = position + 1). */
  given: Record<string, { revoked: boolean }[]>;
}
interface RepReal {
  ctx: RunContext;
  s: ChainSession;
  agentId: bigint;
  owner: string;
}

/** After every command the chain must agree with the model on indexes and on the summary count. */
async function agreeWithModel(m: RepModel, r: RepReal, req: string, label: string) {
  const rep = r.s.contract('reputationRegistry');
  for (const c of CLIENTS) {
    const last = await r.s.read(rep, reputationAbi, 'getLastIndex', [r.agentId, r.s.address(c)]);
    r.ctx.check(req, last === BigInt(m.given[c]!.length), `getLastIndex(${c}) matches the model after ${label}`, { expected: m.given[c]!.length, actual: last });
  }
  const [count] = await r.s.read(rep, reputationAbi, 'getSummary', [r.agentId, CLIENTS.map((c) => r.s.address(c)), '', '']);
  const live = CLIENTS.reduce((n, c) => n + m.given[c]!.filter((f) => !f.revoked).length, 0);
  r.ctx.check(req, count === BigInt(live), `getSummary counts the ${live} unrevoked feedback entries after ${label}`, { expected: live, actual: count });
}

class GiveCmd implements fc.AsyncCommand<RepModel, RepReal> {
  constructor(
    readonly client: string,
    readonly f: FeedbackContent,
  ) {}
  check = () => true;
  async run(m: RepModel, r: RepReal) {
    const res = await give(r.ctx, r.s, this.client, r.agentId, this.f);
    r.ctx.check('ERC8004-REP-01', res.ok, 'giveFeedback by a client is accepted', { expected: 'success', actual: outcome(res) });
    m.given[this.client]!.push({ revoked: false });
    await agreeWithModel(m, r, 'ERC8004-REP-01', `${this.client}'s feedback`);
  }
  toString = () => `give(${this.client}, ${this.f.value}/10^${this.f.decimals})`;
}

class RevokeCmd implements fc.AsyncCommand<RepModel, RepReal> {
  constructor(
    readonly client: string,
    readonly k: number,
  ) {}
  check = (m: RepModel) => m.given[this.client]!.some((f) => !f.revoked);
  async run(m: RepModel, r: RepReal) {
    const live = m.given[this.client]!.map((f, i) => ({ f, i })).filter((x) => !x.f.revoked);
    const { i } = live[this.k % live.length]!;
    r.ctx.act(`${this.client} revokes its feedback #${i + 1}`);
    const res = await call(r.s, this.client, 'revokeFeedback', [r.agentId, BigInt(i + 1)], `revoke #${i + 1}`, 'reputationRegistry');
    r.ctx.check('ERC8004-REP-04', res.ok, 'the client can revoke its own feedback', { expected: 'success', actual: outcome(res) });
    m.given[this.client]![i]!.revoked = true;
    await agreeWithModel(m, r, 'ERC8004-REP-04', `the revocation`);
  }
  toString = () => `revoke(${this.client}, ${this.k})`;
}

class SelfGiveCmd implements fc.AsyncCommand<RepModel, RepReal> {
  constructor(readonly f: FeedbackContent) {}
  check = () => true;
  async run(m: RepModel, r: RepReal) {
    const res = await give(r.ctx, r.s, r.owner, r.agentId, this.f, 'self-feedback by the owner');
    r.ctx.check('ERC8004-REP-02', !res.ok, "feedback from the agent's owner is refused", { expected: 'refused (Self-feedback not allowed)', actual: outcome(res) });
    await agreeWithModel(m, r, 'ERC8004-REP-02', 'the self-feedback attempt');
  }
  toString = () => 'selfFeedback()';
}

export const reputationModel = defineScenario<RepModel, RepReal>({
  kind: 'model',
  id: 'reputation-model',
  title: 'Interleaved feedback, revocations and self-feedback attempts keep indexes and summaries equal to the model (asyncModelRun)',
  requirements: ['ERC8004-REP-01', 'ERC8004-REP-02', 'ERC8004-REP-04'],
  roles: ROLES,
  ...REP,
  maxCommands: 10,
  commands: () => [
    fc.tuple(fc.constantFrom(...CLIENTS), feedbackArb).map(([c, f]) => new GiveCmd(c, f)),
    fc.tuple(fc.constantFrom(...CLIENTS), fc.nat()).map(([c, k]) => new RevokeCmd(c, k)),
    feedbackArb.map((f) => new SelfGiveCmd(f)),
  ],
  async setup(ctx) {
    const chain = ctx.target.chains.find((c) => c.contracts.identityRegistry && c.contracts.reputationRegistry)!;
    const s = await ctx.chain(chain.id);
    const owner = 'provider';
    const agentId = await registerAgent(ctx, s, owner, { name: 'Model Agent', uri: 'https://agent.example/.well-known/agent-registration.json' });
    return { model: { given: Object.fromEntries(CLIENTS.map((c) => [c, []])) }, real: { ctx, s, agentId, owner } };
  },
});

export const erc8004Scenarios = [
  register,
  updateAuth,
  walletStranger,
  walletSignature,
  walletExpired,
  walletTooFar,
  transferClears,
  reservedKey,
  feedback,
  selfFeedback,
  decimals,
  revoke,
  reputationModel,
];
