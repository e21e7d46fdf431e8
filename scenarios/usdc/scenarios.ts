/**
 * `usdc` scenarios: EIP-3009 and EIP-2612 behaviour of the target's USDC, checked through the
 * target's chain with real signatures. Times are relative to the chain's latest block so runs are
 * reproducible; boundary cases that need exact block times declare `clock-control`.
 */
import fc from 'fast-check';
import type { Address, Hex } from 'viem';
import { hashDomain, keccak256, toHex } from 'viem';
import { defineScenario } from '../../harness/engine/dsl.ts';
import type { RunContext } from '../../harness/engine/context.ts';
import type { ChainSession } from '../../harness/engine/session.ts';
import { HOLDERS, RELAYERS, amountArb, authArgs, chainArb, nonceArb, pairArb, signAuthorization, signCancel, signPermit, usd, usdcAbi, usdcBalances, usdcDomain, type Authorization } from './token.ts';

const USDC_NEEDS = { needs: ['usdc'], capabilities: ['snapshot' as const] };
const short = (h: Hex) => `${h.slice(0, 10)}…`;

/** Submit transferWithAuthorization (or receiveWithAuthorization) as `relayer`. */
async function submit(
  s: ChainSession,
  relayer: string,
  a: Authorization,
  sig: { v: number; r: Hex; s: Hex },
  label: string,
  fn: 'transferWithAuthorization' | 'receiveWithAuthorization' = 'transferWithAuthorization',
) {
  return s.attempt({ label, role: relayer, address: s.contract('usdc'), abi: usdcAbi, functionName: fn, args: authArgs(a, sig) });
}

function describeAuth(payer: string, payee: string, a: Authorization, now: bigint): string {
  const rel = (t: bigint) => (t === now ? 'now (latest block time)' : t > now ? `now+${t - now}s` : `now-${now - t}s`);
  return `${payer} signs an authorization: pay ${payee} ${usd(a.value)}, validAfter=${rel(a.validAfter)}, validBefore=${rel(a.validBefore)}, nonce=${short(a.nonce)}`;
}

/** Read and record balances right after an attempt, before any check can stop the run. */
async function recordAfter(s: ChainSession, roles: string[], before: Record<string, bigint>, label = 'after the attempt') {
  const after = await usdcBalances(s, roles);
  s.recordBalances(label, s.contract('usdc'), before, after);
  return after;
}

/** Assert a refused transfer moved nothing and left the nonce unused. */
async function expectNoEffect(ctx: RunContext, s: ChainSession, req: string, roles: string[], before: Record<string, bigint>, a: Authorization, after: Record<string, bigint>) {
  ctx.check(
    req,
    roles.every((r) => after[r] === before[r]),
    'a refused authorization moved no funds',
    {
      expected: JSON.stringify(Object.fromEntries(roles.map((r) => [r, String(before[r])]))),
      actual: JSON.stringify(Object.fromEntries(roles.map((r) => [r, String(after[r])]))),
    },
  );
  const used = await s.read(s.contract('usdc'), usdcAbi, 'authorizationState', [a.from, a.nonce]);
  ctx.check(req, used === false, 'authorizationState stays false for a refused authorization', { expected: false, actual: used });
}

export const validTransfer = defineScenario({
  kind: 'property',
  id: '3009-valid-transfer',
  title: 'A valid EIP-3009 authorization moves exactly the authorized value',
  requirements: ['USDC-3009-01'],
  roles: [...HOLDERS, ...RELAYERS],
  ...USDC_NEEDS,
  arbitrary: (env) => fc.record({ chain: chainArb(env), pair: pairArb, value: amountArb, nonce: nonceArb, relayer: fc.constantFrom(...RELAYERS), ttl: fc.integer({ min: 60, max: 86_400 }) }),
  async run(ctx, v) {
    const s = await ctx.chain(v.chain);
    const [payer, payee] = v.pair;
    const now = await s.now();
    const roles = [payer, payee, v.relayer];
    const before = await usdcBalances(s, roles);
    fc.pre(before[payer]! >= v.value);
    const a: Authorization = { from: s.address(payer), to: s.address(payee), value: v.value, validAfter: now - 600n, validBefore: now + BigInt(v.ttl), nonce: v.nonce };
    const sig = await signAuthorization(s.account(payer), usdcDomain(s), a);
    ctx.act(`[${s.id}] ${describeAuth(payer, payee, a, now)}`);
    ctx.act(`${v.relayer} submits transferWithAuthorization`);
    const r = await submit(s, v.relayer, a, sig, 'valid authorization');
    ctx.check('USDC-3009-01', r.ok, 'a valid authorization is accepted', { expected: 'success', actual: r.ok ? 'success' : `refused: ${r.reason}` });
    if (!r.ok) return;
    const after = await usdcBalances(s, roles);
    s.recordBalances('valid authorization', s.contract('usdc'), before, after);
    ctx.check(
      'USDC-3009-01',
      after[payer] === before[payer]! - v.value && after[payee] === before[payee]! + v.value && after[v.relayer] === before[v.relayer],
      'exactly value moves from payer to payee',
      {
        expected: `${payer} -${v.value}, ${payee} +${v.value}`,
        actual: `${payer} ${after[payer]! - before[payer]!}, ${payee} +${after[payee]! - before[payee]!}`,
      },
    );
    const used = r.events.some((e) => e.eventName === 'AuthorizationUsed' && e.args.authorizer === a.from && e.args.nonce === a.nonce);
    const moved = r.events.some((e) => e.eventName === 'Transfer' && e.args.from === a.from && e.args.to === a.to && e.args.value === a.value);
    ctx.check('USDC-3009-01', used && moved, 'emits AuthorizationUsed(from, nonce) and Transfer(from, to, value)', {
      expected: 'AuthorizationUsed + Transfer',
      actual: r.events.map((e) => e.eventName).join(', ') || 'no events',
    });
    const state = await s.read(s.contract('usdc'), usdcAbi, 'authorizationState', [a.from, a.nonce]);
    ctx.check('USDC-3009-01', state, 'authorizationState(from, nonce) is true after use', { expected: true, actual: state });
  },
});

