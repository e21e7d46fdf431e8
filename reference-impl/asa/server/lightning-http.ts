/**
 * HTTP face of the simulated Lightning network (the analogue of a chain's RPC): nodes, channels,
 * invoices, payments. Amounts travel as decimal msat strings.
 *
 *   GET  /health                              {ok, nodes, channels}
 *   GET  /v1/graph                            {height, nodes[], channels[] (balances), totalMsat}
 *   POST /v1/nodes {privateKey, alias?, hubs?} registers a node (hubs: open default channels to the hubs)
 *   POST /v1/channels {node1, node2, balance1Msat, balance2Msat, policy1?, policy2?}
 *   POST /v1/nodes/:pubkey/invoices {amountMsat, description? | descriptionHash?, expiry?}
 *   GET  /v1/nodes/:pubkey/invoices/:hash     {state, amountMsat, payer?, settledAt?}
 *   POST /v1/nodes/:pubkey/payments {paymentRequest, maxFeeMsat?, excludeChannels?}
 *   GET  /v1/nodes/:pubkey/payments/:hash     a settled payment the node made (404 none): its preimage, amount, fee, route
 *   POST /v1/nodes/:pubkey/online {online}
 */
import { keepIdleSockets } from '../../_shared/http.ts';
import { createServer, type Server } from 'node:http';
import { secp256k1 } from '@noble/curves/secp256k1';
import type { AddressInfo } from 'node:net';
import type { ChannelPolicy } from '../protocol/routing.ts';
import { guard, HttpError, parseJsonBody, readRaw, refuse, send } from './http.ts';
import { DEFAULT_POLICY, type LightningNetwork, PayError } from './lightning.ts';

const HEX32 = /^(0x)?[0-9a-fA-F]{64}$/;
const PUB = /^[0-9a-f]{66}$/;

function msat(v: unknown, what: string): bigint {
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) return BigInt(v);
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  throw new HttpError(400, 'bad_amount', `${what} must be a non-negative integer msat amount`);
}

function policy(v: unknown): ChannelPolicy {
  if (v === undefined) return DEFAULT_POLICY;
  const p = v as Record<string, unknown>;
  if (!p || typeof p !== 'object') throw new HttpError(400, 'bad_policy', 'policy must be an object');
  const cltv = p.cltvDelta ?? DEFAULT_POLICY.cltvDelta;
  if (typeof cltv !== 'number' || !Number.isInteger(cltv) || cltv < 0 || cltv > 2016) throw new HttpError(400, 'bad_policy', 'cltvDelta must be an integer 0..2016');
  return { baseMsat: msat(p.baseMsat ?? '1000', 'baseMsat'), ppm: msat(p.ppm ?? '1000', 'ppm'), cltvDelta: cltv };
}

export interface LightningServer {
  url: string;
  server: Server;
  stop(): Promise<void>;
}

