/**
 * AISP on the real stack for `amh simulate --engine stack`: the DiemMarketplace on the `base` anvil
 * chain (the economy's fee and refund rule written into it as `amh run --profile` does), the
 * reference backend and the lab's inference server (server/stack.ts) with one inference account per
 * simulated provider, all following chain time. Every seller is the scripted provider
 * (agents/provider.ts) with its own key: it lists once at its market price and stores its listing's
 * key, except an absent one, which lists and goes away (no key: the backend never calls it rentable).
 * Every buyer is the scripted renter (agents/renter.ts) with its own key, funded with real USDC by
 * the admin role.
 *
 * Each task runs the lifecycle the model runs (simulation.ts), answered for real: the renter reads
 * the listing's `rentable` from the backend, approves and funds (the cost read from `Funded`, the
 * USDC transfer read back from the receipt), gets the key from the backend (signed, on chain time)
 * and makes one inference call with it; a provider whose delivery is bad deletes the key on the
 * inference server first (and stores a fresh one for its next renter); a failing provider revokes at
 * its service time after funding (chain time set exactly, so the used days are the model's) and
 * rotates the key, after which the revoked renter's key must be refused; otherwise the chain is moved
 * to the rental's expiry and the provider settles. Every payout is read from the marketplace's event
 * and checked against the USDC Transfer logs of the same receipt.
 *
 * Time: chain time never goes back, so after a rental ran its term later tasks run that much later on
 * chain (their outcomes do not depend on it). Tasks run one at a time, so a listing's capacity (one
 * rental) is always free.
 *
 * Money on chain: every agent's USDC (the marketplace pays out directly, it owes nobody a
 * withdrawal); `escrow:aisp` is the marketplace's USDC gained since the start, `fees:aisp` the fee
 * recipient's.
 */
import { parseAbi, parseEventLogs, toFunctionSelector, type Address, type Hex, type TransactionReceipt } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createChainClients, rpcCall, tokenOf } from '../../harness/chain/index.ts';
import { fundByTransfer, runPlanAsync, type SimTask, type StackEnv, type StackMarket, type TaskPlan } from '../../harness/sim/pack.ts';
import { createBackendClient } from './agents/backend.ts';
import { createMarketChain, type MarketChain } from './agents/chain.ts';
import { createProvider, type IssuedKey, type Provider } from './agents/provider.ts';
import { createRenter, type Renter } from './agents/renter.ts';
import { createVeniceClient } from './agents/venice.ts';
import { marketplaceAbi, usdcAbi } from './protocol/abi.ts';
import { LAB_MODEL } from './protocol/inference.ts';
import { keyAnswer, listingAnswer } from './protocol/wire.ts';
import { applyAispConstants } from './server/apply-profile.ts';
import { chainClock } from './server/clock.ts';
import { startAispStack } from './server/stack.ts';
import { type AispSimProfile, type Answer, type Ask, rentalTerms, lifecycle, type Split } from './simulation.ts';

/** Gas for every simulated account (providers list, revoke, settle; renters approve and fund). */
const GAS = 10n ** 19n;
/** The selector of `AlreadyExpired(uint256 rentalId, uint64 expiresAt)`, the marketplace's refusal of a late revoke. */
const ALREADY_EXPIRED = toFunctionSelector('AlreadyExpired(uint256,uint64)');
const transferAbi = parseAbi(['event Transfer(address indexed from, address indexed to, uint256 value)']);