export const expired = defineScenario({
  kind: 'property',
  id: '3009-expired',
  title: 'An expired EIP-3009 authorization is refused',
  requirements: ['USDC-3009-02'],
  roles: [...HOLDERS, ...RELAYERS],
  ...USDC_NEEDS,
  arbitrary: (env) => fc.record({ chain: chainArb(env), pair: pairArb, value: amountArb, nonce: nonceArb, relayer: fc.constantFrom(...RELAYERS), ago: fc.integer({ min: 0, max: 30 * 86_400 }) }),
  async run(ctx, v) {
    const s = await ctx.chain(v.chain);
    const [payer, payee] = v.pair;
    const now = await s.now();
    const roles = [payer, payee];
    const before = await usdcBalances(s, roles);
    fc.pre(before[payer]! >= v.value);
    // validBefore <= latest block time, so the next block (time >= latest) is at or past it.
    const validBefore = now - BigInt(v.ago);
    const a: Authorization = { from: s.address(payer), to: s.address(payee), value: v.value, validAfter: validBefore - 3600n, validBefore, nonce: v.nonce };
    const sig = await signAuthorization(s.account(payer), usdcDomain(s), a);
    ctx.act(`[${s.id}] ${describeAuth(payer, payee, a, now)}`);
    ctx.act(`${v.relayer} submits it after it expired`);
    const r = await submit(s, v.relayer, a, sig, 'expired authorization');
    const after = await recordAfter(s, roles, before);
    ctx.check('USDC-3009-02', !r.ok, 'an expired authorization is refused', { expected: 'refused (authorization is expired)', actual: r.ok ? `accepted in ${r.hash}` : `refused: ${r.reason}` });
    await expectNoEffect(ctx, s, 'USDC-3009-02', roles, before, a, after);
  },
});

export const notYetValid = defineScenario({
  kind: 'property',
  id: '3009-not-yet-valid',
  title: 'A not-yet-valid EIP-3009 authorization is refused',
  requirements: ['USDC-3009-03'],
  roles: [...HOLDERS, ...RELAYERS],
  ...USDC_NEEDS,
  arbitrary: (env) => fc.record({ chain: chainArb(env), pair: pairArb, value: amountArb, nonce: nonceArb, relayer: fc.constantFrom(...RELAYERS), ahead: fc.integer({ min: 3600, max: 365 * 86_400 }) }),
  async run(ctx, v) {
    const s = await ctx.chain(v.chain);
    const [payer, payee] = v.pair;
    const now = await s.now();
    const roles = [payer, payee];
    const before = await usdcBalances(s, roles);
    fc.pre(before[payer]! >= v.value);
    const validAfter = now + BigInt(v.ahead);
    const a: Authorization = { from: s.address(payer), to: s.address(payee), value: v.value, validAfter, validBefore: validAfter + 3600n, nonce: v.nonce };
    const sig = await signAuthorization(s.account(payer), usdcDomain(s), a);
    ctx.act(`[${s.id}] ${describeAuth(payer, payee, a, now)}`);
    ctx.act(`${v.relayer} submits it before it becomes valid`);
    const r = await submit(s, v.relayer, a, sig, 'not-yet-valid authorization');
    const after = await recordAfter(s, roles, before);
    ctx.check('USDC-3009-03', !r.ok, 'a not-yet-valid authorization is refused', {
      expected: 'refused (authorization is not yet valid)',
      actual: r.ok ? `accepted in ${r.hash}` : `refused: ${r.reason}`,
    });
    await expectNoEffect(ctx, s, 'USDC-3009-03', roles, before, a, after);
  },
});

export const timeBoundaries = defineScenario({
  kind: 'property',
  id: '3009-time-boundaries',
  title: 'Validity window bounds are strict (block time == validBefore / == validAfter is refused)',
  requirements: ['USDC-3009-02', 'USDC-3009-03'],
  roles: [...HOLDERS, ...RELAYERS],
  needs: ['usdc'],
  capabilities: ['snapshot', 'clock-control'],
  arbitrary: (env) =>
    fc.record({
      chain: chainArb(env),
      pair: pairArb,
      value: amountArb,
      nonce: nonceArb,
      relayer: fc.constantFrom(...RELAYERS),
      edge: fc.constantFrom('validBefore' as const, 'validAfter' as const),
      offset: fc.integer({ min: 10, max: 100_000 }),
    }),
  async run(ctx, v) {
    const s = await ctx.chain(v.chain);
    const [payer, payee] = v.pair;
    const now = await s.now();
    const roles = [payer, payee];
    const before = await usdcBalances(s, roles);
    fc.pre(before[payer]! >= v.value);
    const t = now + BigInt(v.offset);
    const a: Authorization =
      v.edge === 'validBefore'
        ? { from: s.address(payer), to: s.address(payee), value: v.value, validAfter: now - 600n, validBefore: t, nonce: v.nonce }
        : { from: s.address(payer), to: s.address(payee), value: v.value, validAfter: t, validBefore: t + 3600n, nonce: v.nonce };
    const sig = await signAuthorization(s.account(payer), usdcDomain(s), a);
    const req = v.edge === 'validBefore' ? 'USDC-3009-02' : 'USDC-3009-03';
    ctx.act(`[${s.id}] ${describeAuth(payer, payee, a, now)}`);
    ctx.act(`chain clock set so the next block's timestamp is exactly ${v.edge} (now+${v.offset}s)`);
    await s.test.setNextBlockTimestamp({ timestamp: t });
    ctx.act(`${v.relayer} submits it in that block`);
    const r = await submit(s, v.relayer, a, sig, `authorization at block time == ${v.edge}`);
    const after = await recordAfter(s, roles, before);
    ctx.check(req, !r.ok, `an authorization is refused when block.timestamp == ${v.edge} (the bound is strict)`, {
      expected: 'refused',
      actual: r.ok ? `accepted in ${r.hash}` : `refused: ${r.reason}`,
    });
    await expectNoEffect(ctx, s, req, roles, before, a, after);
  },
});

