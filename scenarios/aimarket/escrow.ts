/**
 * AIMarketEscrow on the target chain (contract `aimarketEscrow`): a depositor opens a channel, a hub
 * debits it with the depositor's EIP-712 DebitAuthorization signed by the protocol library, and every
 * forgery kind is tried in every run (another signer, a replayed receipt id, another hub after binding,
 * an overdraft, a stale nonce); settle or expire pays exactly; refund only before any debit; the money
 * is conserved (token balances before/after).
 */
import fc from 'fast-check';
import { type Address, erc20Abi, type Hex, keccak256, toHex } from 'viem';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { ESCROW_KEY, escrowAbi } from '../../reference-impl/aimarket/protocol/abi.ts';
import { AIMARKET_CONSTANTS } from '../../reference-impl/aimarket/protocol/constants.ts';
import { signDebit } from '../../reference-impl/aimarket/protocol/eip712.ts';

const FORGERIES = ['other-signer', 'replayed-receipt', 'other-hub', 'overdraft', 'stale-nonce'] as const;

export const escrow = defineScenario({
  kind: 'property',
  id: 'escrow',
  title: 'AIMarketEscrow: EIP-712 debits by the bound hub only, every forgery refused, refund only before a debit, settle/expire pay exactly, money conserved',
  requirements: ['AIM-ESC-01'],
  needs: ['usdc', ESCROW_KEY],
  roles: ['buyer1', 'provider', 'vendor2'],
  signers: ['attacker'],
  capabilities: ['snapshot', 'clock-control'],
  isolation: 'snapshot',
  arbitrary: () =>
    fc.record({
      deposit: fc.bigInt({ min: 2n, max: 50_000_000n }),
      debits: fc.array(fc.bigInt({ min: 1n, max: 5_000_000n }), { minLength: 1, maxLength: 4 }),
      forgeries: fc.shuffledSubarray([...FORGERIES], { minLength: FORGERIES.length }),
      end: fc.constantFrom('settle-by-depositor', 'settle-by-hub', 'expire'),
      salt: fc.nat(),
    }),
  async run(ctx, v) {
    const spec = ctx.target.chains.find((c) => c.contracts[ESCROW_KEY] && (c.usdc ?? c.tokens.usdc))!;
    const s = await ctx.chain(spec.id);
    const esc = s.contract(ESCROW_KEY);
    const usdc = s.contract('usdc');
    const depositor = s.address('buyer1');
    const hub = s.address('provider');
    const chainId = s.chainId;
    const id = keccak256(toHex(`amh-escrow-${v.salt}-${Date.now()}-${Math.random()}`));
    const holders = { depositor, hub, escrow: esc };
    const before = await ctx.balancesOf(s, usdc, holders);
    await s.attempt({ label: 'buyer1 approves the escrow', role: 'buyer1', address: usdc, abi: erc20Abi, functionName: 'approve', args: [esc, v.deposit] });
    ctx.act(`buyer1 opens channel ${id.slice(0, 10)}… with ${v.deposit}`);
    const open = await s.attempt({ label: 'openChannel', role: 'buyer1', address: esc, abi: escrowAbi, functionName: 'openChannel', args: [id, usdc, v.deposit] });
    ctx.check('AIM-ESC-01', open.ok, 'openChannel pulls the deposit', { expected: 'mined', actual: open.ok ? 'mined' : open.reason });
    const chan = async () => s.read(esc, escrowAbi, 'getChannel', [id]);
    const ttl = BigInt(AIMARKET_CONSTANTS.of(ctx.profile).channelExpirySeconds);
    if (open.ok) {
      const openedAt = (await s.public.getBlock({ blockNumber: open.blockNumber })).timestamp;
      ctx.expectEqual('AIM-ESC-01', (await chan()).expiresAt, openedAt + ttl, `the channel expires ${ttl} s after its open`);
    }
    const deadline = (await s.now()) + 3600n;
    const auth = (who: string, hubAddr: Address, amount: bigint, receipt: Hex, nonce: bigint) =>
      signDebit(ctx.key(who), chainId, esc, { channelId: id, hub: hubAddr, token: usdc, amount, receiptId: receipt, nonce, deadline });
    const debit = async (by: string, amount: bigint, receipt: Hex, sig: Hex, label: string) =>
      s.attempt({ label, role: by, address: esc, abi: escrowAbi, functionName: 'debitChannel', args: [id, amount, receipt, deadline, sig] });

    let used = 0n;
    let n = 0n;
    const rid = (k: number) => keccak256(toHex(`${id}-r${k}`));
    const debits = v.debits.filter((d) => d <= v.deposit);
    for (const [k, amount] of debits.entries()) {
      if (used + amount > v.deposit) break;
      if (k === 0) {
        // before any debit: a refund by someone else is refused, the forgeries that need no binding are tried
        const r = await s.attempt({ label: 'attacker refunds', role: 'vendor2', address: esc, abi: escrowAbi, functionName: 'refundChannel', args: [id, 'steal'] });
        ctx.check('AIM-ESC-01', !r.ok, 'only the depositor may refund', { expected: 'revert', actual: r.ok ? 'mined' : r.reason });
      }
      const sig = await auth('buyer1', hub, amount, rid(k), n);
      ctx.act(`the hub debits ${amount} with receipt ${k}`);
      const d = await debit('provider', amount, rid(k), sig, `debit ${amount}`);
      ctx.check('AIM-ESC-01', d.ok, 'a debit with the depositor’s authorization succeeds', { expected: 'mined', actual: d.ok ? 'mined' : d.reason });
      used += amount;
      n += 1n;
    }
    for (const f of v.forgeries) {
      const receipt = rid(1000 + FORGERIES.indexOf(f));
      let r;
      if (f === 'other-signer') r = await debit('provider', 1n, receipt, await auth('attacker', hub, 1n, receipt, n), 'debit signed by the attacker');
      else if (f === 'replayed-receipt' && n > 0n) r = await debit('provider', 1n, rid(0), await auth('buyer1', hub, 1n, rid(0), n), 'debit replaying receipt 0');
      else if (f === 'other-hub' && n > 0n) r = await debit('vendor2', 1n, receipt, await auth('buyer1', s.address('vendor2'), 1n, receipt, n), 'debit by another hub');
      else if (f === 'overdraft') r = await debit('provider', v.deposit - used + 1n, receipt, await auth('buyer1', hub, v.deposit - used + 1n, receipt, n), 'debit past the deposit');
      else if (f === 'stale-nonce' && n > 0n) r = await debit('provider', 1n, receipt, await auth('buyer1', hub, 1n, receipt, n - 1n), 'debit with a stale nonce');
      else continue;
      ctx.act(`the ${f} debit is tried`);
      ctx.check('AIM-ESC-01', !r.ok, `a ${f} debit is refused`, { expected: 'revert', actual: r.ok ? 'mined' : r.reason });
    }
    const c = await chan();
    ctx.expectEqual('AIM-ESC-01', [c.used, c.nonce], [used, n], 'the channel records exactly the accepted debits');
    if (n > 0n) {
      const late = await s.attempt({ label: 'depositor refunds after a debit', role: 'buyer1', address: esc, abi: escrowAbi, functionName: 'refundChannel', args: [id, 'late'] });
      ctx.check('AIM-ESC-01', !late.ok, 'refund is refused after a debit', { expected: 'revert', actual: late.ok ? 'mined' : late.reason });
    }
    if (v.end === 'expire') {
      const early = await s.attempt({ label: 'expire early', role: 'vendor2', address: esc, abi: escrowAbi, functionName: 'expireChannel', args: [id] });
      ctx.check('AIM-ESC-01', !early.ok, `expire before ${ttl} s is refused`, { expected: 'revert', actual: early.ok ? 'mined' : early.reason });
      await s.test.increaseTime({ seconds: Number(ttl) });
      await s.test.mine({ blocks: 1 });
    }
    ctx.act(`the channel ends by ${v.end}`);
    const end =
      v.end === 'expire'
        ? await s.attempt({ label: 'expireChannel by anyone', role: 'vendor2', address: esc, abi: escrowAbi, functionName: 'expireChannel', args: [id] })
        : n === 0n && v.end === 'settle-by-hub'
          ? await s.attempt({ label: 'refundChannel', role: 'buyer1', address: esc, abi: escrowAbi, functionName: 'refundChannel', args: [id, 'unused'] })
          : await s.attempt({ label: 'settleChannel', role: v.end === 'settle-by-hub' ? 'provider' : 'buyer1', address: esc, abi: escrowAbi, functionName: 'settleChannel', args: [id] });
    ctx.check('AIM-ESC-01', end.ok, `${v.end} succeeds`, { expected: 'mined', actual: end.ok ? 'mined' : end.reason });
    const after = await ctx.balancesOf(s, usdc, holders);
    s.recordBalances('escrow lifecycle', usdc, before.before, after.before);
    ctx.expectEqual('AIM-ESC-01', after.before.hub - before.before.hub, used, 'the hub received exactly the debits');
    ctx.expectEqual('AIM-ESC-01', before.before.depositor - after.before.depositor, used, 'the depositor lost exactly the debits');
    ctx.expectEqual('AIM-ESC-01', after.before.escrow, before.before.escrow, 'the escrow holds nothing more for this channel');
  },
});
