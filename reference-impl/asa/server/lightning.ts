/**
 * A simulated Lightning network with real cryptography: nodes hold secp256k1 keys and sign real
 * BOLT11 invoices; a payment finds a route over channels with liquidity on the right side, pays base
 * + proportional fees to every forwarding node, locks HTLCs hop by hop, and either settles (the
 * payee reveals the preimage, every hop shifts liquidity) or fails and unwinds, moving nothing.
 * Amounts are msat bigints; the sum of all channel balances never changes (fees move between
 * sides, they are not created). Channel exhaustion is first class: a payment no route can carry
 * fails with NO_ROUTE; a retry after liquidity moved can route around.
 */
import { createHash, randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1';
import { createInvoice, decodeInvoice } from '../protocol/invoice.ts';
import { type ChannelPolicy, routeAmounts } from '../protocol/routing.ts';

export type PayErrorCode = 'NO_ROUTE' | 'INVOICE_EXPIRED' | 'ALREADY_PAID' | 'INVALID_INVOICE' | 'UNKNOWN_NODE' | 'UNKNOWN_INVOICE' | 'HTLC_EXPIRED' | 'FEE_LIMIT' | 'SELF_PAYMENT';
export class PayError extends Error {
  constructor(
    readonly code: PayErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface Invoice {
  paymentHash: string;
  preimage: string;
  amountMsat: bigint;
  paymentRequest: string;
  expiresAt: number;
  state: 'OPEN' | 'SETTLED';
  payer?: string;
  settledAt?: number;
}

export interface LnNode {
  pubkey: string;
  privateKey: string;
  alias: string;
  online: boolean;
  invoices: Map<string, Invoice>;
  /** The payments this node made that settled, by payment hash (what LND's ListPayments answers). */
  payments: Map<string, Payment>;
}

export interface Channel {
  id: string;
  node1: string;
  node2: string;
  balance1: bigint;
  balance2: bigint;
  policy1: ChannelPolicy;
  policy2: ChannelPolicy;
}

export interface RouteHop {
  channel: string;
  from: string;
  to: string;
  amountMsat: bigint;
  feeMsat: bigint;
}

export interface Payment {
  preimage: string;
  paymentHash: string;
  amountMsat: bigint;
  feeMsat: bigint;
  route: RouteHop[];
}

export const DEFAULT_POLICY: ChannelPolicy = { baseMsat: 1000n, ppm: 1000n, cltvDelta: 40 };

export interface NetworkFaults {
  /** Settle without moving liquidity on the last hop (breaks conservation). */
  skipPayeeCredit?: boolean;
  /** Charge no routing fees. */
  noFees?: boolean;
  /** A payment no route can carry still shifts liquidity on the first channel. */
  leakOnFailure?: boolean;
  /** Pay invoices past their expiry. */
  ignoreExpiry?: boolean;
  /** Pay the same invoice twice. */
  allowDoublePay?: boolean;
  /** Route without checking liquidity (balances may go negative). */
  ignoreLiquidity?: boolean;
  /** Ignore the payer's maxFeeMsat. */
  ignoreFeeLimit?: boolean;
  /** Take the first route that can carry the payment, not the cheapest. */
  firstRoute?: boolean;
}

export class LightningNetwork {
  readonly nodes = new Map<string, LnNode>();
  readonly channels: Channel[] = [];
  height = 800_000;
  /** Total routing fees earned per node. */
  readonly feesEarned = new Map<string, bigint>();
  readonly maxCltv = 2016;

  constructor(
    readonly faults: NetworkFaults = {},
    readonly now: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  addNode(privateKey: string, alias = ''): LnNode {
    const pk = privateKey.replace(/^0x/, '').toLowerCase();
    const pubkey = Buffer.from(secp256k1.getPublicKey(Buffer.from(pk, 'hex'), true)).toString('hex');
    const have = this.nodes.get(pubkey);
    if (have) return have;
    const n: LnNode = { pubkey, privateKey: pk, alias, online: true, invoices: new Map(), payments: new Map() };
    this.nodes.set(pubkey, n);
    return n;
  }

  node(pubkey: string): LnNode {
    const n = this.nodes.get(pubkey);
    if (!n) throw new PayError('UNKNOWN_NODE', `no node ${pubkey}`);
    return n;
  }

  openChannel(a: string, b: string, balanceA: bigint, balanceB: bigint, policyA: ChannelPolicy = DEFAULT_POLICY, policyB: ChannelPolicy = DEFAULT_POLICY): Channel {
    this.node(a);
    this.node(b);
    if (a === b) throw new Error('a channel needs two different nodes');
    if (balanceA < 0n || balanceB < 0n) throw new Error('negative balance');
    const id = `${this.height}x${this.channels.length + 1}x0`;
    const c: Channel = { id, node1: a, node2: b, balance1: balanceA, balance2: balanceB, policy1: policyA, policy2: policyB };
    this.channels.push(c);
    return c;
  }

  /** Liquidity `from` can send over `c`. */
  private outbound(c: Channel, from: string): bigint {
    return c.node1 === from ? c.balance1 : c.balance2;
  }
  private move(c: Channel, from: string, amt: bigint): void {
    if (c.node1 === from) {
      c.balance1 -= amt;
      c.balance2 += amt;
    } else {
      c.balance2 -= amt;
      c.balance1 += amt;
    }
  }
  private policyOf(c: Channel, from: string): ChannelPolicy {
    const p = c.node1 === from ? c.policy1 : c.policy2;
    return this.faults.noFees ? { ...p, baseMsat: 0n, ppm: 0n } : p;
  }

  createInvoice(pubkey: string, o: { amountMsat: bigint; description?: string; descriptionHash?: string; expiry?: number; preimage?: string }): Invoice {
    const n = this.node(pubkey);
    if (o.amountMsat <= 0n) throw new PayError('INVALID_INVOICE', 'amount must be positive');
    const preimage = o.preimage ?? randomBytes(32).toString('hex');
    const paymentHash = createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex');
    const timestamp = this.now();
    const expiry = o.expiry ?? 3600;
    const paymentRequest = createInvoice({
      nodeKey: n.privateKey,
      amountMsat: o.amountMsat,
      paymentHash,
      ...(o.descriptionHash ? { descriptionHash: o.descriptionHash } : { description: o.description ?? '' }),
      expiry,
      timestamp,
      paymentSecret: randomBytes(32).toString('hex'),
    });
    const inv: Invoice = { paymentHash, preimage, amountMsat: o.amountMsat, paymentRequest, expiresAt: timestamp + expiry, state: 'OPEN' };
    n.invoices.set(paymentHash, inv);
    return inv;
  }

  lookup(pubkey: string, paymentHash: string): Invoice | undefined {
    return this.node(pubkey).invoices.get(paymentHash);
  }

  /** A settled payment `pubkey` made: how a payer whose pay answer was lost learns the preimage and the fee. */
  payment(pubkey: string, paymentHash: string): Payment | undefined {
    return this.node(pubkey).payments.get(paymentHash);
  }

  /** Every simple route payer → payee of at most `maxHops` channels. */
  private routes(payer: string, payee: string, exclude: ReadonlySet<string>, maxHops = 4): Channel[][] {
    const out: Channel[][] = [];
    const walk = (at: string, path: Channel[], seen: Set<string>) => {
      if (at === payee) {
        out.push([...path]);
        return;
      }
      if (path.length >= maxHops) return;
      for (const c of this.channels) {
        if (exclude.has(c.id)) continue;
        const next = c.node1 === at ? c.node2 : c.node2 === at ? c.node1 : null;
        if (!next || seen.has(next)) continue;
        seen.add(next);
        path.push(c);
        walk(next, path, seen);
        path.pop();
        seen.delete(next);
      }
    };
    walk(payer, [], new Set([payer]));
    return out;
  }

  /** Pay `paymentRequest` from node `payer`: find the cheapest route that can carry it, lock, settle. */
  pay(payer: string, paymentRequest: string, o: { maxFeeMsat?: bigint; excludeChannels?: string[] } = {}): Payment {
    this.node(payer);
    let inv;
    try {
      inv = decodeInvoice(paymentRequest);
    } catch (e) {
      throw new PayError('INVALID_INVOICE', (e as Error).message);
    }
    const payeeNode = this.nodes.get(inv.payee);
    if (!payeeNode) throw new PayError('NO_ROUTE', `payee ${inv.payee} is not in the graph`);
    if (inv.payee === payer) throw new PayError('SELF_PAYMENT', 'payer and payee are the same node');
    if (inv.amountMsat === null) throw new PayError('INVALID_INVOICE', 'amountless invoices are not supported');
    if (!this.faults.ignoreExpiry && this.now() >= inv.expiresAt) throw new PayError('INVOICE_EXPIRED', `invoice expired at ${inv.expiresAt}`);
    const record = payeeNode.invoices.get(inv.paymentHash);
    if (record?.state === 'SETTLED' && !this.faults.allowDoublePay) throw new PayError('ALREADY_PAID', 'invoice already paid');
    const amount = inv.amountMsat;
    let best: { path: Channel[]; hops: ReturnType<typeof routeAmounts>['hops']; fee: bigint } | undefined;
    for (const path of this.routes(payer, inv.payee, new Set(o.excludeChannels ?? []))) {
      const nodes = [payer];
      for (const c of path) nodes.push(c.node1 === nodes.at(-1) ? c.node2 : c.node1);
      const forwarders = path.slice(1).map((c, i) => this.policyOf(c, nodes[i + 1]!));
      const r = routeAmounts(amount, forwarders, inv.minFinalCltv);
      if (r.totalCltv > this.maxCltv) continue;
      if (!this.faults.ignoreFeeLimit && o.maxFeeMsat !== undefined && r.totalFeeMsat > o.maxFeeMsat) continue;
      if (!this.faults.ignoreLiquidity && !path.every((c, i) => this.outbound(c, nodes[i]!) >= r.hops[i]!.amountMsat)) continue;
      if (!best || (!this.faults.firstRoute && (r.totalFeeMsat < best.fee || (r.totalFeeMsat === best.fee && path.length < best.path.length)))) best = { path, hops: r.hops, fee: r.totalFeeMsat };
    }
    if (!best && this.faults.leakOnFailure) {
      const first = this.routes(payer, inv.payee, new Set())[0]?.[0];
      if (first) {
        const out = this.outbound(first, payer);
        // biome-ignore lint/complexity/useMathMinMax: bigint msat; Math.min takes numbers only
        this.move(first, payer, out < amount ? out : amount);
      }
    }
    if (!best) throw new PayError('NO_ROUTE', `no route from ${payer.slice(0, 8)} can carry ${amount} msat to ${inv.payee.slice(0, 8)}`);
    const nodes = [payer];
    for (const c of best.path) nodes.push(c.node1 === nodes.at(-1) ? c.node2 : c.node1);
    // Lock HTLCs hop by hop (the sender side of each hop is debited while the HTLC is pending).
    best.path.forEach((c, i) => {
      if (c.node1 === nodes[i]) c.balance1 -= best.hops[i]!.amountMsat;
      else c.balance2 -= best.hops[i]!.amountMsat;
    });
    const unwind = () =>
      best.path.forEach((c, i) => {
        if (c.node1 === nodes[i]) c.balance1 += best.hops[i]!.amountMsat;
        else c.balance2 += best.hops[i]!.amountMsat;
      });
    if (!record || !payeeNode.online) {
      // Nobody releases the preimage: the HTLCs time out after their CLTV and return to their senders.
      this.height += best.hops[0]!.cltv;
      unwind();
      throw new PayError(record ? 'HTLC_EXPIRED' : 'UNKNOWN_INVOICE', record ? 'the payee did not settle before the HTLC expired' : 'the payee knows no such invoice');
    }
    // Settle: the payee reveals the preimage; each hop's receiver is credited.
    best.path.forEach((c, i) => {
      if (this.faults.skipPayeeCredit && i === best.path.length - 1) return;
      if (c.node1 === nodes[i]) c.balance2 += best.hops[i]!.amountMsat;
      else c.balance1 += best.hops[i]!.amountMsat;
    });
    // hops[k].feeMsat is what the node at the far end of channel k charges to forward: node i's is hops[i - 1]'s.
    for (let i = 1; i < nodes.length - 1; i++) this.feesEarned.set(nodes[i]!, (this.feesEarned.get(nodes[i]!) ?? 0n) + best.hops[i - 1]!.feeMsat);
    record.state = 'SETTLED';
    record.payer = payer;
    record.settledAt = this.now();
    const route: RouteHop[] = best.path.map((c, i) => ({ channel: c.id, from: nodes[i]!, to: nodes[i + 1]!, amountMsat: best.hops[i]!.amountMsat, feeMsat: best.hops[i + 1]?.feeMsat ?? 0n }));
    const payment = { preimage: record.preimage, paymentHash: record.paymentHash, amountMsat: amount, feeMsat: best.fee, route };
    this.node(payer).payments.set(record.paymentHash, payment);
    return payment;
  }

  /** Sum of every channel balance (constant: payments move liquidity, they create none). */
  totalBalance(): bigint {
    return this.channels.reduce((s, c) => s + c.balance1 + c.balance2, 0n);
  }

  /** What a node can spend (sum of its sides). */
  balanceOf(pubkey: string): bigint {
    return this.channels.reduce((s, c) => s + (c.node1 === pubkey ? c.balance1 : c.node2 === pubkey ? c.balance2 : 0n), 0n);
  }
}