export const nonceReuse = defineScenario({
  kind: 'property',
  id: '3009-nonce-reuse',
  title: 'A used EIP-3009 nonce cannot be used again',
  requirements: ['USDC-3009-01', 'USDC-3009-04'],
  roles: [...HOLDERS, ...RELAYERS],
  ...USDC_NEEDS,
  arbitrary: (env) =>
    fc.record({
      chain: chainArb(env),
      pair: pairArb,
      value: amountArb,
      nonce: nonceArb,
      relayers: fc.tuple(fc.constantFrom(...RELAYERS), fc.constantFrom(...RELAYERS)),
      second: fc.oneof(fc.constant({ kind: 'replay' as const }), fc.record({ kind: fc.constant('fresh-signature' as const), payee: fc.constantFrom(...HOLDERS), value: amountArb })),
    }),
  async run(ctx, v) {
    const s = await ctx.chain(v.chain);
    const [payer, payee] = v.pair;
    const now = await s.now();
    const roles = [...new Set([...HOLDERS])];
    const before = await usdcBalances(s, roles);
    fc.pre(before[payer]! >= v.value * 2n + (v.second.kind === 'fresh-signature' ? v.second.value : 0n));
    const a: Authorization = { from: s.address(payer), to: s.address(payee), value: v.value, validAfter: now - 600n, validBefore: now + 3600n, nonce: v.nonce };
    const sig = await signAuthorization(s.account(payer), usdcDomain(s), a);
    ctx.act(`[${s.id}] ${describeAuth(payer, payee, a, now)}`);
    ctx.act(`${v.relayers[0]} submits it`);
    const first = await submit(s, v.relayers[0], a, sig, 'first use');
    ctx.check('USDC-3009-01', first.ok, 'a valid authorization is accepted', { expected: 'success', actual: first.ok ? 'success' : `refused: ${first.reason}` });
    const mid = await usdcBalances(s, roles);
    let b = a;
    let bsig = sig;
    if (v.second.kind === 'fresh-signature' && v.second.payee !== payer) {
      b = { ...a, to: s.address(v.second.payee), value: v.second.value };
      bsig = await signAuthorization(s.account(payer), usdcDomain(s), b);
      ctx.act(`${payer} signs a second authorization with the SAME nonce: pay ${v.second.payee} ${usd(b.value)}`);
    } else {
      ctx.act(`the same signed authorization is replayed`);
    }
    ctx.act(`${v.relayers[1]} submits it`);
    const second = await submit(s, v.relayers[1], b, bsig, 'reuse of the nonce');
    ctx.check('USDC-3009-04', !second.ok, 'a second authorization with a used nonce is refused', {
      expected: 'refused (authorization is used or canceled)',
      actual: second.ok ? `accepted in ${second.hash}` : `refused: ${second.reason}`,
    });
    const after = await usdcBalances(s, roles);
    s.recordBalances('after the reuse attempt', s.contract('usdc'), mid, after);
    ctx.check(
      'USDC-3009-04',
      roles.every((r) => after[r] === mid[r]),
      'the reuse attempt moved no funds',
      { expected: 'no change', actual: roles.map((r) => `${r} ${after[r]! - mid[r]!}`).join(', ') },
    );
    const state = await s.read(s.contract('usdc'), usdcAbi, 'authorizationState', [a.from, a.nonce]);
    ctx.check('USDC-3009-04', state, 'authorizationState(from, nonce) is true once used', { expected: true, actual: state });
  },
});

type Tamper = 'other-signer' | 'value' | 'recipient' | 'window' | 'chain-id' | 'token-address' | 'token-name';

