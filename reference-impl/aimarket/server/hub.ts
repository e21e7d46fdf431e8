/**
 * The AI Market reference factory / hub (v1 factory gateway + v2 federation), one hono app over a
 * SQLite store (db.ts), paid on a Base-shaped chain in a 6-decimal stablecoin:
 *
 *   GET  /.well-known/ai-market.json            discovery (unsigned)
 *   GET  /ai-market/manifest, /ai-market/v2/manifest   Ed25519-signed catalog (five-field canonical)
 *   GET  /ai-market/mcp                          MCP tools list (JSON); POST = MCP Streamable HTTP (official SDK)
 *   POST /capabilities/{pid}/{cid}/invoke        402 + X-Payment-Required | X-Payment {tx_hash} | X-Payment-Channel
 *   GET|POST /ai-market/pricing/{pid}/{cid}      exact quote
 *   POST /ai-market/discover                     intent → plan within budget
 *   POST /ai-market/channel/open|close (+ v2)    integer-cent channel ledger, ceiling per debit, 24 h expiry (chain clock; configurable)
 *   GET  /ai-market/v2/channel/{id}              balance
 *   POST /ai-market/pipelines                    DAG on one channel + signed bill of materials
 *   GET  /ai-market/receipt/{nonce}              signed receipt
 *   GET  /ai-market/stats                        live feed
 *   v2 federation: search, invoke (routing), federation/announce|peers|crawl, reputation/{hub}
 *
 * Every "now" is the chain's latest block time, so a scenario with clock control moves the hub's
 * clock too. Refusals are 4xx with `{"error":{"code","message"}}` and change nothing.
 */
import { randomBytes } from 'node:crypto';
import { Server as McpServer } from '@modelcontextprotocol/sdk/server/index.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { type Context, Hono } from 'hono';
import { type Address, decodeEventLog, encodeFunctionData, erc20Abi, type Hex, parseAbi } from 'viem';
import { z } from 'zod';
import { keepAliveFetch, postJson, rpcCall } from '../../../harness/chain/rpc.ts';
import { RevertGuard, type Anchor } from '../../_shared/revert-guard.ts';
import { codedErrors, errorHandler, HttpError, jsonBody, type Listening, listen, notFoundHandler, parseWith } from '../../_shared/http.ts';
import { bomCanonical, manifestCanonical, manifestCanonicalLegacy3, providerBinding, receiptCanonicalLegacy5, receiptCanonicalV1, receiptCanonicalV2 } from '../protocol/canonical.ts';
import { type Capability, inputSize, priceFor, REFERENCE_CATALOG, runCapability, toolName } from '../protocol/catalog.ts';
import { centsCeil, centsToMicros, formatUsd, parseUsdMicros, usdNumber } from '../protocol/money.ts';
import { CHANNEL_MAX_DEPOSIT_CENTS } from '../protocol/model.ts';
import { parsePyJson, type PyValue } from '../protocol/pyjson.ts';
import { type Signer, signerFromSeed, verifyAnnounce, verifyManifest } from '../protocol/sign.ts';
import { trustScore } from '../protocol/trust.ts';
import type { AimFaults } from './faults.ts';
import { HubDb } from './db.ts';
import { AIMARKET_CONSTANTS } from '../protocol/constants.ts';

/** Default channel lifetime (v1 doc: "Channels auto-expire 24h"), the declared constant's default; a what-if profile may set another. */
export const CHANNEL_TTL_S = AIMARKET_CONSTANTS.defaults.channelExpirySeconds;
/** How long a 402 payment requirement stays valid. */
export const PAYMENT_TTL_S = 15 * 60;
const MAX_PENDING_PEERS = 50;

export interface HubToken {
  symbol: string;
  address: Address;
  decimals: number;
}

export interface HubOptions {
  name: string;
  /** Ed25519 seed (hex) the hub signs manifests, receipts and BOMs with. */
  signerSeedHex: string;
  /** The EVM key of the hub's wallet: the payment recipient, and the sender of channel refunds. */
  walletKey: Hex;
  rpcUrl: string;
  chainId: number;
  chainName: string;
  token: HubToken;
  /** Local capabilities (default: the reference catalog). An empty list makes a pure routing hub. */
  catalog?: readonly Capability[];
  /**
   * The operator's own work behind its capabilities (default: the lab work, runCapability). A hub's
   * capabilities are its operator's code; `amh simulate` gives each simulated seller its own.
   */
  work?: (c: Capability, input: Record<string, unknown>) => ReturnType<typeof runCapability>;
  /** Fee on routed matches, in basis points (default 100). */
  routingFeeBps?: number;
  /** Lifetime of a channel from its open, in seconds of chain time (default CHANNEL_TTL_S). */
  channelTtlSeconds?: number;
  /** Peers admitted by the operator (well-known URLs): `active` on start, crawled on `crawl()`. */
  seedList?: string[];
  /** The lab profile: loopback peers are allowed (spec §7.4 would refuse them; profile.md AIM-PROF-10). */
  allowLoopbackPeers?: boolean;
  host?: string;
  port?: number;
  dbFile?: string;
  faults?: AimFaults;
  log?: (line: string) => void;
}

const erc20 = parseAbi(['event Transfer(address indexed from, address indexed to, uint256 value)', 'function transfer(address to, uint256 value) returns (bool)']);

