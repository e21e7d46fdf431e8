/**
 * AI Market on the real stack for `amh simulate --engine stack`: every simulated seller is one
 * reference hub (server/hub.ts, its own SQLite, Ed25519 signer and wallet: the seller's key, so
 * deposits are paid to it and it sends the refunds) on the base-sepolia anvil chain, paid in its USDC,
 * with one capability at the seller's price (the reference catalog's upper-casing, whole-cent billing
 * with the hub's ceiling) and the economy's channel lifetime. The seller's own work behind it does the
 * call right, returns garbage (the text reversed) or fails (a typed failure), as the lifecycle drew
 * it. An absent seller's hub never starts: its address is a closed port. Every buyer is the scripted
 * buyer (agents/buyer.ts, agents/hub-client.ts) with its own key.
 *
 * Each task runs the lifecycle the model runs (simulation.ts), with the answers observed for real:
 * discovery reads the well-known document and verifies the signed manifest under the key the buyer
 * pinned on its first visit to that hub, and takes the capability's price from it; the open asks the
 * 402 for the recipient, transfers the deposit (checked in the receipt's USDC Transfer log) and opens
 * the channel on it; each call first moves the chain clock to the call's start (open + its offset,
 * `evm_setNextBlockTimestamp` + `evm_mine`: the hub judges expiry on the chain clock), then is answered
 * with a receipt verified under the pinned key (the debit is its `price_usd`), a verified failure
 * receipt with `refunded`, or a 402 whose reason says depleted or expired; the buyer looks at the
 * result (its text upper-cased?). The close's settlement must report the debits the calls reported and
 * the deposit's rest, and its refund transaction must move exactly that from the seller to the buyer.
 * Chain time never goes back, so later tasks run that much later on chain (their outcomes do not
 * depend on it).
 *
 * Money on chain: every agent's USDC. A hub keeps its channels as a ledger on deposits it holds in its
 * own wallet, so while a channel is open the seller's USDC holds the channel's rest for the buyer: that
 * rest is `escrow:aimarket` (read from the hub, GET /ai-market/v2/channel/{id}), and the seller's
 * `owed` is minus it. Every task closes its channel, so both are zero at the end of a run that went well.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Address, erc20Abi, type Hex, parseEventLogs, type TransactionReceipt } from 'viem';
import { createChainClients, rpcCall, tokenOf } from '../../harness/chain/index.ts';
import { fundByTransfer, runPlanAsync, type SimTask, type StackEnv, type StackMarket, type TaskPlan } from '../../harness/sim/pack.ts';
import { freePort } from '../../harness/util/net.ts';
import { checkReceipt, discoverHub, receiptOf, requirementOf } from './agents/buyer.ts';
import { type HubClient, hubClient } from './agents/hub-client.ts';
import { type Capability, REFERENCE_CATALOG, runCapability } from './protocol/catalog.ts';
import { formatUsd, parseUsdMicros } from './protocol/money.ts';
import { type Hub, startHub } from './server/hub.ts';
import { labSeed } from './server/stack.ts';
import { type AimarketSimProfile, type Answer, type Ask, type CallResult, type Found, lifecycle, type Work } from './simulation.ts';

/** Gas for every simulated account that sends transactions (buyers' deposits, hubs' refunds). */
const GAS = 10n ** 19n;
/** The capability every simulated seller sells: the reference catalog's upper-casing, at the seller's price. */
const UPPER = REFERENCE_CATALOG.find((c) => c.capabilityId === 'upper@v1')!;