export const wrongSignature = defineScenario({
  kind: 'property',
  id: '3009-signature',
  title: 'Only a signature by `from` over the exact fields, domain and chain is accepted',
  requirements: ['USDC-3009-05'],
  roles: [...HOLDERS, ...RELAYERS],
  ...USDC_NEEDS,
  arbitrary: (env) =>
    fc.record({
      chain: chainArb(env),
      pair: pairArb,
      value: amountArb,
      nonce: nonceArb,
      relayer: fc.constantFrom(...RELAYERS),
      tamper: fc.constantFrom<Tamper>('other-signer', 'value', 'recipient', 'window', 'chain-id', 'token-address', 'token-name'),
      signer: fc.constantFrom(...HOLDERS, 'attacker'),
    }),
  async run(ctx, v) {
    const s = await ctx.chain(v.chain);
    const [payer, payee] = v.pair;
    const now = await s.now();
    const roles = [...HOLDERS, 'attacker'];
    const before = await usdcBalances(s, roles);
    fc.pre(before[payer]! >= v.value + 1n);
    const signed: Authorization = { from: s.address(payer), to: s.address(payee), value: v.value, validAfter: now - 600n, validBefore: now + 3600n, nonce: v.nonce };
    let signer: string = payer;
    let domain = usdcDomain(s);
    let submitted = signed;
    switch (v.tamper) {
      case 'other-signer':
        fc.pre(v.signer !== payer);
        signer = v.signer;
        break;
      case 'value':
        submitted = { ...signed, value: signed.value + 1n };
        break;
      case 'recipient':
        submitted = { ...signed, to: s.address('attacker') };
        break;
      case 'window':
        submitted = { ...signed, validBefore: signed.validBefore + 1n };
        break;
      case 'chain-id':
        domain = { ...domain, chainId: domain.chainId + 1 };
        break;
      case 'token-address':
        domain = { ...domain, verifyingContract: `0x${keccak256(toHex(domain.verifyingContract)).slice(26)}` as Address };
        break;
      case 'token-name':
        domain = { ...domain, name: `${domain.name} ` };
        break;
    }
    const sig = await signAuthorization(s.account(signer), domain, signed);
    ctx.act(`[${s.id}] ${signer} signs an authorization from ${payer} to ${payee} for ${usd(signed.value)}${v.tamper === 'other-signer' ? ` (not ${payer}'s key)` : ''}`);
    if (v.tamper !== 'other-signer')
      ctx.act(
        `tampering: ${v.tamper === 'chain-id' || v.tamper === 'token-address' || v.tamper === 'token-name' ? `signed for the wrong EIP-712 domain (${v.tamper})` : `the submitted ${v.tamper} differs from the signed one`}`,
      );
    ctx.act(`${v.relayer} submits it`);
    const r = await submit(s, v.relayer, submitted, sig, `authorization with ${v.tamper}`);
    const after = await recordAfter(s, roles, before);
    ctx.check('USDC-3009-05', !r.ok, `an authorization with a bad signature (${v.tamper}) is refused`, {
      expected: 'refused (invalid signature)',
      actual: r.ok ? `accepted in ${r.hash}` : `refused: ${r.reason}`,
    });
    await expectNoEffect(ctx, s, 'USDC-3009-05', roles, before, submitted, after);
  },
});

export const receiveCaller = defineScenario({
  kind: 'property',
  id: '3009-receive-caller',
  title: 'receiveWithAuthorization is accepted only from the payee',
  requirements: ['USDC-3009-06'],
  roles: [...HOLDERS, ...RELAYERS],
  ...USDC_NEEDS,
  arbitrary: (env) => fc.record({ chain: chainArb(env), pair: pairArb, value: amountArb, nonce: nonceArb, intruder: fc.constantFrom(...RELAYERS, 'payer' as const) }),
  async run(ctx, v) {
    const s = await ctx.chain(v.chain);
    const [payer, payee] = v.pair;
    const intruder = v.intruder === 'payer' ? payer : v.intruder;
    const now = await s.now();
    const roles = [payer, payee];
    const before = await usdcBalances(s, roles);
    fc.pre(before[payer]! >= v.value);
    const a: Authorization = { from: s.address(payer), to: s.address(payee), value: v.value, validAfter: now - 600n, validBefore: now + 3600n, nonce: v.nonce };
    const sig = await signAuthorization(s.account(payer), usdcDomain(s), a, 'ReceiveWithAuthorization');
    ctx.act(`[${s.id}] ${payer} signs a ReceiveWithAuthorization paying ${payee} ${usd(v.value)}`);
    ctx.act(`${intruder} (not the payee) submits receiveWithAuthorization`);
    const r1 = await submit(s, intruder, a, sig, 'receive by a non-payee', 'receiveWithAuthorization');
    ctx.check('USDC-3009-06', !r1.ok, 'receiveWithAuthorization from a caller other than `to` is refused', {
      expected: 'refused (caller must be the payee)',
      actual: r1.ok ? `accepted in ${r1.hash}` : `refused: ${r1.reason}`,
    });
    if (r1.ok) return;
    ctx.act(`${payee} submits it`);
    const r2 = await submit(s, payee, a, sig, 'receive by the payee', 'receiveWithAuthorization');
    ctx.check('USDC-3009-06', r2.ok, 'the payee can submit receiveWithAuthorization', { expected: 'success', actual: r2.ok ? 'success' : `refused: ${r2.reason}` });
    const after = await usdcBalances(s, roles);
    s.recordBalances('receiveWithAuthorization', s.contract('usdc'), before, after);
    ctx.check('USDC-3009-06', after[payee] === before[payee]! + v.value, 'the payee received exactly value', { expected: `+${v.value}`, actual: `+${after[payee]! - before[payee]!}` });
  },
});

export const cancel = defineScenario({
  kind: 'property',
  id: '3009-cancel',
  title: 'A canceled authorization cannot be used; only the authorizer can cancel',
  requirements: ['USDC-3009-07'],
  roles: [...HOLDERS, ...RELAYERS],
  ...USDC_NEEDS,
  arbitrary: (env) => fc.record({ chain: chainArb(env), pair: pairArb, value: amountArb, nonce: nonceArb, relayer: fc.constantFrom(...RELAYERS), forged: fc.boolean() }),
  async run(ctx, v) {
    const s = await ctx.chain(v.chain);
    const [payer, payee] = v.pair;
    const now = await s.now();
    const roles = [payer, payee];
    const before = await usdcBalances(s, roles);
    fc.pre(before[payer]! >= v.value);
    const a: Authorization = { from: s.address(payer), to: s.address(payee), value: v.value, validAfter: now - 600n, validBefore: now + 3600n, nonce: v.nonce };
    const sig = await signAuthorization(s.account(payer), usdcDomain(s), a);
    ctx.act(`[${s.id}] ${describeAuth(payer, payee, a, now)}`);
    const usdc = s.contract('usdc');
    if (v.forged) {
      const c = await signCancel(s.account('attacker'), usdcDomain(s), a.from, a.nonce);
      ctx.act(`attacker signs cancelAuthorization(${payer}, ${short(a.nonce)}) with its own key and submits it`);
      const r = await s.attempt({ label: 'forged cancel', role: 'attacker', address: usdc, abi: usdcAbi, functionName: 'cancelAuthorization', args: [a.from, a.nonce, c.v, c.r, c.s] });
      ctx.check('USDC-3009-07', !r.ok, 'a cancel not signed by the authorizer is refused', {
        expected: 'refused (invalid signature)',
        actual: r.ok ? `accepted in ${r.hash}` : `refused: ${r.reason}`,
      });
      return;
    }
    const c = await signCancel(s.account(payer), usdcDomain(s), a.from, a.nonce);
    ctx.act(`${payer} signs cancelAuthorization for that nonce; ${v.relayer} submits it`);
    const rc = await s.attempt({ label: 'cancel', role: v.relayer, address: usdc, abi: usdcAbi, functionName: 'cancelAuthorization', args: [a.from, a.nonce, c.v, c.r, c.s] });
    ctx.check('USDC-3009-07', rc.ok, 'the authorizer can cancel an unused authorization', { expected: 'success', actual: rc.ok ? 'success' : `refused: ${rc.reason}` });
    if (!rc.ok) return;
    ctx.check(
      'USDC-3009-07',
      rc.events.some((e) => e.eventName === 'AuthorizationCanceled' && e.args.nonce === a.nonce),
      'emits AuthorizationCanceled',
      { expected: 'AuthorizationCanceled', actual: rc.events.map((e) => e.eventName).join(', ') || 'none' },
    );
    ctx.act(`${v.relayer} submits the canceled authorization`);
    const r = await submit(s, v.relayer, a, sig, 'canceled authorization');
    ctx.check('USDC-3009-07', !r.ok, 'a canceled authorization is refused', {
      expected: 'refused (authorization is used or canceled)',
      actual: r.ok ? `accepted in ${r.hash}` : `refused: ${r.reason}`,
    });
    const after = await usdcBalances(s, roles);
    s.recordBalances('after using a canceled authorization', usdc, before, after);
    ctx.check('USDC-3009-07', after[payer] === before[payer], 'no funds moved', { expected: String(before[payer]), actual: String(after[payer]) });
    ctx.act(`${v.relayer} submits the same cancel again`);
    const rc2 = await s.attempt({ label: 'second cancel', role: v.relayer, address: usdc, abi: usdcAbi, functionName: 'cancelAuthorization', args: [a.from, a.nonce, c.v, c.r, c.s] });
    ctx.check('USDC-3009-07', !rc2.ok, 'a second cancel of the same nonce is refused', { expected: 'refused', actual: rc2.ok ? `accepted in ${rc2.hash}` : `refused: ${rc2.reason}` });
  },
});

// ------------------------------------------------------------------------------------------ race

interface RaceModel {
  /** Authorizations signed so far (index = command argument). */
  signed: number;
}
interface Pending {
  a: Authorization;
  sig: { v: number; r: Hex; s: Hex };
  payer: string;
  payee: string;
  label: string;
  submissions: Promise<boolean>[];
}
interface RaceReal {
  ctx: RunContext;
  s: ChainSession;
  pending: Pending[];
  start: Record<string, bigint>;
  /** Per-relayer chain of in-flight submissions. */
  lanes: Map<string, Promise<boolean>>;
}

/** An agent signs an authorization (nothing is sent yet). */
class SignCommand implements fc.AsyncCommand<RaceModel, RaceReal> {
  constructor(
    readonly payer: string,
    readonly payee: string,
    readonly value: bigint,
    readonly nonce: Hex,
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: RaceModel, r: RaceReal): Promise<void> {
    const { ctx, s } = r;
    const now = await s.now();
    const a: Authorization = { from: s.address(this.payer), to: s.address(this.payee), value: this.value, validAfter: now - 600n, validBefore: now + 3600n, nonce: this.nonce };
    const sig = await signAuthorization(s.account(this.payer), usdcDomain(s), a);
    const label = `authorization #${m.signed}`;
    r.pending.push({ a, sig, payer: this.payer, payee: this.payee, label, submissions: [] });
    ctx.act(`[${s.id}] ${label}: ${describeAuth(this.payer, this.payee, a, now)}`);
    m.signed++;
  }
  toString(): string {
    return `sign(${this.payer}→${this.payee} ${usd(this.value)})`;
  }
}

/** A relayer starts submitting a signed authorization and does not wait: submissions overlap. */
class SubmitCommand implements fc.AsyncCommand<RaceModel, RaceReal> {
  constructor(
    readonly relayer: string,
    readonly index: number,
  ) {}
  check(m: RaceModel): boolean {
    return m.signed > 0;
  }
  async run(m: RaceModel, r: RaceReal): Promise<void> {
    const p = r.pending[this.index % m.signed]!;
    r.ctx.act(`${this.relayer} submits ${p.label} (without waiting for the others)`);
    // A relayer sends its own transactions one after another (one account, one nonce sequence);
    // different relayers overlap, which is the race under test.
    const prev = r.lanes.get(this.relayer) ?? Promise.resolve(true);
    const mine = prev.then(() => submit(r.s, this.relayer, p.a, p.sig, `${p.label} by ${this.relayer}`)).then((x) => x.ok);
    r.lanes.set(this.relayer, mine);
    p.submissions.push(mine);
  }
  toString(): string {
    return `submit(${this.relayer}, #${this.index})`;
  }
}

/** After all commands: every submission has landed; each authorization settled at most once, and exactly once if submitted. */
async function settleRace(_m: RaceModel, r: RaceReal): Promise<void> {
  const { ctx, s } = r;
  const outcomes = await Promise.all(r.pending.map((p) => Promise.all(p.submissions)));
  const after = await usdcBalances(s, [...HOLDERS]);
  s.recordBalances('after all concurrent submissions', s.contract('usdc'), r.start, after);
  const expected: Record<string, bigint> = { ...r.start };
  r.pending.forEach((p, i) => {
    const oks = outcomes[i]!.filter(Boolean).length;
    const n = p.submissions.length;
    if (n === 0) return;
    ctx.check('USDC-3009-08', oks === 1, `${p.label} submitted ${n} time(s) concurrently succeeds exactly once`, { expected: 1, actual: oks });
    expected[p.payer] = expected[p.payer]! - p.a.value;
    expected[p.payee] = expected[p.payee]! + p.a.value;
  });
  ctx.check(
    'USDC-3009-08',
    HOLDERS.every((h) => after[h] === expected[h]),
    'each submitted authorization moved its value exactly once',
    {
      expected: HOLDERS.map((h) => `${h} ${expected[h]! - r.start[h]!}`).join(', '),
      actual: HOLDERS.map((h) => `${h} ${after[h]! - r.start[h]!}`).join(', '),
    },
  );
}

export const race = defineScenario<RaceModel, RaceReal>({
  kind: 'model',
  id: '3009-race',
  title: 'Relayers racing to submit the same authorizations: each settles exactly once (scheduledModelRun)',
  requirements: ['USDC-3009-08'],
  roles: [...HOLDERS, ...RELAYERS],
  ...USDC_NEEDS,
  race: true,
  maxCommands: 8,
  commands: () => [
    fc.record({ pair: pairArb, value: amountArb, nonce: nonceArb }).map((x) => new SignCommand(x.pair[0], x.pair[1], x.value, x.nonce)),
    fc.record({ relayer: fc.constantFrom(...RELAYERS), index: fc.nat({ max: 7 }) }).map((x) => new SubmitCommand(x.relayer, x.index)),
  ],
  async setup(ctx) {
    const chain = ctx.target.chains.find((c) => c.usdc)!;
    const s = await ctx.chain(chain.id);
    return { model: { signed: 0 }, real: { ctx, s, pending: [], start: await usdcBalances(s, [...HOLDERS]), lanes: new Map() } };
  },
  finish: settleRace,
});

// ------------------------------------------------------------------------------------ model-based

/** Pure model of what the token must hold after a sequence of agent actions. */
interface TokenModel {
  balances: Record<string, bigint>;
  permitNonces: Record<string, bigint>;
  allowances: Record<string, bigint>;
  usedAuths: number;
  permits: number;
}
interface TokenReal {
  ctx: RunContext;
  s: ChainSession;
  auths: { a: Authorization; sig: { v: number; r: Hex; s: Hex } }[];
  permits: (readonly [Address, Address, bigint, bigint, number, Hex, Hex])[];
}
const allowanceKey = (o: string, sp: string) => `${o}->${sp}`;

async function expectBalances(req: string, m: TokenModel, r: TokenReal, label: string) {
  const chain = await usdcBalances(r.s, [...HOLDERS]);
  r.ctx.check(
    req,
    HOLDERS.every((h) => chain[h] === m.balances[h]),
    `balances match the model after ${label}`,
    {
      expected: HOLDERS.map((h) => `${h}=${m.balances[h]}`).join(' '),
      actual: HOLDERS.map((h) => `${h}=${chain[h]}`).join(' '),
    },
  );
}

class PayCmd implements fc.AsyncCommand<TokenModel, TokenReal> {
  constructor(
    readonly payer: string,
    readonly payee: string,
    readonly value: bigint,
    readonly nonce: Hex,
    readonly relayer: string,
  ) {}
  check = (m: TokenModel) => this.payer !== this.payee && m.balances[this.payer]! >= this.value;
  async run(m: TokenModel, r: TokenReal) {
    const now = await r.s.now();
    const a: Authorization = { from: r.s.address(this.payer), to: r.s.address(this.payee), value: this.value, validAfter: now - 600n, validBefore: now + 3600n, nonce: this.nonce };
    const sig = await signAuthorization(r.s.account(this.payer), usdcDomain(r.s), a);
    r.ctx.act(`${describeAuth(this.payer, this.payee, a, now)}; ${this.relayer} submits it`);
    const res = await submit(r.s, this.relayer, a, sig, `pay ${this.payee}`);
    r.ctx.check('USDC-3009-01', res.ok, 'a valid authorization is accepted', { expected: 'success', actual: res.ok ? 'success' : `refused: ${res.reason}` });
    m.balances[this.payer]! -= this.value;
    m.balances[this.payee]! += this.value;
    m.usedAuths++;
    r.auths.push({ a, sig });
    await expectBalances('USDC-3009-01', m, r, 'the transfer');
  }
  toString = () => `pay(${this.payer}→${this.payee}, ${usd(this.value)})`;
}

class ReplayCmd implements fc.AsyncCommand<TokenModel, TokenReal> {
  constructor(
    readonly k: number,
    readonly relayer: string,
  ) {}
  check = (m: TokenModel) => m.usedAuths > 0;
  async run(m: TokenModel, r: TokenReal) {
    const { a, sig } = r.auths[this.k % r.auths.length]!;
    r.ctx.act(`${this.relayer} replays used authorization #${this.k % r.auths.length} (nonce ${short(a.nonce)})`);
    const res = await submit(r.s, this.relayer, a, sig, 'replay of a used authorization');
    r.ctx.check('USDC-3009-04', !res.ok, 'a used authorization is refused', { expected: 'refused', actual: res.ok ? `accepted in ${res.hash}` : `refused: ${res.reason}` });
    await expectBalances('USDC-3009-04', m, r, 'the replay');
  }
  toString = () => `replay(#${this.k})`;
}

class CancelCmd implements fc.AsyncCommand<TokenModel, TokenReal> {
  constructor(
    readonly holder: string,
    readonly payee: string,
    readonly nonce: Hex,
    readonly relayer: string,
  ) {}
  check = (m: TokenModel) => this.holder !== this.payee && m.balances[this.holder]! > 0n;
  async run(m: TokenModel, r: TokenReal) {
    const c = await signCancel(r.s.account(this.holder), usdcDomain(r.s), r.s.address(this.holder), this.nonce);
    r.ctx.act(`${this.holder} cancels nonce ${short(this.nonce)}; ${this.relayer} submits the cancel`);
    const rc = await r.s.attempt({
      label: 'cancel',
      role: this.relayer,
      address: r.s.contract('usdc'),
      abi: usdcAbi,
      functionName: 'cancelAuthorization',
      args: [r.s.address(this.holder), this.nonce, c.v, c.r, c.s],
    });
    r.ctx.check('USDC-3009-07', rc.ok, 'the authorizer can cancel an unused nonce', { expected: 'success', actual: rc.ok ? 'success' : `refused: ${rc.reason}` });
    const now = await r.s.now();
    const a: Authorization = { from: r.s.address(this.holder), to: r.s.address(this.payee), value: 1n, validAfter: now - 600n, validBefore: now + 3600n, nonce: this.nonce };
    const sig = await signAuthorization(r.s.account(this.holder), usdcDomain(r.s), a);
    r.ctx.act(`${this.holder} then signs a payment to ${this.payee} with the canceled nonce; ${this.relayer} submits it`);
    const res = await submit(r.s, this.relayer, a, sig, 'payment with a canceled nonce');
    r.ctx.check('USDC-3009-07', !res.ok, 'an authorization with a canceled nonce is refused', { expected: 'refused', actual: res.ok ? `accepted in ${res.hash}` : `refused: ${res.reason}` });
    await expectBalances('USDC-3009-07', m, r, 'the canceled payment');
  }
  toString = () => `cancel(${this.holder}, ${short(this.nonce)})`;
}

class PermitCmd implements fc.AsyncCommand<TokenModel, TokenReal> {
  constructor(
    readonly owner: string,
    readonly spender: string,
    readonly value: bigint,
    readonly relayer: string,
  ) {}
  check = () => this.owner !== this.spender;
  async run(m: TokenModel, r: TokenReal) {
    const now = await r.s.now();
    const p = { owner: r.s.address(this.owner), spender: r.s.address(this.spender), value: this.value, nonce: m.permitNonces[this.owner]!, deadline: now + 3600n };
    const sig = await signPermit(r.s.account(this.owner), usdcDomain(r.s), p);
    const args = [p.owner, p.spender, p.value, p.deadline, sig.v, sig.r, sig.s] as const;
    r.ctx.act(`${this.owner} permits ${this.spender} to spend ${usd(this.value)} (nonce ${p.nonce}); ${this.relayer} submits it`);
    const res = await r.s.attempt({ label: 'permit', role: this.relayer, address: r.s.contract('usdc'), abi: usdcAbi, functionName: 'permit', args });
    r.ctx.check('USDC-2612-01', res.ok, 'a valid permit is accepted', { expected: 'success', actual: res.ok ? 'success' : `refused: ${res.reason}` });
    m.permitNonces[this.owner]! += 1n;
    m.allowances[allowanceKey(this.owner, this.spender)] = this.value;
    m.permits++;
    r.permits.push(args);
    const [n, al] = await Promise.all([r.s.read(r.s.contract('usdc'), usdcAbi, 'nonces', [p.owner]), r.s.read(r.s.contract('usdc'), usdcAbi, 'allowance', [p.owner, p.spender])]);
    r.ctx.check('USDC-2612-01', n === m.permitNonces[this.owner] && al === this.value, 'nonce and allowance match the model', {
      expected: `nonce ${m.permitNonces[this.owner]}, allowance ${this.value}`,
      actual: `nonce ${n}, allowance ${al}`,
    });
  }
  toString = () => `permit(${this.owner}→${this.spender}, ${usd(this.value)})`;
}

class PermitReplayCmd implements fc.AsyncCommand<TokenModel, TokenReal> {
  constructor(
    readonly k: number,
    readonly relayer: string,
  ) {}
  check = (m: TokenModel) => m.permits > 0;
  async run(_m: TokenModel, r: TokenReal) {
    const args = r.permits[this.k % r.permits.length]!;
    r.ctx.act(`${this.relayer} replays permit #${this.k % r.permits.length}`);
    const res = await r.s.attempt({ label: 'permit replay', role: this.relayer, address: r.s.contract('usdc'), abi: usdcAbi, functionName: 'permit', args });
    r.ctx.check('USDC-2612-03', !res.ok, 'a replayed permit is refused', { expected: 'refused', actual: res.ok ? `accepted in ${res.hash}` : `refused: ${res.reason}` });
  }
  toString = () => `replayPermit(#${this.k})`;
}

class SpendCmd implements fc.AsyncCommand<TokenModel, TokenReal> {
  constructor(
    readonly owner: string,
    readonly spender: string,
    readonly fraction: number,
  ) {}
  check = (m: TokenModel) => (m.allowances[allowanceKey(this.owner, this.spender)] ?? 0n) > 0n;
  async run(m: TokenModel, r: TokenReal) {
    const key = allowanceKey(this.owner, this.spender);
    const allowed = m.allowances[key]!;
    const amount = (allowed * BigInt(this.fraction)) / 100n || 1n;
    if (amount > m.balances[this.owner]!) return;
    r.ctx.act(`${this.spender} spends ${usd(amount)} of ${this.owner}'s allowance`);
    const res = await r.s.attempt({
      label: 'transferFrom',
      role: this.spender,
      address: r.s.contract('usdc'),
      abi: usdcAbi,
      functionName: 'transferFrom',
      args: [r.s.address(this.owner), r.s.address(this.spender), amount],
    });
    r.ctx.check('USDC-2612-01', res.ok, 'the spender can transferFrom within the permitted allowance', { expected: 'success', actual: res.ok ? 'success' : `refused: ${res.reason}` });
    m.allowances[key] = allowed - amount;
    m.balances[this.owner]! -= amount;
    m.balances[this.spender]! += amount;
    await expectBalances('USDC-2612-01', m, r, 'transferFrom');
  }
  toString = () => `spend(${this.spender} from ${this.owner}, ${this.fraction}%)`;
}

export const tokenModel = defineScenario<TokenModel, TokenReal>({
  kind: 'model',
  id: 'token-model',
  title: 'Sequences of payments, replays, cancels, permits and spends keep the token equal to its model (asyncModelRun)',
  requirements: ['USDC-3009-01', 'USDC-3009-04', 'USDC-3009-07', 'USDC-2612-01', 'USDC-2612-03'],
  roles: [...HOLDERS, ...RELAYERS],
  ...USDC_NEEDS,
  maxCommands: 10,
  commands: () => {
    const relayer = fc.constantFrom(...RELAYERS);
    const holder = fc.constantFrom(...HOLDERS);
    return [
      fc.tuple(pairArb, amountArb, nonceArb, relayer).map(([[a, b], v, n, rl]) => new PayCmd(a, b, v, n, rl)),
      fc.tuple(fc.nat(), relayer).map(([k, rl]) => new ReplayCmd(k, rl)),
      fc.tuple(holder, holder, nonceArb, relayer).map(([h, p, n, rl]) => new CancelCmd(h, p, n, rl)),
      fc.tuple(pairArb, amountArb, relayer).map(([[o, sp], v, rl]) => new PermitCmd(o, sp, v, rl)),
      fc.tuple(fc.nat(), relayer).map(([k, rl]) => new PermitReplayCmd(k, rl)),
      fc.tuple(pairArb, fc.integer({ min: 1, max: 100 })).map(([[o, sp], f]) => new SpendCmd(o, sp, f)),
    ];
  },
  async setup(ctx) {
    const chain = ctx.target.chains.find((c) => c.usdc)!;
    const s = await ctx.chain(chain.id);
    const balances = await usdcBalances(s, [...HOLDERS]);
    const permitNonces: Record<string, bigint> = {};
    for (const h of HOLDERS) permitNonces[h] = await s.read(s.contract('usdc'), usdcAbi, 'nonces', [s.address(h)]);
    const allowances: Record<string, bigint> = {};
    for (const o of HOLDERS) for (const sp of HOLDERS) if (o !== sp) allowances[allowanceKey(o, sp)] = await s.read(s.contract('usdc'), usdcAbi, 'allowance', [s.address(o), s.address(sp)]);
    ctx.act(`[${s.id}] start: ${HOLDERS.map((h) => `${h} ${usd(balances[h]!)}`).join(', ')}`);
    return { model: { balances, permitNonces, allowances, usedAuths: 0, permits: 0 }, real: { ctx, s, auths: [], permits: [] } };
  },
});

// ----------------------------------------------------------------------------------------- permit

type Forgery = 'other-signer' | 'value' | 'spender' | 'deadline';

async function permitState(s: ChainSession, owner: Address, spender: Address) {
  const usdc = s.contract('usdc');
  const [nonce, allowance] = await Promise.all([s.read(usdc, usdcAbi, 'nonces', [owner]), s.read(usdc, usdcAbi, 'allowance', [owner, spender])]);
  return { nonce, allowance };
}

export const permitValid = defineScenario({
  kind: 'property',
  id: '2612-permit-valid',
  title: 'A valid EIP-2612 permit sets the allowance once, can be spent, and cannot be replayed',
  requirements: ['USDC-2612-01', 'USDC-2612-03'],
  roles: [...HOLDERS, ...RELAYERS],
  ...USDC_NEEDS,
  arbitrary: (env) =>
    fc.record({
      chain: chainArb(env),
      pair: pairArb,
      value: amountArb,
      relayers: fc.tuple(fc.constantFrom(...RELAYERS), fc.constantFrom(...RELAYERS)),
      ttl: fc.integer({ min: 60, max: 86_400 }),
      spend: fc.boolean(),
    }),
  async run(ctx, v) {
    const s = await ctx.chain(v.chain);
    const [owner, spender] = v.pair;
    const usdc = s.contract('usdc');
    const now = await s.now();
    const o = s.address(owner);
    const sp = s.address(spender);
    const st0 = await permitState(s, o, sp);
    const signed = { owner: o, spender: sp, value: v.value, nonce: st0.nonce, deadline: now + BigInt(v.ttl) };
    const sig = await signPermit(s.account(owner), usdcDomain(s), signed);
    const args = [o, sp, v.value, signed.deadline, sig.v, sig.r, sig.s] as const;
    ctx.act(`[${s.id}] ${owner} signs permit(spender=${spender}, value=${usd(v.value)}, nonce=${st0.nonce}, deadline=now+${v.ttl}s)`);
    ctx.act(`${v.relayers[0]} submits permit`);
    const r = await s.attempt({ label: 'valid permit', role: v.relayers[0], address: usdc, abi: usdcAbi, functionName: 'permit', args });
    ctx.check('USDC-2612-01', r.ok, 'a valid permit is accepted', { expected: 'success', actual: r.ok ? 'success' : `refused: ${r.reason}` });
    if (!r.ok) return;
    const st1 = await permitState(s, o, sp);
    ctx.check('USDC-2612-01', st1.allowance === v.value, 'allowance equals the permitted value', { expected: v.value, actual: st1.allowance });
    ctx.check(
      'USDC-2612-01',
      r.events.some((e) => e.eventName === 'Approval' && e.args.owner === o && e.args.spender === sp && e.args.value === v.value),
      'emits Approval(owner, spender, value)',
      {
        expected: 'Approval',
        actual: r.events.map((e) => e.eventName).join(', ') || 'none',
      },
    );
    // The replay comes before the nonce assertion: a replayable permit is the sharper symptom of a stuck nonce.
    ctx.act(`${v.relayers[1]} submits the same permit again`);
    const r2 = await s.attempt({ label: 'permit replay', role: v.relayers[1], address: usdc, abi: usdcAbi, functionName: 'permit', args });
    ctx.check('USDC-2612-03', !r2.ok, 'a replayed permit is refused', { expected: 'refused (invalid signature)', actual: r2.ok ? `accepted in ${r2.hash}` : `refused: ${r2.reason}` });
    const st2 = await permitState(s, o, sp);
    ctx.check('USDC-2612-03', st2.nonce === st1.nonce, 'the replay leaves the nonce unchanged', { expected: st1.nonce, actual: st2.nonce });
    ctx.check('USDC-2612-01', st1.nonce === st0.nonce + 1n, 'nonces(owner) increments by one', { expected: st0.nonce + 1n, actual: st1.nonce });
    if (!v.spend) return;
    const before = await usdcBalances(s, [owner, spender]);
    fc.pre(before[owner]! >= v.value);
    ctx.act(`${spender} calls transferFrom(${owner} → ${spender}, ${usd(v.value)})`);
    const t = await s.attempt({ label: 'spend the permit', role: spender, address: usdc, abi: usdcAbi, functionName: 'transferFrom', args: [o, sp, v.value] });
    ctx.check('USDC-2612-01', t.ok, 'the spender can transferFrom up to the permitted value', { expected: 'success', actual: t.ok ? 'success' : `refused: ${t.reason}` });
    const after = await usdcBalances(s, [owner, spender]);
    s.recordBalances('transferFrom after permit', usdc, before, after);
  },
});

/** Expired and forged permits are separate scenarios so one defect cannot hide the other's verdict. */
function permitRefusal(mode: 'expired' | 'forged') {
  const req = mode === 'expired' ? 'USDC-2612-02' : 'USDC-2612-04';
  return defineScenario({
    kind: 'property',
    id: `2612-permit-${mode}`,
    title: mode === 'expired' ? 'An expired EIP-2612 permit is refused and changes nothing' : 'A forged EIP-2612 permit (other signer or altered field) is refused and changes nothing',
    requirements: [req],
    roles: [...HOLDERS, ...RELAYERS],
    ...USDC_NEEDS,
    arbitrary: (env) =>
      fc.record({
        chain: chainArb(env),
        pair: pairArb,
        value: amountArb,
        relayer: fc.constantFrom(...RELAYERS),
        ago: fc.integer({ min: 1, max: 30 * 86_400 }),
        forgery: fc.constantFrom<Forgery>('other-signer', 'value', 'spender', 'deadline'),
      }),
    async run(ctx, v) {
      const s = await ctx.chain(v.chain);
      const [owner, spender] = v.pair;
      const usdc = s.contract('usdc');
      const now = await s.now();
      const o = s.address(owner);
      const sp = s.address(spender);
      const st0 = await permitState(s, o, sp);
      const send = async (label: string, p: { owner: Address; spender: Address; value: bigint; deadline: bigint }, sig: { v: number; r: Hex; s: Hex }) =>
        s.attempt({ label, role: v.relayer, address: usdc, abi: usdcAbi, functionName: 'permit', args: [p.owner, p.spender, p.value, p.deadline, sig.v, sig.r, sig.s] });
      if (mode === 'expired') {
        // Deadline strictly before the latest block's time.
        const expiredPermit = { owner: o, spender: sp, value: v.value, nonce: st0.nonce, deadline: now - BigInt(v.ago) };
        ctx.act(`[${s.id}] ${owner} signs permit(spender=${spender}, value=${usd(v.value)}, deadline=now-${v.ago}s); ${v.relayer} submits it`);
        const r1 = await send('expired permit', expiredPermit, await signPermit(s.account(owner), usdcDomain(s), expiredPermit));
        const st1 = await permitState(s, o, sp);
        ctx.check(req, !r1.ok, 'an expired permit is refused', { expected: 'refused (permit is expired)', actual: r1.ok ? `accepted in ${r1.hash}` : `refused: ${r1.reason}` });
        ctx.check(req, st1.nonce === st0.nonce && st1.allowance === st0.allowance, 'allowance and nonce unchanged', {
          expected: `nonce ${st0.nonce}, allowance ${st0.allowance}`,
          actual: `nonce ${st1.nonce}, allowance ${st1.allowance}`,
        });
        return;
      }
      // Signed by someone else, or a field changed after signing.
      const signed = { owner: o, spender: sp, value: v.value, nonce: st0.nonce, deadline: now + 3600n };
      const sig = await signPermit(s.account(v.forgery === 'other-signer' ? 'attacker' : owner), usdcDomain(s), signed);
      const sent =
        v.forgery === 'value'
          ? { ...signed, value: signed.value + 1n }
          : v.forgery === 'spender'
            ? { ...signed, spender: s.address('attacker') }
            : v.forgery === 'deadline'
              ? { ...signed, deadline: signed.deadline + 1n }
              : signed;
      ctx.act(
        v.forgery === 'other-signer'
          ? `[${s.id}] attacker signs a permit in ${owner}'s name; ${v.relayer} submits it`
          : `[${s.id}] ${owner} signs a valid permit; ${v.relayer} submits it with a different ${v.forgery}`,
      );
      const r2 = await send(`forged permit (${v.forgery})`, sent, sig);
      const st2 = await permitState(s, o, sent.spender);
      const st2b = await permitState(s, o, sp);
      ctx.check(req, !r2.ok, `a forged permit (${v.forgery}) is refused`, { expected: 'refused (invalid signature)', actual: r2.ok ? `accepted in ${r2.hash}` : `refused: ${r2.reason}` });
      ctx.check(req, st2.nonce === st0.nonce && st2b.allowance === st0.allowance && (sent.spender === sp || st2.allowance === 0n), 'allowance and nonce unchanged', {
        expected: `nonce ${st0.nonce}, allowance ${st0.allowance}`,
        actual: `nonce ${st2.nonce}, allowance ${st2b.allowance}${sent.spender !== sp ? ` (attacker allowance ${st2.allowance})` : ''}`,
      });
    },
  });
}
export const permitExpired = permitRefusal('expired');
export const permitForged = permitRefusal('forged');

// ----------------------------------------------------------------------------------------- domain

export const domain = defineScenario({
  kind: 'property',
  id: 'eip712-domain',
  title: 'name(), version() and DOMAIN_SEPARATOR() match the declared EIP-712 domain',
  requirements: ['USDC-DOM-01'],
  needs: ['usdc'],
  arbitrary: (env) => chainArb(env),
  async run(ctx, chain) {
    const s = await ctx.chain(chain);
    const usdc = s.contract('usdc');
    const declared = s.spec.usdc!;
    const [name, version, sep, decimals] = await Promise.all([
      s.read(usdc, usdcAbi, 'name'),
      s.read(usdc, usdcAbi, 'version'),
      s.read(usdc, usdcAbi, 'DOMAIN_SEPARATOR'),
      s.read(usdc, usdcAbi, 'decimals'),
    ]);
    ctx.act(`[${s.id}] read name(), version(), decimals(), DOMAIN_SEPARATOR() of ${usdc}`);
    ctx.check('USDC-DOM-01', name === declared.name && version === declared.version, 'name()/version() equal the declared EIP-712 name/version', {
      expected: `${declared.name}/${declared.version}`,
      actual: `${name}/${version}`,
    });
    ctx.check('USDC-DOM-01', decimals === declared.decimals, 'decimals() equals the declared decimals', { expected: declared.decimals, actual: decimals });
    const expected = hashDomain({
      domain: { ...usdcDomain(s), chainId: BigInt(s.chainId) },
      types: {
        EIP712Domain: [
          { name: 'name', type: 'string' },
          { name: 'version', type: 'string' },
          { name: 'chainId', type: 'uint256' },
          { name: 'verifyingContract', type: 'address' },
        ],
      },
    });
    ctx.check('USDC-DOM-01', sep.toLowerCase() === expected.toLowerCase(), 'DOMAIN_SEPARATOR() = hash(name, version, chainId, token address)', { expected, actual: sep });
  },
});

export const usdcScenarios = [
  validTransfer,
  expired,
  notYetValid,
  timeBoundaries,
  nonceReuse,
  wrongSignature,
  receiveCaller,
  cancel,
  race,
  tokenModel,
  permitValid,
  permitExpired,
  permitForged,
  domain,
];