export async function startLightningServer(net: LightningNetwork, o: { host?: string; port?: number; hubs?: string[] } = {}): Promise<LightningServer> {
  const hubs = o.hubs ?? [];
  const server = createServer((req, res) => {
    void guard(res, async () => {
      const url = new URL(`http://x${req.url ?? '/'}`);
      const parts = url.pathname.split('/').filter(Boolean);
      const m = req.method ?? 'GET';
      // Read every body first, so no answer leaves unread bytes on a keep-alive connection.
      const raw = await readRaw(req);
      const readJson = async (_r: unknown) => parseJsonBody(raw);
      if (m === 'GET' && url.pathname === '/health') return send(res, 200, { ok: true, nodes: net.nodes.size, channels: net.channels.length });
      if (m === 'GET' && url.pathname === '/v1/graph')
        return send(res, 200, {
          height: net.height,
          nodes: [...net.nodes.values()].map((n) => ({ pubkey: n.pubkey, alias: n.alias, online: n.online, feesEarnedMsat: net.feesEarned.get(n.pubkey) ?? 0n })),
          channels: net.channels.map((c) => ({ id: c.id, node1: c.node1, node2: c.node2, balance1Msat: c.balance1, balance2Msat: c.balance2, policy1: c.policy1, policy2: c.policy2 })),
          totalMsat: net.totalBalance(),
        });
      if (m === 'POST' && url.pathname === '/v1/nodes') {
        const b = await readJson(req);
        if (typeof b.privateKey !== 'string' || !HEX32.test(b.privateKey)) throw new HttpError(400, 'bad_key', 'privateKey must be 32 bytes of hex');
        // 32 bytes of hex may still be no key (0, or at least the curve order): a client's mistake, not a server fault.
        if (!secp256k1.utils.isValidPrivateKey(b.privateKey.replace(/^0x/, ''))) throw new HttpError(400, 'bad_key', 'privateKey must be a secp256k1 scalar in 1..n-1');
        const n = net.addNode(b.privateKey, typeof b.alias === 'string' ? b.alias.slice(0, 64) : '');
        if (b.hubs === true)
          for (const h of hubs)
            if (h !== n.pubkey && !net.channels.some((c) => (c.node1 === h && c.node2 === n.pubkey) || (c.node2 === h && c.node1 === n.pubkey)))
              net.openChannel(h, n.pubkey, 5_000_000_000n, 5_000_000_000n);
        return send(res, 200, { pubkey: n.pubkey, alias: n.alias });
      }
      if (m === 'POST' && url.pathname === '/v1/channels') {
        const b = await readJson(req);
        for (const k of ['node1', 'node2'])
          if (typeof b[k] !== 'string' || !PUB.test(b[k] as string) || !net.nodes.has(b[k] as string)) throw new HttpError(400, 'unknown_node', `${k} is not a registered node`);
        if (b.node1 === b.node2) throw new HttpError(400, 'bad_channel', 'a channel needs two different nodes');
        const c = net.openChannel(b.node1 as string, b.node2 as string, msat(b.balance1Msat, 'balance1Msat'), msat(b.balance2Msat, 'balance2Msat'), policy(b.policy1), policy(b.policy2));
        return send(res, 200, { id: c.id });
      }
      if (parts[0] === 'v1' && parts[1] === 'nodes' && parts.length >= 4) {
        const pub = parts[2]!;
        if (!PUB.test(pub) || !net.nodes.has(pub)) throw new HttpError(404, 'unknown_node', `no node ${pub.slice(0, 80)}`);
        if (m === 'POST' && parts[3] === 'invoices' && parts.length === 4) {
          const b = await readJson(req);
          if (b.description !== undefined && typeof b.description !== 'string') throw new HttpError(400, 'bad_description', 'description must be a string');
          if (b.descriptionHash !== undefined && (typeof b.descriptionHash !== 'string' || !/^[0-9a-f]{64}$/.test(b.descriptionHash)))
            throw new HttpError(400, 'bad_description', 'descriptionHash must be 64 hex');
          const expiry = b.expiry ?? 3600;
          if (typeof expiry !== 'number' || !Number.isInteger(expiry) || expiry < 1 || expiry > 31_536_000) throw new HttpError(400, 'bad_expiry', 'expiry must be 1..31536000 seconds');
          const amount = msat(b.amountMsat, 'amountMsat');
          if (amount === 0n || amount > 10_000_000_000_000n) throw new HttpError(400, 'bad_amount', 'amountMsat must be positive and at most 0.1 BTC·1e3');
          const inv = net.createInvoice(pub, { amountMsat: amount, description: b.description as string | undefined, descriptionHash: b.descriptionHash as string | undefined, expiry });
          return send(res, 200, { paymentRequest: inv.paymentRequest, paymentHash: inv.paymentHash, expiresAt: inv.expiresAt });
        }
        if (m === 'GET' && parts[3] === 'invoices' && parts.length === 5) {
          const inv = net.lookup(pub, parts[4]!);
          if (!inv) throw new HttpError(404, 'unknown_invoice', 'no such invoice');
          return send(res, 200, { paymentHash: inv.paymentHash, state: inv.state, amountMsat: inv.amountMsat, expiresAt: inv.expiresAt, payer: inv.payer ?? null, settledAt: inv.settledAt ?? null });
        }
        if (m === 'POST' && parts[3] === 'payments' && parts.length === 4) {
          const b = await readJson(req);
          if (typeof b.paymentRequest !== 'string' || b.paymentRequest.length > 4096) throw new HttpError(400, 'bad_invoice', 'paymentRequest must be a BOLT11 string');
          const exclude = Array.isArray(b.excludeChannels) ? b.excludeChannels.filter((x): x is string => typeof x === 'string') : [];
          try {
            const p = net.pay(pub, b.paymentRequest, { maxFeeMsat: b.maxFeeMsat === undefined ? undefined : msat(b.maxFeeMsat, 'maxFeeMsat'), excludeChannels: exclude });
            return send(res, 200, p);
          } catch (e) {
            if (e instanceof PayError) return refuse(res, e.code === 'UNKNOWN_NODE' ? 404 : e.code === 'INVALID_INVOICE' ? 400 : 409, e.code, e.message);
            throw e;
          }
        }
        if (m === 'GET' && parts[3] === 'payments' && parts.length === 5) {
          const p = net.payment(pub, parts[4]!);
          if (!p) throw new HttpError(404, 'unknown_payment', 'this node made no settled payment with that hash');
          return send(res, 200, p);
        }
        if (m === 'POST' && parts[3] === 'online' && parts.length === 4) {
          const b = await readJson(req);
          if (typeof b.online !== 'boolean') throw new HttpError(400, 'bad_body', 'online must be a boolean');
          net.node(pub).online = b.online;
          return send(res, 200, { online: b.online });
        }
      }
      refuse(res, 404, 'not_found', `${m} ${url.pathname.slice(0, 100)} is not a route`);
    });
  });
  keepIdleSockets(server);
  await new Promise<void>((r) => server.listen(o.port ?? 0, o.host ?? '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${o.host ?? '127.0.0.1'}:${port}`,
    server,
    stop: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