/** One `make(key)` per key, made on first use. */
function perKey<T>(make: (key: string) => T): (key: string) => T {
  const made = new Map<string, T>();
  return (key) => {
    let v = made.get(key);
    if (v === undefined) {
      v = make(key);
      made.set(key, v);
    }
    return v;
  };
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** The buyer holds less than the deposit on chain: the task is a payment the engine refuses. */
class Unaffordable extends Error {
  constructor(readonly amount: bigint) {
    super(`the buyer cannot cover a deposit of ${amount}`);
  }
}

export async function startAimarketMarket(env: StackEnv): Promise<StackMarket> {
  const chain = env.chains.find((c) => c.profile.id === 'base-sepolia');
  if (!chain) throw new Error('the aimarket simulation needs the base-sepolia chain');
  const profile = env.profile as unknown as AimarketSimProfile;
  const usdc = tokenOf(chain.profile, 'usdc');
  const token = usdc.address as Address;
  const { publicClient, walletClient } = createChainClients(chain);
  const rpc = <T>(method: string, params: unknown[]) => rpcCall<T>(chain.rpcUrl, method, params);
  const setGas = (address: string) => rpc('anvil_setBalance', [address, `0x${GAS.toString(16)}`]);
  const latest = async () => Number(BigInt((await rpc<{ timestamp: Hex }>('eth_getBlockByNumber', ['latest', false])).timestamp));
  const usdcOf = (address: Address) => publicClient.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [address] });
  const dir = mkdtempSync(path.join(tmpdir(), 'aimarket-sim-'));
  const hubs: Hub[] = [];
  const stop = async () => {
    for (const h of hubs.splice(0).reverse()) await h.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    for (const b of env.buyers) await setGas(env.key(b.account).address);
    const absentUrl = `http://${env.host}:${await freePort(env.host)}`;
    const sellerIndex = new Map(env.sellers.map((s, i) => [s.account, i]));
    /** The work each seller does on its next call, set by the lifecycle's ask just before the call. */
    const nextWork = new Map<string, Work>();
    /** The seller's hub (started on first use; none for an absent seller). */
    const hubOf = perKey(async (account: string): Promise<HubClient> => {
      const s = env.sellers.find((x) => x.account === account)!;
      if (s.strategy === 'absent') return hubClient(absentUrl);
      const i = sellerIndex.get(account)!;
      const key = env.key(account);
      await setGas(key.address);
      const capability: Capability = { ...UPPER, productId: `sim-seller-${i}`, priceMicros: s.price, p50LatencyMs: s.serviceMs };
      const hub = await startHub({
        name: `simulated ${account} (${s.strategy})`,
        signerSeedHex: labSeed(`sim:${account}`),
        walletKey: key.privateKey,
        rpcUrl: chain.rpcUrl,
        chainId: chain.chainId,
        chainName: chain.profile.id,
        token: { symbol: usdc.symbol, address: token, decimals: usdc.decimals },
        catalog: [capability],
        routingFeeBps: profile.routingFeeBps,
        channelTtlSeconds: profile.channelExpirySeconds,
        host: env.host,
        dbFile: path.join(dir, `seller-${i}.sqlite`),
        work(c, input) {
          const w = nextWork.get(account);
          nextWork.delete(account);
          if (w === undefined) throw new Error(`aimarket simulation: ${account} was called with no work decided`);
          if (w === 'fail') return { ok: false, reason: 'capability_failed' };
          const good = runCapability(c, input);
          if (!good.ok || w === 'good') return good;
          return { ok: true, result: { text: [...String(input.text)].reverse().join('') } };
        },
      });
      hubs.push(hub);
      return hubClient(hub.url);
    });
    /** The signer key each buyer pinned for each hub on its first visit. */
    const pinned = new Map<string, string>();
    /** Channels open now: id → the seller whose hub holds the deposit. */
    const openChannels = new Map<string, { seller: string; hub: HubClient }>();

    /** The USDC a receipt moved from `from` to `to`. */
    const moved = (r: TransactionReceipt, from: Address, to: Address) =>
      parseEventLogs({ abi: erc20Abi, eventName: 'Transfer', logs: r.logs.filter((l) => same(l.address, token)) })
        .filter((e) => same(e.args.from, from) && same(e.args.to, to))
        .reduce((a, e) => a + e.args.value, 0n);
    /** What an open channel still holds for its buyer (micro-USD), as its hub reports it. */
    const channelRest = async (id: string, hub: HubClient) => {
      const a = await hub.channel(id);
      const b = (a.body as { balance_usd?: number } | undefined)?.balance_usd;
      if (a.status !== 200 || b === undefined) throw new Error(`aimarket simulation: GET channel ${id} answered ${a.status} ${a.text.slice(0, 200)}`);
      return parseUsdMicros(b);
    };

    async function run(task: SimTask): Promise<TaskPlan> {
      const hub = await hubOf(task.seller);
      const buyerKey = env.key(task.buyer);
      const sellerAddress = env.key(task.seller).address;
      const buyerWallet = walletClient(buyerKey.privateKey);
      const input = { text: `simulated task ${task.id} for ${task.buyer}` };
      const fail = (what: string): never => {
        throw new Error(`aimarket simulation: ${task.id}: ${what}`);
      };
      let tool: { product_id: string; capability_id: string } | undefined;
      let key = '';
      let channel: { id: string; openedAt: number; deposit: bigint } | undefined;
      let charged = 0n;
      const answer = async (ask: Ask): Promise<Answer> => {
        switch (ask.kind) {
          case 'discover': {
            let d: Awaited<ReturnType<typeof discoverHub>>;
            try {
              d = await discoverHub(hub);
            } catch {
              return { reachable: false, priceMicros: 0n } satisfies Found;
            }
            if ('error' in d) return fail(`discovery: ${d.error}`);
            if (!d.verdict.ok) return fail(`the manifest does not verify: ${d.verdict.reason}`);
            key = d.wellKnown.signer_public_key;
            const pin = `${task.buyer}|${task.seller}`;
            if ((pinned.get(pin) ?? key) !== key) fail(`the hub's signer key changed since ${task.buyer} pinned it`);
            pinned.set(pin, key);
            const t = d.manifest.tools[0] ?? fail('the manifest lists no tool');
            tool = t;
            return { reachable: true, priceMicros: parseUsdMicros(t.price_per_call_usd) } satisfies Found;
          }
          case 'open': {
            const probe = await hub.invoke(tool!.product_id, tool!.capability_id, input);
            const req = requirementOf(probe);
            if (probe.status !== 402 || !req.ok) return fail(`an unpaid call answered ${probe.status} (${req.ok ? 'a requirement' : req.reason})`);
            if (!same(req.req.recipient, sellerAddress) || req.req.token !== usdc.symbol || req.amount !== task.amount)
              fail(`the 402 asks for ${req.amount} ${req.req.token} to ${req.req.recipient}, not the price in USDC to the seller's wallet`);
            const amount = ask.depositCents * 10_000n;
            // A buyer that cannot cover the deposit does not send it; the engine refuses the payment step.
            if ((await usdcOf(buyerKey.address)) < amount) throw new Unaffordable(amount);
            const r = await buyerWallet.writeContractSync({ address: token, abi: erc20Abi, functionName: 'transfer', args: [sellerAddress, amount] });
            if (r.status !== 'success' || moved(r, buyerKey.address, sellerAddress) !== amount) fail(`the deposit transfer ${r.transactionHash} did not move ${amount}`);
            const o = await hub.openChannel(formatUsd(amount), r.transactionHash);
            const c = (o.body as { channel?: { channel_id?: string; deposit_usd?: number; opened_at?: string } } | undefined)?.channel;
            if (o.status !== 200 || !c?.channel_id || c.deposit_usd === undefined || !c.opened_at) return fail(`channel open answered ${o.status} ${o.text.slice(0, 300)}`);
            channel = { id: c.channel_id, openedAt: Date.parse(c.opened_at) / 1000, deposit: parseUsdMicros(c.deposit_usd) };
            openChannels.set(channel.id, { seller: task.seller, hub });
            return channel.deposit;
          }
          case 'call': {
            const ch = channel!;
            // The hub reads expiry off the chain clock: the call starts at the channel's open + its offset.
            const at = ch.openedAt + ask.atSeconds;
            const now = await latest();
            if (now > at) fail(`the chain clock (${now}) is past the call's start (${at})`);
            if (now < at) {
              await rpc('evm_setNextBlockTimestamp', [`0x${at.toString(16)}`]);
              await rpc('evm_mine', []);
            }
            nextWork.set(task.seller, ask.work);
            const a = await hub.invoke(tool!.product_id, tool!.capability_id, input, { channel: ch.id });
            nextWork.delete(task.seller);
            const body = a.body as { success?: boolean; result?: { text?: string }; refunded?: boolean; error?: { message?: string } } | undefined;
            if (a.status === 402) {
              const why = body?.error?.message;
              if (why === 'channel depleted') return { kind: 'refused', why: 'depleted' } satisfies CallResult;
              if (why === 'channel expired') return { kind: 'refused', why: 'expired' } satisfies CallResult;
              return fail(`a call on the channel answered 402 '${why}'`);
            }
            if (a.status !== 200 || !body) return fail(`a call on the channel answered ${a.status} ${a.text.slice(0, 300)}`);
            const v = checkReceipt(a.text, key);
            if (!v.ok) fail(`the receipt does not verify under the pinned key: ${v.reason}`);
            // The signed receipt says what the call cost the channel.
            const receipt = receiptOf(a.text)!;
            if (receipt.channel_id !== ch.id) fail(`the receipt names channel ${String(receipt.channel_id)}, not ${ch.id}`);
            if (body.success === false) {
              if (body.refunded !== true || receipt.refunded !== true) fail('a failed call was not refunded');
              return { kind: 'failed' } satisfies CallResult;
            }
            if (body.success !== true || receipt.success !== true) return fail(`a call answered 200 ${a.text.slice(0, 300)}`);
            const debit = parseUsdMicros(receipt.price_usd);
            charged += debit;
            // The buyer's own look: is the result its text upper-cased?
            return { kind: 'served', chargedMicros: debit, received: body.result?.text === input.text.toUpperCase() ? 'good' : 'bad' } satisfies CallResult;
          }
          case 'close': {
            const ch = channel!;
            const c = await hub.closeChannel(ch.id);
            const s = (c.body as { settlement?: { used_usd?: number; refund_usd?: number; refund_status?: string; refund_tx_hash?: Hex | null } } | undefined)?.settlement;
            if (c.status !== 200 || s?.used_usd === undefined || s.refund_usd === undefined) return fail(`channel close answered ${c.status} ${c.text.slice(0, 300)}`);
            openChannels.delete(ch.id);
            const used = parseUsdMicros(s.used_usd);
            const refund = parseUsdMicros(s.refund_usd);
            if (used !== charged || refund !== ch.deposit - used) fail(`the settlement reports ${used} used and ${refund} refunded; the calls debited ${charged} of ${ch.deposit}`);
            if (refund > 0n) {
              if (s.refund_status !== 'executed' || !s.refund_tx_hash) fail(`the refund of ${refund} was not executed (${s.refund_status})`);
              const r = await publicClient.getTransactionReceipt({ hash: s.refund_tx_hash! });
              if (r.status !== 'success' || moved(r, sellerAddress, buyerKey.address) !== refund) fail(`the refund transaction ${s.refund_tx_hash} did not move ${refund} to the buyer`);
            }
            return { usedMicros: used, refundMicros: refund };
          }
        }
      };
      try {
        return await runPlanAsync(lifecycle(task), answer);
      } catch (e) {
        if (!(e instanceof Unaffordable)) throw e;
        // Only the payment step: the engine's ledger refuses it too (outcome `refused`); a ledger that
        // could cover it would keep the deposit in escrow after the task, a conservation violation.
        return {
          steps: [{ at: 0, action: 'open', payment: true, transfers: [{ from: task.buyer, to: task.escrow, amount: e.amount }] }],
          outcome: 'served',
          delivered: 'none',
          attempts: 0,
          rejections: 0,
        };
      }
    }

    /** What the open channels still hold, per seller (micro-USD). */
    const held = async () => {
      const out = new Map<string, bigint>();
      for (const [id, c] of openChannels) out.set(c.seller, (out.get(c.seller) ?? 0n) + (await channelRest(id, c.hub)));
      return out;
    };

    return {
      fund: fundByTransfer(chain, token, env.key, 'aimarket'),
      run,
      async balances(accounts) {
        const out = new Map<string, bigint>();
        for (const a of accounts) if (!a.startsWith('escrow:') && !a.startsWith('fees:')) out.set(a, await usdcOf(env.key(a).address));
        // No fee account: a direct call pays no protocol fee, and the reference router collects none.
        if (accounts.includes('escrow:aimarket')) {
          let open = 0n;
          for (const rest of (await held()).values()) open += rest;
          out.set('escrow:aimarket', open);
        }
        return out;
      },
      async owed(accounts) {
        // A seller's USDC holds its open channels' rest for their buyers: not its money.
        const h = await held();
        return new Map(accounts.filter((a) => h.has(a)).map((a) => [a, -h.get(a)!]));
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