const TX_HASH = /^0x[0-9a-fA-F]{64}$/;
const id = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;
const iso = (t: number) => new Date(t * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

const InvokeBody = z.object({ input: z.record(z.string(), z.unknown()) }).passthrough();
const PaymentHeader = z.object({ tx_hash: z.string(), chain: z.string().optional() }).passthrough();
const OpenBody = z
  .object({
    deposit_usd: z.union([z.number(), z.string()]),
    tx_hash: z.string().regex(TX_HASH, 'tx_hash must be 0x + 64 hex'),
    token: z.string().optional(),
    chain: z.string().optional(),
    wallet: z.string().optional(),
  })
  .passthrough();
const CloseBody = z.object({ channel_id: z.string().min(1).max(100), settle_tx_hash: z.string().max(100).optional(), wallet: z.string().optional() }).passthrough();
const DiscoverBody = z
  .object({
    query: z.string().min(1).max(2000),
    budget_usd: z.union([z.number(), z.string()]).optional(),
    constraints: z.object({ max_latency_ms: z.number().nonnegative().optional() }).passthrough().optional(),
    limit: z.number().int().min(1).max(100).optional(),
  })
  .passthrough();
const PipelineNode = z
  .object({
    id: z.string().min(1).max(64),
    product_id: z.string().min(1).max(200),
    capability_id: z.string().min(1).max(200),
    input: z.record(z.string(), z.unknown()).optional(),
    input_from: z.string().max(64).optional(),
    depends_on: z.array(z.string().max(64)).max(32).optional(),
  })
  .passthrough();
const PipelineBody = z.object({ channel_id: z.string().min(1).max(100), nodes: z.array(PipelineNode).min(1).max(32) }).passthrough();
const V2InvokeBody = z
  .object({ product_id: z.string().min(1).max(200), capability_id: z.string().min(1).max(200), source_hub: z.string().max(500).optional(), input: z.record(z.string(), z.unknown()) })
  .passthrough();
const AnnounceBody = z
  .object({ hub_url: z.string().min(1).max(500), well_known_url: z.string().min(1).max(500), capabilities_count: z.number().int().nonnegative().optional(), signer_public_key: z.string().max(200) })
  .passthrough();

interface InvokeOutcome {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

/** Validates an input against the tiny JSON Schema subset the catalog uses (object, required, string/array types, maxLength). */
function checkInput(c: Capability, input: Record<string, unknown>): string | undefined {
  const s = c.inputSchema as { properties?: Record<string, { type?: string; maxLength?: number; maxItems?: number; items?: { type?: string; maxLength?: number } }>; required?: string[] };
  for (const r of s.required ?? []) if (!(r in input)) return `input.${r} is required`;
  for (const [k, p] of Object.entries(s.properties ?? {})) {
    if (!(k in input)) continue;
    const v = input[k];
    if (p.type === 'string' && (typeof v !== 'string' || (p.maxLength !== undefined && v.length > p.maxLength))) return `input.${k} must be a string of at most ${p.maxLength} characters`;
    if (p.type === 'array') {
      if (!Array.isArray(v) || (p.maxItems !== undefined && v.length > p.maxItems)) return `input.${k} must be an array of at most ${p.maxItems} items`;
      if (v.some((x) => typeof x !== 'string' || (p.items?.maxLength !== undefined && x.length > p.items.maxLength))) return `input.${k} items must be short strings`;
    }
  }
  return undefined;
}

export interface Hub {
  url: string;
  app: Hono;
  db: HubDb;
  publicKey: string;
  recipient: Address;
  /** Crawl every active peer now (what POST /ai-market/v2/federation/crawl does). */
  crawl(): Promise<{ crawled: number; capabilities: number }>;
  stop(): Promise<void>;
}

export async function startHub(o: HubOptions): Promise<Hub> {
  const faults = o.faults ?? {};
  const log = o.log ?? (() => {});
  const db = new HubDb(o.dbFile, { usedTxInMemory: faults.usedTxInMemory });
  const signer: Signer = signerFromSeed(o.signerSeedHex);
  const wrongSigner = signerFromSeed('11'.repeat(32));
  const catalog = o.catalog ?? REFERENCE_CATALOG;
  const work = o.work ?? runCapability;
  const feeBps = o.routingFeeBps ?? Number(AIMARKET_CONSTANTS.defaults.routingFeeBps);
  const channelTtl = o.channelTtlSeconds ?? CHANNEL_TTL_S;
  const { privateKeyToAccount } = await import('viem/accounts');
  const wallet = privateKeyToAccount(o.walletKey);
  const recipient = wallet.address;
  let base = '';
  let listening: Listening | undefined;

  // ---- chain ---------------------------------------------------------------------------------
  /** The chain clock: the latest block's timestamp (one keep-alive JSON-RPC round trip, no Response object). */
  const now = async (): Promise<number> => {
    const r = await postJson(o.rpcUrl, '{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["latest",false]}', undefined, { idempotent: true });
    const ts = (JSON.parse(r.text) as { result?: { timestamp?: Hex } }).result?.timestamp;
    if (ts === undefined) throw new Error(`eth_getBlockByNumber: HTTP ${r.status} ${r.text.slice(0, 120)}`);
    return Number(BigInt(ts));
  };

  // A channel lives while its deposit is on chain: a reorg that removes the deposit's block orphans it
  // (no more calls, no refund of money that never arrived); one that mines the deposit again in
  // another block moves the channel there.
  const blockHashAt = async (n: bigint) => (await rpcCall<{ hash: string } | null>(o.rpcUrl, 'eth_getBlockByNumber', [`0x${n.toString(16)}`, false]))?.hash;
  const minedAt = async (tx: string): Promise<Anchor | undefined> => {
    const r = await rpcCall<{ blockNumber: Hex; blockHash: string } | null>(o.rpcUrl, 'eth_getTransactionReceipt', [tx]);
    return r ? { block: BigInt(r.blockNumber), hash: r.blockHash } : undefined;
  };
  const reorgs = new RevertGuard(
    blockHashAt,
    { liveAnchors: () => db.liveAnchors(), orphan: (a) => db.orphanAnchors(a), anchoredTxs: (a) => db.depositsAnchoredAt(a), reanchor: (tx, a) => db.reanchorDeposit(tx, a) },
    log,
    faults.orphanReminedDeposits ? undefined : minedAt,
  );
  /** Sweeps what a reorg took away before a channel is read; RPC trouble skips it (nothing is orphaned on doubt). */
  const reorgChecked = (): Promise<void> =>
    faults.keepReorgedChannels
      ? Promise.resolve()
      : reorgs.check().catch((e: Error) => {
          log(`aimarket: reorg check skipped: ${e.message.split('\n')[0]}`);
        });

  let sendQueue: Promise<unknown> = Promise.resolve();
  /** Pays `amount` base units to `to` from the hub wallet (one transaction at a time; sync send). */
  const payOut = (to: Address, amount: bigint): Promise<Hex> => {
    const run = async () => {
      const nonce = await rpcCall<Hex>(o.rpcUrl, 'eth_getTransactionCount', [recipient, 'pending']);
      const gasPrice = await rpcCall<Hex>(o.rpcUrl, 'eth_gasPrice');
      const data = encodeFunctionData({ abi: erc20, functionName: 'transfer', args: [to, amount] });
      const raw = await wallet.signTransaction({ to: o.token.address, data, nonce: Number(BigInt(nonce)), gas: 100_000n, gasPrice: (BigInt(gasPrice) * 3n) / 2n, chainId: o.chainId, type: 'legacy' });
      const r = await rpcCall<{ transactionHash: Hex; status: Hex }>(o.rpcUrl, 'eth_sendRawTransactionSync', [raw]);
      if (r.status !== '0x1') throw new Error(`refund transfer ${r.transactionHash} reverted`);
      return r.transactionHash;
    };
    const p = sendQueue.then(run, run);
    sendQueue = p.catch(() => undefined);
    return p;
  };

  /**
   * A transfer of exactly `amount` of the hub's token to the hub's recipient, in a successful
   * transaction: the payer, or the reason it does not pay.
   */
  async function checkTransfer(txHash: string, amount: bigint): Promise<{ ok: true; payer: Address; anchor?: Anchor } | { ok: false; reason: string }> {
    if (faults.acceptDemoTx && txHash.startsWith('demo-')) return { ok: true, payer: recipient };
    if (!TX_HASH.test(txHash)) return { ok: false, reason: 'tx_hash must be 0x + 64 hex' };
    const r = await rpcCall<{ status: Hex; blockNumber: Hex; blockHash: Hex; logs: { address: Address; topics: Hex[]; data: Hex }[] } | null>(o.rpcUrl, 'eth_getTransactionReceipt', [txHash]);
    if (!r) return { ok: false, reason: 'transaction not found on chain' };
    if (r.status !== '0x1') return { ok: false, reason: 'transaction failed on chain' };
    for (const l of r.logs) {
      if (!faults.acceptWrongToken && l.address.toLowerCase() !== o.token.address.toLowerCase()) continue;
      let ev: { from: Address; to: Address; value: bigint };
      try {
        const d = decodeEventLog({ abi: erc20Abi, data: l.data, topics: l.topics as [Hex, ...Hex[]] });
        if (d.eventName !== 'Transfer') continue;
        ev = d.args as typeof ev;
      } catch {
        continue;
      }
      if (!faults.acceptWrongRecipient && ev.to.toLowerCase() !== recipient.toLowerCase()) continue;
      if (faults.acceptShortAmount ? ev.value > 0n : ev.value === amount) return { ok: true, payer: ev.from, anchor: { block: BigInt(r.blockNumber), hash: r.blockHash } };
    }
    return { ok: false, reason: `no transfer of exactly ${amount} ${o.token.symbol} base units to ${recipient} in this transaction` };
  }

  // ---- catalog, manifest ----------------------------------------------------------------------
  const capByIds = (pid: string, cid: string) => catalog.find((c) => c.productId === pid && c.capabilityId === cid);
  const tool = (c: Capability) => ({
    name: toolName(c),
    description: c.description,
    input_schema: c.inputSchema,
    output_schema: c.outputSchema,
    price_per_call_usd: usdNumber(c.priceMicros),
    p50_latency_ms: c.p50LatencyMs,
    success_rate_30d: 1,
    product_id: c.productId,
    capability_id: c.capabilityId,
  });
  const sign = (canonical: string) => signer.sign(canonical);
  const sigObj = (value: string, extra: Record<string, unknown> = {}) => ({ algorithm: 'ed25519', public_key: signer.publicB64, value, ...extra });

  function signedManifest(doc: Record<string, unknown>): Record<string, unknown> {
    const py = parsePyJson(JSON.stringify(doc)) as { [k: string]: PyValue };
    const canonical = faults.manifestLegacy3 ? manifestCanonicalLegacy3(py) : manifestCanonical(py);
    return { ...doc, signature: sigObj(sign(canonical)) };
  }

  const products = () => (faults.productsCountOne ? 1 : new Set(catalog.map((c) => c.productId)).size);

  async function manifestV1() {
    return signedManifest({
      protocol_version: 'v1',
      generated_at: iso(await now()),
      base_url: base,
      products_count: products(),
      capabilities_count: catalog.length,
      tools: catalog.map(tool),
    });
  }

  const peerTrust = (p: { first_seen: number; bond_usd: number; ok: number; total: number }, t: number) =>
    Math.round(trustScore({ hubAgeDays: Math.max(0, t - p.first_seen) / 86400, bondUsd: p.bond_usd, successful: p.ok, total: p.total, volumeUsd30d: 0 }) * 1e6) / 1e6;

  function federated(): { hub: string; tool: Record<string, unknown> }[] {
    return db.fedTools().map((r) => ({ hub: r.hub_url, tool: JSON.parse(r.json) }));
  }

  async function manifestV2() {
    const t = await now();
    const fed = federated();
    const byHub: Record<string, { capabilities_count: number; trust_score: number }> = { [base]: { capabilities_count: catalog.length, trust_score: 1 } };
    for (const p of db.peers().filter((p) => p.status === 'active' || (faults.byHubListsPending && p.status === 'pending')))
      byHub[p.url] = { capabilities_count: fed.filter((f) => f.hub === p.url).length, trust_score: peerTrust(p, t) };
    return signedManifest({
      protocol_version: 'v2',
      generated_at: iso(t),
      base_url: base,
      products_count: products(),
      capabilities_count: catalog.length + fed.length,
      total_capabilities: catalog.length + fed.length,
      local_capabilities: catalog.length,
      federated_capabilities: fed.length,
      hubs_indexed: Object.keys(byHub).length,
      tools: [...catalog.map((c) => ({ ...tool(c), source_hub: base })), ...fed.map((f) => ({ ...f.tool, source_hub: f.hub }))],
      by_hub: byHub,
    });
  }

  function wellKnown(t: number) {
    return {
      name: o.name,
      protocol_versions: faults.wellKnownBadVersions ? ['v3'] : ['v1', 'v2', 'mcp'],
      hub_version: '2.0.0',
      mcp_endpoint: `${base}/ai-market/mcp`,
      manifest_url: `${base}/ai-market/manifest`,
      products_count: products(),
      capabilities_count: catalog.length,
      federated_capabilities_count: federated().length,
      supported_chains: [o.chainName],
      supported_tokens: [o.token.symbol],
      signer_public_key: faults.wellKnownWrongKey ? wrongSigner.publicB64 : signer.publicB64,
      federation: { crawl_interval_s: 3600, routing_fee_bps: feeBps, min_trust_score: 0, seed_list: o.seedList ?? [] },
      peers: db
        .peers()
        .filter((p) => p.status === 'active')
        .map((p) => ({ url: p.url, name: p.name, capabilities_count: p.capabilities_count, last_crawl: p.last_crawl, trust_score: peerTrust(p, t) })),
    };
  }

  // ---- receipts -------------------------------------------------------------------------------
  function signReceipt(r: Record<string, unknown>, v2: boolean): Record<string, unknown> {
    const sign = faults.receiptOtherKey ? (c: string) => wrongSigner.sign(c) : signer.sign;
    const py = parsePyJson(JSON.stringify(r)) as { [k: string]: PyValue };
    if (v2 && !faults.rejectionV1) return { ...r, signature: sigObj(sign(receiptCanonicalV2(py)), { version: 2 }) };
    const canonical = faults.receiptLegacy5 ? receiptCanonicalLegacy5(py) : receiptCanonicalV1(py);
    return { ...r, signature: sigObj(sign(canonical)) };
  }

  // ---- invocation -----------------------------------------------------------------------------
  function paymentRequired(c: Capability, amount: bigint, t: number, reason: string): InvokeOutcome {
    // The nonce is informational: X-Payment carries only the transaction, so nothing is stored for a 402.
    const nonce = id('pay');
    const req = {
      amount: formatUsd(amount),
      token: o.token.symbol,
      chain: o.chainName,
      recipient,
      nonce,
      expires_at: iso(t + PAYMENT_TTL_S),
      receipt_url: `/ai-market/receipt/${nonce}`,
    };
    const raw = JSON.stringify(req);
    const headers: Record<string, string> = {};
    if (!faults.no402Header) headers['X-Payment-Required'] = faults.base64Header ? Buffer.from(raw).toString('base64') : raw;
    return {
      status: 402,
      body: { error: { code: 'payment_required', message: reason }, product_id: c.productId, capability_id: c.capabilityId, payment_required: req, protocol_version: 'v1' },
      headers,
    };
  }

  function suggestions(c: Capability) {
    return catalog
      .filter((x) => x !== c && x.productId === c.productId)
      .slice(0, 2)
      .map((x) => ({ product_id: x.productId, capability_id: x.capabilityId, why: `often used after ${c.capabilityId}`, est_price_usd: usdNumber(x.priceMicros) }));
  }

  /** Answers kept by the test-only fault replayDebitsAgain, by channel, capability and input. */
  const replays = new Map<string, InvokeOutcome>();

  async function invoke(pid: string, cid: string, rawBody: unknown, headers: { payment?: string; channel?: string }): Promise<InvokeOutcome> {
    if (faults.debitBeforeValidation && headers.channel !== undefined) {
      const ch = db.channel(headers.channel);
      if (ch) db.debit(ch.id, 1, await now());
    }
    const c = capByIds(pid, cid);
    if (!c) throw new HttpError(404, `unknown capability ${pid}/${cid}`);
    if (faults.malformed500 && (typeof rawBody !== 'object' || rawBody === null || !('input' in rawBody))) throw new Error('malformed500');
    const body = parseWith(InvokeBody, rawBody);
    const bad = checkInput(c, body.input);
    if (bad) throw new HttpError(400, bad);
    const price = priceFor(c, inputSize(body.input));
    // A channel call sweeps what a reorg took away beside the clock read (one round trip, not two).
    const [t] = await Promise.all([now(), headers.channel !== undefined ? reorgChecked() : undefined]);
    const started = Date.now();

    if (headers.channel !== undefined) {
      const ch = db.channel(headers.channel);
      const cents = Number(faults.floorCents ? price / 10_000n : centsCeil(price));
      if (!ch) return paymentRequired(c, price, t, 'unknown payment channel');
      if (!db.debit(ch.id, cents, t, { overdraw: faults.overdraw, noExpiry: faults.noExpiry })) {
        const why = ch.status !== 'open' ? 'channel is closed' : !faults.noExpiry && ch.expires_at <= t ? 'channel expired' : 'channel depleted';
        return paymentRequired(c, price, t, why);
      }
      const out = work(c, body.input);
      const charged = centsToMicros(BigInt(cents));
      const latency = Date.now() - started;
      if (!out.ok) {
        if (!faults.keepFailedDebit) db.refund(ch.id, cents);
        const receipt = signReceipt(
          {
            nonce: id('rcpt'),
            product_id: pid,
            capability_id: cid,
            price_usd: 0,
            timestamp: iso(t),
            success: false,
            latency_ms: latency,
            type: 'failure',
            channel_id: ch.id,
            reason: out.reason,
            refunded: !faults.keepFailedDebit,
          },
          true,
        );
        db.putReceipt(receipt.nonce as string, null, JSON.stringify(receipt));
        db.logInvocation(iso(t), pid, cid, false, 0n, 'channel');
        return {
          status: 200,
          body: { success: false, error: { code: out.reason, message: 'the capability failed; the debit was refunded' }, receipt, refunded: true, protocol_version: 'v1' },
          headers: {},
        };
      }
      // The test-only fault replayDebitsAgain: a repeat gets the first answer, after its own debit.
      const replayKey = `${ch.id}|${pid}|${cid}|${JSON.stringify(body.input)}`;
      const replay = faults.replayDebitsAgain ? replays.get(replayKey) : undefined;
      if (replay) return replay;
      const served = success(c, body.input, out.result, charged, t, latency, { channel_id: ch.id }, null, 'channel');
      if (faults.replayDebitsAgain) replays.set(replayKey, served);
      return served;
    }

    if (headers.payment !== undefined) {
      let pay: z.infer<typeof PaymentHeader>;
      try {
        pay = PaymentHeader.parse(JSON.parse(headers.payment));
      } catch {
        throw new HttpError(400, 'X-Payment must be JSON {"tx_hash": "0x…"}');
      }
      if (pay.chain !== undefined && pay.chain !== o.chainName && pay.chain !== String(o.chainId)) return paymentRequired(c, price, t, `payment on chain ${pay.chain}, expected ${o.chainName}`);
      if (!faults.acceptReusedTx && db.txUsed(pay.tx_hash)) return paymentRequired(c, price, t, 'tx_hash already used');
      const chk = await checkTransfer(pay.tx_hash, price);
      if (!chk.ok) return paymentRequired(c, price, t, chk.reason);
      if (!db.useTx(pay.tx_hash, 'invoke', `${pid}/${cid}`) && !faults.acceptReusedTx) return paymentRequired(c, price, t, 'tx_hash already used');
      const out = work(c, body.input);
      if (!out.ok) {
        // A failed call does not consume the payment: the same transaction may pay a retry (profile AIM-PROF-06).
        db.releaseTx(pay.tx_hash);
        db.logInvocation(iso(t), pid, cid, false, 0n, 'tx');
        const receipt = signReceipt(
          {
            nonce: id('rcpt'),
            product_id: pid,
            capability_id: cid,
            price_usd: 0,
            timestamp: iso(t),
            success: false,
            latency_ms: Date.now() - started,
            type: 'failure',
            reason: out.reason,
            refunded: true,
          },
          true,
        );
        db.putReceipt(receipt.nonce as string, null, JSON.stringify(receipt));
        return { status: 200, body: { success: false, error: { code: out.reason, message: 'the capability failed; the payment may pay a retry' }, receipt, protocol_version: 'v1' }, headers: {} };
      }
      return success(c, body.input, out.result, price, t, Date.now() - started, { tx_hash: pay.tx_hash.toLowerCase() }, null, 'tx');
    }
    return paymentRequired(c, price, t, 'payment required');
  }

  function success(
    c: Capability,
    input: Record<string, unknown>,
    result: Record<string, unknown>,
    charged: bigint,
    t: number,
    latency: number,
    extra: Record<string, unknown>,
    payNonce: string | null,
    via: string,
  ): InvokeOutcome {
    const receipt = signReceipt(
      { nonce: id('rcpt'), product_id: c.productId, capability_id: c.capabilityId, price_usd: usdNumber(charged), timestamp: iso(t), success: true, latency_ms: latency, ...extra },
      Object.keys(extra).includes('channel_id'),
    );
    if (!faults.receiptLookupMissing) db.putReceipt(receipt.nonce as string, payNonce, JSON.stringify(receipt));
    if (!faults.statsFrozen) db.logInvocation(iso(t), c.productId, c.capabilityId, true, charged, via);
    const binding = providerBinding(c.productId, c.capabilityId, parsePyJson(JSON.stringify(input)), parsePyJson(JSON.stringify(result)));
    return {
      status: 200,
      body: { success: true, result, receipt, price_usd: usdNumber(charged), latency_ms: latency, continuation: { suggested_next: suggestions(c) }, protocol_version: 'v1' },
      headers: { 'X-Provider-Signature': `ed25519:${sign(binding)}` },
    };
  }

  const reply = (ctx: Context, out: InvokeOutcome) => {
    for (const [k, v] of Object.entries(out.headers)) ctx.header(k, v);
    return ctx.json(out.body, out.status as 200);
  };

  // ---- channels -------------------------------------------------------------------------------
  async function openChannel(raw: unknown) {
    const b = parseWith(OpenBody, raw);
    let micros: bigint;
    try {
      micros = parseUsdMicros(b.deposit_usd);
    } catch (e) {
      throw new HttpError(400, `deposit_usd: ${(e as Error).message}`);
    }
    if (micros <= 0n || micros > centsToMicros(CHANNEL_MAX_DEPOSIT_CENTS)) {
      if (!faults.acceptZeroDeposit || micros !== 0n) throw new HttpError(400, 'deposit_usd must be > 0 and at most 10000');
    }
    if (micros % 10_000n !== 0n) throw new HttpError(400, 'deposit_usd must be a whole number of cents');
    if (b.token !== undefined && b.token !== o.token.symbol) throw new HttpError(400, `token must be ${o.token.symbol}`);
    if (b.chain !== undefined && b.chain !== o.chainName) throw new HttpError(400, `chain must be ${o.chainName}`);
    await reorgChecked();
    if (db.txUsed(b.tx_hash)) throw new HttpError(409, 'tx_hash already used');
    const chk = await checkTransfer(b.tx_hash, micros);
    if (!chk.ok) throw new HttpError(402, chk.reason);
    const t = await now();
    const chId = id('ch');
    if (!db.useTx(b.tx_hash, 'channel', chId)) throw new HttpError(409, 'tx_hash already used');
    const secret = randomBytes(16).toString('hex');
    db.openChannel({
      id: chId,
      payer: chk.payer,
      deposit_cents: Number(micros / 10_000n),
      opened_at: t,
      expires_at: t + channelTtl,
      open_tx: b.tx_hash.toLowerCase(),
      secret,
      anchor_block: chk.anchor ? Number(chk.anchor.block) : null,
      anchor_hash: chk.anchor?.hash ?? null,
    });
    reorgs.note(chk.anchor);
    return {
      channel: {
        channel_id: chId,
        deposit_usd: usdNumber(micros),
        balance_usd: usdNumber(micros),
        token: o.token.symbol,
        chain: o.chainName,
        wallet: chk.payer,
        opened_at: iso(t),
        expires_at: iso(t + channelTtl),
        channel_secret: secret,
      },
      protocol_version: 'v1',
    };
  }

  function channelView(chId: string, t: number) {
    const ch = db.channel(chId);
    if (!ch) throw new HttpError(404, 'unknown channel');
    const expired = !faults.noExpiry && ch.expires_at <= t;
    return {
      channel_id: ch.id,
      deposit_usd: usdNumber(centsToMicros(BigInt(ch.deposit_cents))),
      balance_usd: ch.status === 'open' ? usdNumber(centsToMicros(BigInt(ch.deposit_cents - ch.used_cents))) : 0,
      used_usd: usdNumber(centsToMicros(BigInt(ch.used_cents))),
      status: ch.status === 'open' ? (expired ? 'expired' : 'open') : 'settled',
      expires_at: iso(ch.expires_at),
      token: o.token.symbol,
      chain: o.chainName,
    };
  }

  async function closeChannel(raw: unknown) {
    const b = parseWith(CloseBody, raw);
    await reorgChecked();
    const ch = db.channel(b.channel_id);
    if (!ch) throw new HttpError(404, 'unknown channel');
    const refundCents = ch.deposit_cents - ch.used_cents + (faults.refundOffByCent ? 1 : 0);
    if (!db.settle(ch.id, refundCents, faults.closeTwice)) throw new HttpError(409, 'channel already settled');
    let refundTx: Hex | null = null;
    if (refundCents > 0) {
      try {
        refundTx = await payOut(ch.payer as Address, centsToMicros(BigInt(refundCents)));
        db.setRefundTx(ch.id, refundTx);
      } catch (e) {
        log(`aimarket: refund of ${ch.id} failed: ${(e as Error).message}`);
      }
    }
    const refund = usdNumber(centsToMicros(BigInt(refundCents)));
    return {
      settlement: {
        channel_id: ch.id,
        original_deposit_usd: usdNumber(centsToMicros(BigInt(ch.deposit_cents))),
        used_usd: usdNumber(centsToMicros(BigInt(ch.used_cents))),
        refund_usd: refund,
        refund_executed_usd: refundTx ? refund : 0,
        refund_owed_usd: refundTx ? 0 : refund,
        refund_status: refundTx ? 'executed' : refundCents > 0 ? 'owed' : 'none',
        refund_tx_hash: refundTx,
        status: 'settled',
        settle_tx_hash: b.settle_tx_hash ?? null,
      },
      protocol_version: 'v1',
    };
  }

  // ---- pipelines ------------------------------------------------------------------------------
  async function pipeline(raw: unknown) {
    const b = parseWith(PipelineBody, raw);
    const nodes = b.nodes;
    const byId = new Map<string, (typeof nodes)[number]>();
    for (const n of nodes) {
      if (byId.has(n.id)) throw new HttpError(400, `duplicate node id ${n.id}`);
      byId.set(n.id, n);
    }
    const deps = new Map<string, string[]>();
    for (const n of nodes) {
      const d = new Set(n.depends_on ?? []);
      if (n.input_from !== undefined) d.add(n.input_from);
      for (const x of d) if (!byId.has(x)) throw new HttpError(400, `node ${n.id} depends on unknown node ${x}`);
      if (n.input === undefined && n.input_from === undefined) throw new HttpError(400, `node ${n.id} has neither input nor input_from`);
      const c = capByIds(n.product_id, n.capability_id);
      if (!c) throw new HttpError(400, `node ${n.id}: unknown capability ${n.product_id}/${n.capability_id}`);
      if (n.input !== undefined) {
        const bad = checkInput(c, n.input);
        if (bad) throw new HttpError(400, `node ${n.id}: ${bad}`);
      }
      deps.set(n.id, [...d]);
    }
    // Kahn's algorithm, ties in list order.
    const order: string[] = [];
    const indeg = new Map(nodes.map((n) => [n.id, deps.get(n.id)!.length]));
    const ready = nodes.filter((n) => indeg.get(n.id) === 0).map((n) => n.id);
    while (ready.length) {
      const x = ready.shift()!;
      order.push(x);
      for (const n of nodes) {
        if (!deps.get(n.id)!.includes(x)) continue;
        indeg.set(n.id, indeg.get(n.id)! - 1);
        if (indeg.get(n.id) === 0) ready.push(n.id);
      }
    }
    if (order.length !== nodes.length && !faults.pipelineNoCycleCheck)
      throw new HttpError(
        400,
        `the pipeline has a cycle through ${nodes
          .filter((n) => !order.includes(n.id))
          .map((n) => n.id)
          .join(', ')}`,
      );
    const runOrder = faults.pipelineReverseOrder ? nodes.map((n) => n.id) : order;
    const ch = db.channel(b.channel_id);
    const t = await now();
    if (!ch) throw new HttpError(402, 'unknown payment channel');
    // Worst-case cost: every node's price at its known input size (input_from nodes at the base price + the largest possible input surcharge is not known: priced when they run).
    const estimate = (n: (typeof nodes)[number]) => centsCeil(priceFor(capByIds(n.product_id, n.capability_id)!, n.input ? inputSize(n.input) : 0));
    const total = nodes.reduce((a, n) => a + estimate(n), 0n);
    const balance = BigInt(ch.deposit_cents - ch.used_cents);
    const usable = ch.status === 'open' && (faults.noExpiry || ch.expires_at > t);
    if (!usable || total > balance) {
      if (faults.pipelineDebitFirst && usable) db.debit(ch.id, Number(estimate(nodes[0]!)), t);
      throw new HttpError(402, `pipeline costs ${formatUsd(centsToMicros(total))} USD at least; the channel holds ${formatUsd(centsToMicros(balance))}`, {
        estimated_total_usd: usdNumber(centsToMicros(total)),
      });
    }
    const trace = id('tr');
    const results = new Map<string, Record<string, unknown>>();
    const state = new Map<string, 'ok' | 'failed' | 'skipped'>();
    const steps: Record<string, unknown>[] = [];
    let totalCents = 0n;
    let finalResult: unknown = null;
    for (const nid of runOrder) {
      const n = byId.get(nid)!;
      const c = capByIds(n.product_id, n.capability_id)!;
      const blocked = deps.get(nid)!.some((d) => state.get(d) !== 'ok');
      if (blocked && !faults.pipelineRunDependants) {
        state.set(nid, 'skipped');
        steps.push({ node_id: nid, product_id: n.product_id, capability_id: n.capability_id, price_usd: usdNumber(c.priceMicros), charged_usd: 0, success: false, status: 'skipped' });
        continue;
      }
      const input = n.input_from !== undefined ? (results.get(n.input_from) ?? { text: '' }) : n.input!;
      const bad = checkInput(c, input);
      const price = priceFor(c, inputSize(input));
      const cents = centsCeil(price);
      if (bad || !db.debit(ch.id, Number(cents), t)) {
        state.set(nid, 'failed');
        steps.push({
          node_id: nid,
          product_id: n.product_id,
          capability_id: n.capability_id,
          price_usd: usdNumber(price),
          charged_usd: 0,
          success: false,
          status: 'failed',
          reason: bad ?? 'channel depleted',
        });
        continue;
      }
      const out = work(c, input);
      if (!out.ok) {
        db.refund(ch.id, Number(cents));
        state.set(nid, 'failed');
        steps.push({ node_id: nid, product_id: n.product_id, capability_id: n.capability_id, price_usd: usdNumber(price), charged_usd: 0, success: false, status: 'failed', reason: out.reason });
        if (faults.bomTotalWrong) totalCents += cents;
        continue;
      }
      results.set(nid, out.result);
      state.set(nid, 'ok');
      totalCents += cents;
      finalResult = out.result;
      steps.push({ node_id: nid, product_id: n.product_id, capability_id: n.capability_id, price_usd: usdNumber(price), charged_usd: usdNumber(centsToMicros(cents)), success: true, status: 'ok' });
      db.logInvocation(iso(t), c.productId, c.capabilityId, true, centsToMicros(cents), 'pipeline');
    }
    const bomDoc = { trace_id: trace, channel_id: ch.id, steps, total_usd: usdNumber(centsToMicros(totalCents)) };
    const bomPy = parsePyJson(JSON.stringify(bomDoc)) as { [k: string]: PyValue };
    const bom = { ...bomDoc, signature: sigObj(sign(faults.bomBadSignature ? manifestCanonical(bomPy) : bomCanonical(bomPy))) };
    const out = { trace_id: trace, bill_of_materials: bom, final_result: finalResult, results: Object.fromEntries(results), protocol_version: 'v1' };
    db.putPipeline(trace, JSON.stringify(out));
    return out;
  }

  // ---- discovery ------------------------------------------------------------------------------
  const words = (s: string) =>
    s
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter((w) => w.length > 2);
  function score(c: { keywords?: string[]; description: string; capabilityId: string }, q: string[]): number {
    const hay = new Set([...(c.keywords ?? []), ...words(c.description), ...words(c.capabilityId)]);
    const hits = q.filter((w) => hay.has(w)).length;
    return q.length ? Math.round((hits / q.length) * 1000) / 1000 : 0;
  }

  function discover(raw: unknown) {
    const b = parseWith(DiscoverBody, raw);
    let budget: bigint | undefined;
    if (b.budget_usd !== undefined) {
      try {
        budget = parseUsdMicros(b.budget_usd);
      } catch (e) {
        throw new HttpError(400, `budget_usd: ${(e as Error).message}`);
      }
    }
    const q = words(b.query);
    const maxLat = b.constraints?.max_latency_ms;
    const matches = catalog
      .map((c) => ({ c, s: score(c, q) }))
      .filter((m) => m.s > 0 && (maxLat === undefined || faults.discoverIgnoresLatency || (faults.discoverLatencyStrict ? m.c.p50LatencyMs < maxLat : m.c.p50LatencyMs <= maxLat)))
      .sort((a, b2) => b2.s - a.s || Number(a.c.priceMicros - b2.c.priceMicros))
      .slice(0, b.limit ?? 10);
    const plan: { step: number; product_id: string; capability_id: string; draft_input: Record<string, unknown>; price_per_call_usd: number }[] = [];
    let total = 0n;
    for (const m of matches) {
      if (!faults.discoverOverBudget && budget !== undefined && total + m.c.priceMicros > budget) continue;
      total += m.c.priceMicros;
      plan.push({ step: plan.length + 1, product_id: m.c.productId, capability_id: m.c.capabilityId, draft_input: { text: b.query }, price_per_call_usd: usdNumber(m.c.priceMicros) });
    }
    return {
      query: b.query,
      matches: matches.map((m) => ({
        product_id: m.c.productId,
        capability_id: m.c.capabilityId,
        score: m.s,
        price_per_call_usd: usdNumber(m.c.priceMicros),
        draft_input: { text: b.query },
        why: [`matches ${q.filter((w) => score(m.c, [w]) > 0).join(', ')}`],
      })),
      plan,
      estimated_total_usd: usdNumber(total),
      protocol_version: 'v1',
    };
  }

  // ---- federation -----------------------------------------------------------------------------
  const urlOk = (u: string) => {
    try {
      const x = new URL(u);
      if ([...u].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)) return false;
      if (x.protocol !== 'http:' && x.protocol !== 'https:') return false;
      const loop = ['127.0.0.1', 'localhost', '[::1]'].includes(x.hostname) || /^(10|127|169\.254|192\.168|0)\./.test(x.hostname) || /^172\.(1[6-9]|2\d|3[01])\./.test(x.hostname);
      return !loop || o.allowLoopbackPeers === true;
    } catch {
      return false;
    }
  };
  const origin = (u: string) => new URL(u).origin;

  async function fetchJson(url: string, timeoutMs = 3000): Promise<unknown> {
    const res = await keepAliveFetch(url, { headers: { 'user-agent': 'AIMarketHub/2.0.0', 'x-aimarket-crawler': base }, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
    const text = await res.text();
    if (text.length > 2_000_000) throw new Error(`${url}: too large`);
    return JSON.parse(text);
  }

  async function crawl(): Promise<{ crawled: number; capabilities: number }> {
    let crawled = 0;
    let caps = 0;
    for (const p of db.peers().filter((x) => x.status === 'active')) {
      try {
        const wk = (await fetchJson(p.well_known_url)) as { name?: string; manifest_url?: string; signer_public_key?: string };
        const key = p.pubkey ?? wk.signer_public_key;
        if (typeof key !== 'string' || typeof wk.manifest_url !== 'string' || !urlOk(wk.manifest_url)) throw new Error('well-known lacks signer_public_key or manifest_url');
        const res = await keepAliveFetch(wk.manifest_url, { headers: { 'user-agent': 'AIMarketHub/2.0.0', 'x-aimarket-crawler': base }, redirect: 'manual', signal: AbortSignal.timeout(3000) });
        const text = await res.text();
        const v = verifyManifest(text, key);
        if (!v.ok) throw new Error(`manifest signature: ${v.reason}`);
        const m = JSON.parse(text) as { tools?: Record<string, unknown>[] };
        const tools = (m.tools ?? []).filter((x) => typeof x.product_id === 'string' && typeof x.capability_id === 'string' && typeof x.price_per_call_usd === 'number');
        db.crawled(
          p.url,
          typeof wk.name === 'string' ? wk.name : p.name,
          key,
          tools.length,
          iso(await now()),
          tools.map((x) => ({ name: String(x.name ?? `${x.product_id}.${x.capability_id}`), json: JSON.stringify(x) })),
        );
        crawled++;
        caps += tools.length;
      } catch (e) {
        log(`aimarket: crawl of ${p.url} failed: ${(e as Error).message}`);
      }
    }
    return { crawled, capabilities: caps };
  }

  async function search(q: Record<string, string>) {
    const limit = q.limit === undefined ? 20 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new HttpError(400, 'limit must be an integer 1..100');
    let budget: bigint | undefined;
    if (q.budget !== undefined && !faults.searchIgnoresBudget) {
      try {
        budget = parseUsdMicros(q.budget);
      } catch {
        throw new HttpError(400, 'budget must be a non-negative decimal');
      }
      if (budget > 100_000n * 1_000_000n) throw new HttpError(400, 'budget must be at most 100000');
    }
    const minTrust = q.min_trust === undefined ? 0 : Number(q.min_trust);
    if (!Number.isFinite(minTrust) || minTrust < 0 || minTrust > 1 || (faults.minTrustExclusive && minTrust === 1)) throw new HttpError(400, 'min_trust must be in [0, 1]');
    const maxLat = q.max_latency_ms === undefined ? undefined : Number(q.max_latency_ms);
    if (maxLat !== undefined && !(Number.isFinite(maxLat) && maxLat >= 0)) throw new HttpError(400, 'max_latency_ms must be a non-negative number');
    const intent = words(q.intent ?? '');
    const t = await now();
    const peers = new Map(db.peers().map((p) => [p.url, p]));
    const rows: Record<string, unknown>[] = [];
    for (const c of catalog) {
      rows.push({
        product_id: c.productId,
        capability_id: c.capabilityId,
        source_hub: base,
        source_hub_name: o.name,
        score: score(c, intent),
        price_per_call_usd: usdNumber(c.priceMicros),
        routed_price_usd: usdNumber(c.priceMicros),
        routing_fee_bps: 0,
        trust_score: 1,
        p50_latency_ms: c.p50LatencyMs,
      });
    }
    for (const f of federated()) {
      const p = peers.get(f.hub)!;
      let price: bigint;
      try {
        price = parseUsdMicros(f.tool.price_per_call_usd);
      } catch {
        continue;
      }
      const routed = faults.routingFeeIgnored ? price : (price * BigInt(10_000 + feeBps) + 9_999n) / 10_000n;
      rows.push({
        product_id: f.tool.product_id,
        capability_id: f.tool.capability_id,
        source_hub: f.hub,
        source_hub_name: p.name,
        score: score({ description: String(f.tool.description ?? ''), capabilityId: String(f.tool.capability_id), keywords: [] }, intent),
        price_per_call_usd: usdNumber(price),
        routed_price_usd: usdNumber(routed),
        routing_fee_bps: feeBps,
        trust_score: peerTrust(p, t),
        p50_latency_ms: f.tool.p50_latency_ms,
      });
    }
    if (faults.searchLocalEmpty) {
      if (q.hub === 'local') return { query: q.intent ?? '', matches: [], total_hubs_searched: 1, protocol_version: 'v2' };
    }
    const hubSel = q.hub ?? 'any';
    const matches = rows
      .filter((r) => hubSel === 'any' || r.source_hub === hubSel || (hubSel === 'local' && r.source_hub === base))
      .filter((r) => (r.trust_score as number) >= minTrust)
      .filter((r) => budget === undefined || parseUsdMicros(r.routed_price_usd) <= budget)
      .filter((r) => maxLat === undefined || typeof r.p50_latency_ms !== 'number' || r.p50_latency_ms <= maxLat || faults.searchIgnoresLatency)
      .filter((r) => intent.length === 0 || (r.score as number) > 0)
      .sort((a, b2) => (b2.score as number) - (a.score as number))
      .slice(0, limit);
    return { query: q.intent ?? '', matches, total_hubs_searched: 1 + db.peers().filter((p) => p.status === 'active').length, protocol_version: 'v2' };
  }

  async function routedInvoke(ctx: Context, raw: unknown): Promise<Response> {
    const b = parseWith(V2InvokeBody, raw);
    const src = b.source_hub;
    const hdr = { payment: ctx.req.header('x-payment'), channel: ctx.req.header('x-payment-channel') };
    if (faults.v2InvokeNoLocal && src === undefined) throw new HttpError(404, 'unknown source_hub');
    if (src === undefined || src === 'local' || src === base) return reply(ctx, await invoke(b.product_id, b.capability_id, { input: b.input }, hdr));
    const peer = db.peer(src);
    if (peer?.status !== 'active') throw new HttpError(404, `unknown source_hub ${src}`);
    const known = federated().some((f) => f.hub === src && f.tool.product_id === b.product_id && f.tool.capability_id === b.capability_id);
    if (!known) throw new HttpError(404, `source_hub ${src} lists no ${b.product_id}/${b.capability_id}`);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-aimarket-routing-fee': String(feeBps), 'x-aimarket-routing-hub': base };
    if (hdr.payment !== undefined) headers['x-payment'] = hdr.payment;
    if (hdr.channel !== undefined) headers['x-payment-channel'] = hdr.channel;
    const forward = () =>
      keepAliveFetch(`${origin(src)}/capabilities/${encodeURIComponent(b.product_id)}/${encodeURIComponent(b.capability_id)}/invoke`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ input: b.input }),
        redirect: 'manual',
        signal: AbortSignal.timeout(10_000),
      });
    let res: Response;
    try {
      res = await forward();
      if (faults.routedChannelTwice && hdr.channel !== undefined) res = await forward();
    } catch (e) {
      db.peerOutcome(src, false);
      if (faults.routedDown404) throw new HttpError(404, `provider hub ${src} not found`);
      throw new HttpError(502, `provider hub ${src} unreachable: ${(e as Error).message}`);
    }
    const text = await res.text();
    db.peerOutcome(src, res.status === 200);
    const out = new Headers({ 'content-type': res.headers.get('content-type') ?? 'application/json', 'X-AIMarket-Routing-Fee': String(feeBps), 'X-AIMarket-Routing-Hub': base });
    const pr = res.headers.get('x-payment-required');
    if (pr !== null && !faults.routedNoForward402) out.set('X-Payment-Required', pr);
    const ps = res.headers.get('x-provider-signature');
    if (ps !== null) out.set('X-Provider-Signature', ps);
    const status = res.status >= 500 ? 502 : res.status;
    return new Response(text, { status, headers: out });
  }

  async function announce(raw: unknown) {
    const b = parseWith(AnnounceBody, raw);
    if (!faults.announceNoVerify) {
      const v = verifyAnnounce(raw as never, b.signer_public_key);
      if (!v.ok) throw new HttpError(400, `announcement signature: ${v.reason}`);
    }
    if (!urlOk(b.hub_url) || !urlOk(b.well_known_url)) throw new HttpError(400, 'hub_url / well_known_url refused by the URL safety rules');
    const url = origin(b.hub_url);
    const known = db.peer(url);
    if (known) {
      if (faults.announceOverwrites) db.overwritePeer(url, String((raw as { hub_name?: unknown }).hub_name ?? url), b.signer_public_key);
      return { acknowledged: true, peer_added: false, status: known.status };
    }
    if (db.pendingCount() >= MAX_PENDING_PEERS) throw new HttpError(429, 'too many pending peers');
    const t = await now();
    db.addPeer({
      url,
      name: typeof (raw as { hub_name?: unknown }).hub_name === 'string' ? String((raw as { hub_name: string }).hub_name).slice(0, 200) : url,
      status: 'pending',
      pubkey: b.signer_public_key,
      well_known_url: b.well_known_url,
      capabilities_count: b.capabilities_count ?? 0,
      last_crawl: null,
      first_seen: t,
      ok: 0,
      total: 0,
      bond_usd: 0,
    });
    return { acknowledged: true, peer_added: true, status: 'pending' };
  }

  // ---- MCP (official SDK, Streamable HTTP, stateless) ------------------------------------------
  function mcpServer(channel: string | undefined, payment: string | undefined): McpServer {
    const s = new McpServer({ name: o.name, version: '2.0.0' }, { capabilities: { tools: {} } });
    s.setRequestHandler(ListToolsRequestSchema, async () => ({
      tools: catalog.map((c) => ({ name: toolName(c), description: c.description, inputSchema: c.inputSchema as { type: 'object' } })),
    }));
    s.setRequestHandler(CallToolRequestSchema, async (req) => {
      const c = catalog.find((x) => toolName(x) === req.params.name);
      if (!c) return { isError: true, content: [{ type: 'text', text: JSON.stringify({ error: { code: 'not_found', message: `unknown tool ${req.params.name}` } }) }] };
      const args = (req.params.arguments ?? {}) as Record<string, unknown>;
      if (faults.mcpFree) {
        const out = work(c, args);
        return { content: [{ type: 'text', text: JSON.stringify(out.ok ? { success: true, result: out.result } : { success: false }) }] };
      }
      try {
        const out = await invoke(c.productId, c.capabilityId, { input: args }, { channel, payment });
        const result = { isError: out.status !== 200 || out.body.success !== true, content: [{ type: 'text', text: JSON.stringify(out.body) }], structuredContent: out.body };
        if (faults.mcpFailureNotError) result.isError = out.status !== 200;
        return result;
      } catch (e) {
        const he = e instanceof HttpError ? e : new HttpError(400, 'bad tool call');
        return { isError: true, content: [{ type: 'text', text: JSON.stringify({ error: { code: he.code, message: he.message } }) }] };
      }
    });
    return s;
  }

  // ---- routes ---------------------------------------------------------------------------------
  const app = new Hono();
  app.onError(errorHandler({ shape: codedErrors, log }));
  app.notFound(notFoundHandler({ shape: codedErrors }));

  app.get('/health', (c) => c.json({ status: 'ok', name: o.name }));
  app.get('/.well-known/ai-market.json', async (c) => c.json(wellKnown(await now())));
  app.get('/ai-market/manifest', async (c) => c.json(await manifestV1()));
  app.get('/ai-market/v2/manifest', async (c) => c.json(await manifestV2()));
  app.get('/ai-market/mcp', async (c) => {
    if ((c.req.header('accept') ?? '').includes('text/event-stream')) return c.json({ error: { code: 'method_not_allowed', message: 'stateless MCP endpoint: POST JSON-RPC' } }, 405);
    const list = catalog.map((x) => ({ name: toolName(x), description: x.description, inputSchema: x.inputSchema }));
    return c.json({ protocol: 'mcp', version: '1.0', tools: faults.mcpMissingTool ? list.slice(0, -1) : list });
  });
  app.post('/ai-market/mcp', async (c) => {
    if (faults.mcpNotRpc500) {
      let rpc = false;
      try {
        const v = JSON.parse(await c.req.raw.clone().text()) as unknown;
        rpc = (Array.isArray(v) ? v : [v]).every((m) => typeof m === 'object' && m !== null && m.jsonrpc === '2.0' && typeof m.method === 'string');
      } catch {
        /* not JSON */
      }
      if (!rpc) throw new Error('mcpNotRpc500');
    }
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    const server = mcpServer(c.req.header('x-payment-channel'), c.req.header('x-payment'));
    await server.connect(transport);
    try {
      return await transport.handleRequest(c.req.raw);
    } finally {
      setTimeout(() => void server.close().catch(() => undefined), 0).unref();
    }
  });

  const invokeRoute = async (c: Context) => {
    const body = await jsonBody(c, { limit: 200_000, whenEmpty: undefined });
    return reply(c, await invoke(c.req.param('pid')!, c.req.param('cid')!, body, { payment: c.req.header('x-payment'), channel: c.req.header('x-payment-channel') }));
  };
  app.post('/capabilities/:pid/:cid/invoke', invokeRoute);
  app.post('/ai-market/capabilities/:pid/:cid/invoke', invokeRoute);

  const quote = (pid: string, cid: string, size: number) => {
    const cap = capByIds(pid, cid);
    if (!cap) throw new HttpError(404, `unknown capability ${pid}/${cid}`);
    const price = priceFor(cap, size);
    return {
      product_id: pid,
      capability_id: cid,
      input_size: size,
      price_usd: usdNumber(price),
      amount: formatUsd(price),
      channel_debit_usd: usdNumber(centsToMicros(centsCeil(price))),
      token: o.token.symbol,
      chain: o.chainName,
      protocol_version: 'v1',
    };
  };
  app.get('/ai-market/pricing/:pid/:cid', (c) => {
    const raw = c.req.query('input_size');
    const size = raw === undefined ? 0 : Number(raw);
    if (!Number.isInteger(size) || size < 0 || size > 10_000_000 || (raw !== undefined && !/^\d+$/.test(raw))) throw new HttpError(400, 'input_size must be a non-negative integer');
    return c.json(quote(c.req.param('pid'), c.req.param('cid'), size));
  });
  app.post('/ai-market/pricing/:pid/:cid', async (c) => {
    const b = parseWith(InvokeBody, await jsonBody(c, { limit: 200_000, whenEmpty: undefined }));
    const cap = capByIds(c.req.param('pid'), c.req.param('cid'));
    const bad = cap && checkInput(cap, b.input);
    if (bad) throw new HttpError(400, bad);
    return c.json(quote(c.req.param('pid'), c.req.param('cid'), faults.quoteMismatch ? 0 : inputSize(b.input)));
  });

  app.post('/ai-market/discover', async (c) => c.json(discover(await jsonBody(c, { whenEmpty: undefined }))));
  for (const prefix of ['/ai-market', '/ai-market/v2']) {
    app.post(`${prefix}/channel/open`, async (c) => c.json(await openChannel(await jsonBody(c, { whenEmpty: undefined }))));
    app.post(`${prefix}/channel/close`, async (c) => c.json(await closeChannel(await jsonBody(c, { whenEmpty: undefined }))));
  }
  app.get('/ai-market/v2/channel/:id', async (c) => {
    if (faults.noBalanceRoute) throw new HttpError(404, 'not found');
    await reorgChecked();
    return c.json(channelView(c.req.param('id'), await now()));
  });
  app.post('/ai-market/pipelines', async (c) => {
    await reorgChecked();
    return c.json(await pipeline(await jsonBody(c, { whenEmpty: undefined })));
  });
  app.get('/ai-market/receipt/:nonce', (c) => {
    const r = db.receipt(c.req.param('nonce'));
    if (!r) throw new HttpError(404, 'unknown receipt nonce');
    return c.body(r, 200, { 'content-type': 'application/json' });
  });
  app.get('/ai-market/stats', (c) => {
    const s = db.stats();
    return c.json({ invocations: s.invocations, successes: s.successes, failures: s.invocations - s.successes, revenue_usd: usdNumber(s.revenue), channels_open: db.openChannels(), recent: s.recent });
  });
  app.get('/ai-market/v2/stats/live', (c) => c.json({ recent: db.stats().recent }));

  app.get('/ai-market/v2/search', async (c) => c.json(await search(c.req.query())));
  app.post('/ai-market/v2/invoke', async (c) => routedInvoke(c, await jsonBody(c, { limit: 200_000, whenEmpty: undefined })));
  app.post('/ai-market/v2/federation/announce', async (c) => c.json(await announce(await jsonBody(c, { whenEmpty: undefined }))));
  app.get('/ai-market/v2/federation/peers', async (c) => {
    const t = await now();
    return c.json({ peers: db.peers().map((p) => ({ url: p.url, name: p.name, status: p.status, capabilities_count: p.capabilities_count, last_crawl: p.last_crawl, trust_score: peerTrust(p, t) })) });
  });
  app.post('/ai-market/v2/federation/crawl', async (c) => c.json(await crawl()));
  app.get('/ai-market/v2/reputation/:hub', async (c) => {
    if (faults.reputationMissing) throw new HttpError(404, 'unknown hub');
    const p = db.peer(c.req.param('hub'));
    if (!p) throw new HttpError(404, 'unknown hub');
    return c.json({ hub_url: p.url, trust_score: peerTrust(p, await now()), successful_invocations: p.ok, total_invocations: p.total, bond_usd: p.bond_usd });
  });

  listening = await listen(app, { host: o.host ?? '127.0.0.1', port: o.port ?? 0, shape: codedErrors, log });
  base = listening.url.replace(/\/$/, '');
  const t0 = await now();
  for (const s of o.seedList ?? []) {
    const url = origin(s);
    db.addPeer({ url, name: url, status: 'active', pubkey: null, well_known_url: s, capabilities_count: 0, last_crawl: null, first_seen: t0 - 365 * 86400, ok: 0, total: 0, bond_usd: 1000 });
  }
  return {
    url: base,
    app,
    db,
    publicKey: signer.publicB64,
    recipient,
    crawl,
    async stop() {
      await listening?.stop(2000);
      db.close();
    },
  };
}