export async function startAispMarket(env: StackEnv): Promise<StackMarket> {
  const chain = env.chains.find((c) => c.profile.id === 'base');
  if (!chain) throw new Error('the aisp simulation needs the base chain');
  const profile = env.profile as unknown as AispSimProfile;
  const marketplace = chain.profile.contracts.diemMarketplace as Address;
  const usdc = tokenOf(chain.profile, 'usdc').address as Address;
  const { publicClient } = createChainClients(chain);
  const rpc = <T>(method: string, params: unknown[]) => rpcCall<T>(chain.rpcUrl, method, params);
  const latest = async () => BigInt((await rpc<{ timestamp: string }>('eth_getBlockByNumber', ['latest', false])).timestamp);
  /** The next block carries `at` (when the chain is not already past it). */
  const moveTo = async (at: bigint) => {
    if (at > (await latest())) await rpc('evm_setNextBlockTimestamp', [`0x${at.toString(16)}`]);
  };

  await applyAispConstants(chain, { feeBps: profile.feeBps, refundRule: profile.refundRule });
  const stack = await startAispStack(chain, { host: env.host, providers: env.sellers.map((s) => s.account) });
  try {
    const clock = chainClock(chain.rpcUrl);
    const backend = createBackendClient(stack.backend.url, { clock });
    const venice = createVeniceClient(stack.venice.url);
    const feeRecipient = (await publicClient.readContract({ address: marketplace, abi: marketplaceAbi, functionName: 'feeRecipient' })) as Address;
    const usdcOf = (a: Address) => publicClient.readContract({ address: usdc, abi: usdcAbi, functionName: 'balanceOf', args: [a] });
    const marketAtStart = await usdcOf(marketplace);
    const feesAtStart = await usdcOf(feeRecipient);
    const chainOf = new Map<string, MarketChain>();
    const marketChain = (account: string) => {
      let m = chainOf.get(account);
      if (!m) {
        m = createMarketChain({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, marketplace, usdc, privateKey: env.key(account).privateKey });
        chainOf.set(account, m);
      }
      return m;
    };
    const address = (account: string) => env.key(account).address.toLowerCase();
    const addressOf = (account: string) => (account.startsWith('escrow:') ? marketplace.toLowerCase() : account.startsWith('fees:') ? feeRecipient.toLowerCase() : address(account));

    /** The USDC moved by a receipt must be exactly these transfers (zero amounts aside). */
    const checkTransfers = (task: SimTask, what: string, r: TransactionReceipt, want: { from: string; to: string; amount: bigint }[]) => {
      const got = parseEventLogs({ abi: transferAbi, logs: r.logs.filter((l) => l.address.toLowerCase() === usdc.toLowerCase()) })
        .filter((e) => e.args.value !== 0n)
        .map((e) => `${e.args.from.toLowerCase()}>${e.args.to.toLowerCase()}:${e.args.value}`)
        .sort();
      const expected = want
        .filter((x) => x.amount !== 0n)
        .map((x) => `${addressOf(x.from)}>${addressOf(x.to)}:${x.amount}`)
        .sort();
      if (got.join() !== expected.join()) throw new Error(`aisp simulation: ${task.id}: the ${what} moved USDC ${got.join(', ') || 'nowhere'}, its event says ${expected.join(', ') || 'nothing'}`);
    };
    const event = <const N extends 'Funded' | 'Settled' | 'Revoked'>(r: TransactionReceipt, name: N) => {
      const e = parseEventLogs({ abi: marketplaceAbi, eventName: name, logs: r.logs })[0];
      if (r.status !== 'success' || !e) throw new Error(`aisp simulation: transaction ${r.transactionHash} emitted no ${name}`);
      return e;
    };

    // Every provider lists once at its price; all but the absent ones store their listing's key.
    const { termDays, diemAmount } = rentalTerms({ profile: env.profile });
    const sellers = new Map<string, { provider: Provider; adminKey: string; listingId: bigint; key?: IssuedKey }>();
    for (const s of env.sellers) {
      const key = env.key(s.account);
      await rpc('anvil_setBalance', [key.address, `0x${GAS.toString(16)}`]);
      const adminKey = stack.adminKeys[s.account]!;
      const provider = createProvider({ chain: marketChain(s.account), backend, venice, account: privateKeyToAccount(key.privateKey), adminKey });
      const terms = { pricePerDay: s.price, termDays, diemMin: diemAmount, diemMax: diemAmount };
      if (s.strategy === 'absent') sellers.set(s.account, { provider, adminKey, listingId: (await marketChain(s.account).list(terms.pricePerDay, termDays, diemAmount, diemAmount)).listingId });
      else {
        const l = await provider.createListing(terms);
        sellers.set(s.account, { provider, adminKey, listingId: l.listingId, key: l.key });
      }
    }
    const renterOf = new Map<string, Renter>();
    for (const b of env.buyers) {
      const key = env.key(b.account);
      await rpc('anvil_setBalance', [key.address, `0x${GAS.toString(16)}`]);
      renterOf.set(b.account, createRenter({ chain: marketChain(b.account), backend, venice, account: privateKeyToAccount(key.privateKey), retryDelayMs: 50 }));
    }

    async function run(task: SimTask): Promise<TaskPlan> {
      const seller = sellers.get(task.seller)!;
      const renter = renterOf.get(task.buyer)!;
      const buyerChain = marketChain(task.buyer);
      let rental: { id: bigint; fundedAt: bigint; expiresAt: bigint; apiKey: string } | undefined;
      const use = () => renter.use(rental!.apiKey, LAB_MODEL, `simulated task ${task.id}`);
      const answer = async (ask: Ask): Promise<Answer> => {
        switch (ask.kind) {
          case 'rentable': {
            const a = await backend.listing(seller.listingId);
            const p = listingAnswer.safeParse(a.body);
            if (a.status !== 200 || !p.success) throw new Error(`aisp simulation: ${task.id}: GET /api/listings/${seller.listingId} answered ${a.status} ${a.text}`);
            return p.data.rentable;
          }
          case 'fund': {
            const quoted = await buyerChain.quote(seller.listingId, termDays, diemAmount);
            if (quoted !== task.amount) throw new Error(`aisp simulation: ${task.id}: the marketplace quotes ${quoted}, the market price is ${task.amount}`);
            await buyerChain.approve(quoted);
            const f = await buyerChain.fund(seller.listingId, termDays, diemAmount);
            const ev = event(f.receipt, 'Funded');
            checkTransfers(task, 'funding', f.receipt, [{ from: task.buyer, to: task.escrow, amount: ev.args.cost }]);
            const k = await renter.getKey(f.rentalId);
            const p = keyAnswer.safeParse(k.body);
            if (k.status !== 200 || !p.success) throw new Error(`aisp simulation: ${task.id}: the backend did not release the key of rental ${f.rentalId} (${k.status} ${k.text})`);
            const block = await publicClient.getBlock({ blockNumber: f.receipt.blockNumber });
            rental = { id: f.rentalId, fundedAt: block.timestamp, expiresAt: ev.args.expiresAt, apiKey: p.data.apiKey };
            return ev.args.cost;
          }
          case 'use': {
            if (ask.good) return (await use()).status === 200;
            // The provider pulls the key the renter holds, then stores a fresh one for its next renter.
            const d = await venice.deleteKey(seller.adminKey, seller.key!.id);
            if (d.status !== 200) throw new Error(`aisp simulation: ${task.id}: the provider could not delete its key (${d.status} ${d.text})`);
            const served = (await use()).status === 200;
            seller.key = await seller.provider.rotateKey(seller.listingId);
            return served;
          }
          case 'revoke': {
            const r = rental!;
            await moveTo(r.fundedAt + BigInt(ask.afterSeconds));
            let s: Awaited<ReturnType<MarketChain['revokeAndRefund']>>;
            try {
              s = await marketChain(task.seller).revokeAndRefund(r.id);
            } catch (e) {
              // The term is over: the marketplace refuses (at the gas estimate, nothing is sent), by name or selector.
              const m = String((e as Error).message);
              if (m.includes('AlreadyExpired') || m.includes(ALREADY_EXPIRED.slice(2))) return null;
              throw e;
            }
            const ev = event(s.receipt, 'Revoked');
            const split: Split = { refund: ev.args.refund, provider: ev.args.providerAmount, fee: ev.args.fee };
            checkTransfers(task, 'revoke', s.receipt, [
              { from: task.escrow, to: task.buyer, amount: split.refund },
              { from: task.escrow, to: task.seller, amount: split.provider },
              { from: task.escrow, to: task.fees, amount: split.fee },
            ]);
            // AISP-PROF-20: the provider rotates the key, and the revoked renter's copy stops working.
            seller.key = await seller.provider.rotateKey(seller.listingId);
            const after = await use();
            if (after.status === 200) throw new Error(`aisp simulation: ${task.id}: the revoked renter's key still serves`);
            return split;
          }
          case 'settle': {
            await moveTo(rental!.expiresAt);
            const s = await marketChain(task.seller).settle(rental!.id);
            const ev = event(s.receipt, 'Settled');
            const split: Split = { refund: 0n, provider: ev.args.providerAmount, fee: ev.args.fee };
            checkTransfers(task, 'settlement', s.receipt, [
              { from: task.escrow, to: task.seller, amount: split.provider },
              { from: task.escrow, to: task.fees, amount: split.fee },
            ]);
            return split;
          }
        }
      };
      return runPlanAsync(lifecycle(task), answer);
    }

    return {
      fund: fundByTransfer(chain, usdc, env.key, 'aisp'),
      run,
      async balances(accounts) {
        const out = new Map<string, bigint>();
        for (const a of accounts) {
          if (a === 'escrow:aisp') out.set(a, (await usdcOf(marketplace)) - marketAtStart);
          else if (a === 'fees:aisp') out.set(a, (await usdcOf(feeRecipient)) - feesAtStart);
          else if (!a.startsWith('escrow:') && !a.startsWith('fees:')) out.set(a, await usdcOf(env.key(a).address as Hex));
        }
        return out;
      },
      stop: () => stack.stop(),
    };
  } catch (e) {
    await stack.stop();
    throw e;
  }
}
