/**
 * x402 facilitator for the `exact` scheme on EVM (EIP-3009 `transferWithAuthorization`),
 * speaking v2 (CAIP-2 networks, `accepted`) and accepting v1 (network names, `maxAmountRequired`).
 *
 * HTTP API (spec §1.5): `POST /verify`, `POST /settle`, `GET /supported`, on loopback.
 *
 * Why not the official `x402Facilitator` + `ExactEvmScheme`: it reads `validAfter`/`validBefore`
 * against the host clock (`Date.now()`), while the token checks block time; the harness moves chain
 * time, so every check here reads an injectable clock that defaults to the chain's pending block
 * timestamp. The checks, their order and their reason strings follow `@x402/evm` 2.27.0, and we
 * use its ABI (`eip3009ABI`) and EIP-712 types (`authorizationTypes`). Permit2 payloads are not
 * supported (answered with `unsupported_payload_type`).
 */
import { Hono, type Context } from 'hono';
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  getAddress,
  parseEventLogs,
  parseSignature,
  recoverTypedDataAddress,
  type Address,
  type Hex,
  type PublicClient,
  type WalletClient,
  type Account,
  type Chain,
  type Transport,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createNonceManager, jsonRpc } from 'viem/nonce';
import { authorizationTypes, eip3009ABI } from '@x402/evm';
import { keepAliveTransport } from '../../../harness/chain/index.ts';
import { errorHandler, listen, notFoundHandler, readBody } from '../../_shared/http.ts';
import {
  CANONICAL_USDC,
  ExactEvmPayloadSchema,
  FacilitatorRequestSchema,
  Reason,
  caip2,
  chainIdOfNetwork,
  sameAddress,
  v1NetworkName,
  zodMessage,
  type ExactEvmPayload,
  type FacilitatorRequest,
  type SettleResponse,
  type SupportedResponse,
  type TokenInfo,
  type VerifyResponse,
} from '../protocol/wire.ts';

/** Returns "now" in unix seconds. */
export type Clock = () => Promise<bigint>;

/**
 * Deliberate defects, for tests only: each turns one check off (or reads the host clock), so a
 * test can show that it notices the defect. Never set in production code.
 */
export interface FacilitatorFaults {
  skipSchemeCheck?: boolean;
  skipNetworkCheck?: boolean;
  skipAssetCheck?: boolean;
  skipSignatureCheck?: boolean;
  skipRecipientCheck?: boolean;
  skipAmountCheck?: boolean;
  skipNonceCheck?: boolean;
  skipBalanceCheck?: boolean;
  /** Read validAfter/validBefore against `Date.now()` instead of the chain (the official library's behaviour). */
  hostClock?: boolean;
}

/** Options of {@link createFacilitator}. */
export interface FacilitatorOptions {
  /** JSON-RPC URL of the chain the facilitator settles on. */
  rpcUrl: string;
  /** Private key of the account that submits `transferWithAuthorization` (pays gas). */
  privateKey: Hex;
  /** EIP-3009 tokens accepted; default: USDC at its canonical address for the chain. Domains are read from the chain. */
  tokens?: Address[];
  /** Clock for validAfter/validBefore; default: timestamp of the chain's pending block. */
  clock?: Clock;
  /** Seconds `validBefore` must lie beyond "now" (the official facilitator uses 6). */
  validBeforeBufferSeconds?: number;
  /** Simulate the transfer with `eth_call` at the end of `/verify` (default true, as the official one). */
  simulate?: boolean;
  /** Simulate again during `/settle`'s re-verify (default false, as the official one). */
  simulateInSettle?: boolean;
  /** How long `/settle` waits for the receipt before answering `settlement_pending` (default 30 s). */
  receiptTimeoutMs?: number;
  /** Serve v1 kinds too (default true). */
  acceptV1?: boolean;
  /** Test-only defects. */
  faults?: FacilitatorFaults;
}

/** A facilitator bound to one chain. */
export interface Facilitator {
  readonly chainId: number;
  readonly address: Address;
  readonly tokens: readonly TokenInfo[];
  /** Checks a payment without moving money. */
  verify(req: FacilitatorRequest): Promise<VerifyResponse>;
  /** Re-verifies, submits `transferWithAuthorization`, waits for the receipt. */
  settle(req: FacilitatorRequest): Promise<SettleResponse>;
  supported(): SupportedResponse;
  /** The HTTP app (hono) exposing `/verify`, `/settle`, `/supported`. */
  readonly app: Hono;
}

/** A facilitator listening on loopback. */
export interface RunningFacilitator {
  facilitator: Facilitator;
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Clock reading the timestamp the next block will carry (falls back to the latest block's). */
export function chainClock(client: PublicClient): Clock {
  return async () => {
    try {
      const b = await client.getBlock({ blockTag: 'pending' });
      if (b?.timestamp !== undefined) return b.timestamp;
    } catch {
      // some nodes do not serve "pending"
    }
    return (await client.getBlock({ blockTag: 'latest' })).timestamp;
  };
}

/** The host clock (what the official library uses). */
export const hostClock: Clock = async () => BigInt(Math.floor(Date.now() / 1000));

interface Normalized {
  version: 1 | 2;
  payloadScheme: string;
  payloadNetwork: string;
  reqScheme: string;
  reqNetwork: string;
  amount: bigint;
  asset: string;
  payTo: string;
  extra: Record<string, unknown> | undefined | null;
  rawPayload: Record<string, unknown>;
}

function normalize(req: FacilitatorRequest): Normalized {
  const p = req.paymentPayload;
  if (p.x402Version === 2) {
    const r = req.paymentRequirements as Extract<FacilitatorRequest, { paymentPayload: { x402Version: 2 } }>['paymentRequirements'];
    return {
      version: 2,
      payloadScheme: p.accepted.scheme,
      payloadNetwork: p.accepted.network,
      reqScheme: r.scheme,
      reqNetwork: r.network,
      amount: BigInt(r.amount),
      asset: r.asset,
      payTo: r.payTo,
      extra: r.extra,
      rawPayload: p.payload,
    };
  }
  const r = req.paymentRequirements as Extract<FacilitatorRequest, { paymentPayload: { x402Version: 1 } }>['paymentRequirements'];
  return {
    version: 1,
    payloadScheme: p.scheme,
    payloadNetwork: p.network,
    reqScheme: r.scheme,
    reqNetwork: r.network,
    amount: BigInt(r.maxAmountRequired),
    asset: r.asset,
    payTo: r.payTo,
    extra: r.extra,
    rawPayload: p.payload,
  };
}

interface VerifiedContext {
  token: TokenInfo;
  payload: ExactEvmPayload;
  network: string;
  payer: Address;
}

type VerifyOutcome = { response: VerifyResponse; ctx?: VerifiedContext };

function invalid(invalidReason: string, payer: string | undefined, invalidMessage?: string): VerifyOutcome {
  return { response: { isValid: false, invalidReason, ...(invalidMessage ? { invalidMessage } : {}), ...(payer ? { payer } : {}) } };
}

// FiatToken v2 revert strings -> reason (the official `parseEip3009TransferError` does the same by regex).
function reasonFromRevert(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/authorization is expired|AuthorizationExpired/i.test(msg)) return Reason.validBefore;
  if (/authorization is not yet valid|AuthorizationNotYetValid/i.test(msg)) return Reason.validAfter;
  if (/authorization is used or canceled|AuthorizationUsedOrCanceled|AuthorizationAlreadyUsed/i.test(msg)) return Reason.nonceUsed;
  if (/exceeds balance|insufficient balance|ERC20InsufficientBalance/i.test(msg)) return Reason.insufficientBalance;
  if (/invalid signature|InvalidSignature/i.test(msg)) return Reason.signature;
  return Reason.transactionFailed;
}

function shortMessage(err: unknown): string {
  const e = err as { shortMessage?: string; message?: string };
  return (e?.shortMessage ?? e?.message ?? String(err)).slice(0, 500);
}

/**
 * Builds a facilitator for the chain behind `rpcUrl`. Reads the chain id and each token's EIP-712
 * domain (`name()`, `version()`) from the chain; throws if a token has no code.
 */
export async function createFacilitator(opts: FacilitatorOptions): Promise<Facilitator> {
  // Keep-alive sockets: Node's global fetch costs ~2x per RPC call (DESIGN.md "Speed").
  const transport = () => keepAliveTransport(opts.rpcUrl);
  const probe = createPublicClient({ transport: transport() });
  const chainId = await probe.getChainId();
  const chain: Chain = defineChain({
    id: chainId,
    name: `chain-${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [opts.rpcUrl] } },
  });
  // Receipts on a local node arrive within milliseconds; viem's 4 s default poll would dominate settle time.
  const publicClient = createPublicClient({ chain, transport: transport(), pollingInterval: 250 }) as PublicClient;
  // A nonce manager of its own: concurrent settles must not reuse a nonce, and viem's shared one
  // would mix up two local chains that have the same chain id and account.
  const account: Account = privateKeyToAccount(opts.privateKey, { nonceManager: createNonceManager({ source: jsonRpc() }) });
  const wallet: WalletClient<Transport, Chain, Account> = createWalletClient({ account, chain, transport: transport() });
  const faults = opts.faults ?? {};
  const clock: Clock = faults.hostClock ? hostClock : (opts.clock ?? chainClock(publicClient));
  const buffer = BigInt(opts.validBeforeBufferSeconds ?? 6);
  const simulate = opts.simulate ?? true;
  const acceptV1 = opts.acceptV1 ?? true;
  const receiptTimeoutMs = opts.receiptTimeoutMs ?? 30_000;

  const tokenAddresses = opts.tokens ?? (CANONICAL_USDC[chainId] ? [CANONICAL_USDC[chainId]!.address] : []);
  if (tokenAddresses.length === 0) throw new Error(`no token configured for chain ${chainId} and no canonical USDC known`);
  const tokens: TokenInfo[] = [];
  for (const address of tokenAddresses) {
    const code = await publicClient.getCode({ address });
    if (!code || code === '0x') throw new Error(`no contract at token ${address} on chain ${chainId}`);
    const [name, version, decimals] = await Promise.all([
      publicClient.readContract({ address, abi: eip3009ABI, functionName: 'name' }),
      publicClient.readContract({ address, abi: eip3009ABI, functionName: 'version' }),
      publicClient.readContract({ address, abi: [{ type: 'function', name: 'decimals', stateMutability: 'view', inputs: [], outputs: [{ type: 'uint8' }] }] as const, functionName: 'decimals' }),
    ]);
    tokens.push({ address: getAddress(address), name, version, decimals: Number(decimals) });
  }

  async function verifyCore(req: FacilitatorRequest, doSimulate: boolean): Promise<VerifyOutcome> {
    const n = normalize(req);
    const rawFrom = (n.rawPayload.authorization as { from?: unknown } | undefined)?.from;
    const payerHint = typeof rawFrom === 'string' ? rawFrom : undefined;

    if (n.version === 1 && !acceptV1) return invalid(Reason.invalidX402Version, payerHint, 'this facilitator serves x402Version 2 only');
    // 1. scheme
    if (!faults.skipSchemeCheck && (n.payloadScheme !== 'exact' || n.reqScheme !== 'exact')) {
      return invalid(Reason.scheme, payerHint, `scheme must be "exact" (payload "${n.payloadScheme}", requirements "${n.reqScheme}")`);
    }
    // 2. the requirements' network must be the chain we settle on
    if (chainIdOfNetwork(n.reqNetwork, n.version) !== chainId) {
      return invalid(Reason.invalidNetwork, payerHint, `network "${n.reqNetwork}" is not served here (x402Version ${n.version}, chain ${chainId})`);
    }
    // 3. payload network == requirements network
    if (!faults.skipNetworkCheck && n.payloadNetwork !== n.reqNetwork) {
      return invalid(Reason.networkMismatch, payerHint, `payload network "${n.payloadNetwork}" != requirements network "${n.reqNetwork}"`);
    }
    // 4. payload shape (EIP-3009 only)
    if ('permit2Authorization' in n.rawPayload) return invalid(Reason.permit2Unsupported, payerHint, 'Permit2 payloads are not supported by this facilitator');
    const parsed = ExactEvmPayloadSchema.safeParse(n.rawPayload);
    if (!parsed.success) return invalid(Reason.invalidPayload, payerHint, `exact/EVM payload: ${zodMessage(parsed.error)}`);
    const payload = parsed.data;
    const auth = payload.authorization;
    const payer = getAddress(auth.from);
    // 5. asset must be a token we serve
    let token = tokens.find((t) => sameAddress(t.address, n.asset));
    if (!token) {
      if (!faults.skipAssetCheck) {
        return invalid(Reason.invalidPaymentRequirements, payer, `asset ${n.asset} is not accepted (accepted: ${tokens.map((t) => t.address).join(', ')})`);
      }
      token = { ...tokens[0]!, address: /^0x[0-9a-fA-F]{40}$/.test(n.asset) ? getAddress(n.asset) : tokens[0]!.address };
    }
    // 6. signature over the token's real EIP-712 domain. `extra.name/version` are what the client
    //    signed with; when they differ from the chain's we say so (the most common field failure).
    const message = {
      from: payer,
      to: getAddress(auth.to),
      value: BigInt(auth.value),
      validAfter: BigInt(auth.validAfter),
      validBefore: BigInt(auth.validBefore),
      nonce: auth.nonce as Hex,
    };
    if (!faults.skipSignatureCheck) {
      const domain = { name: token.name, version: token.version, chainId, verifyingContract: token.address };
      let ok = false;
      const typed = { domain, types: authorizationTypes, primaryType: 'TransferWithAuthorization' as const, message, signature: payload.signature as Hex };
      try {
        // An EOA's 65-byte signature is checked locally (no RPC round trip).
        if (payload.signature.length === 132) ok = (await recoverTypedDataAddress(typed)) === payer;
      } catch {
        ok = false;
      }
      if (!ok) {
        // Otherwise ask the chain: ERC-1271 wallets (whose signatures may also be 65 bytes) and ERC-6492.
        try {
          const isEoa65 = payload.signature.length === 132 && ((await publicClient.getCode({ address: payer })) ?? '0x') === '0x';
          if (!isEoa65) ok = await publicClient.verifyTypedData({ address: payer, ...typed });
        } catch {
          ok = false;
        }
      }
      if (!ok) {
        const extra = n.extra ?? {};
        if (typeof extra.name === 'string' && extra.name !== token.name) {
          return invalid('invalid_exact_evm_token_name_mismatch', payer, `requirements extra.name "${extra.name}" but the token's EIP-712 name is "${token.name}"`);
        }
        if (typeof extra.version === 'string' && extra.version !== token.version) {
          return invalid('invalid_exact_evm_token_version_mismatch', payer, `requirements extra.version "${extra.version}" but the token's EIP-712 version is "${token.version}"`);
        }
        return invalid(Reason.signature, payer, 'signature does not recover to authorization.from over the token EIP-712 domain');
      }
    }
    // 7. recipient
    if (!faults.skipRecipientCheck && !sameAddress(auth.to, n.payTo)) {
      return invalid(Reason.recipientMismatch, payer, `authorization.to ${auth.to} != payTo ${n.payTo}`);
    }
    // 8. time window, against the chain clock. The token requires validAfter < block.timestamp < validBefore.
    const now = await clock();
    if (message.validBefore < now + buffer) {
      return invalid(Reason.validBefore, payer, `validBefore ${message.validBefore} < now ${now} + ${buffer}s`);
    }
    if (message.validAfter >= now) {
      return invalid(Reason.validAfter, payer, `validAfter ${message.validAfter} >= now ${now}`);
    }
    // 9. amount: v2 exact; v1 at least maxAmountRequired (see README "Ambiguities")
    if (!faults.skipAmountCheck) {
      if (n.version === 2 && message.value !== n.amount) {
        return invalid(Reason.valueMismatchV2, payer, `authorization.value ${message.value} != amount ${n.amount}`);
      }
      if (n.version === 1 && message.value < n.amount) {
        return invalid(Reason.valueV1, payer, `authorization.value ${message.value} < maxAmountRequired ${n.amount}`);
      }
    }
    // 10. nonce unused and balance sufficient, read from the token
    let used: boolean;
    let balance: bigint;
    try {
      [used, balance] = await Promise.all([
        publicClient.readContract({ address: token.address, abi: eip3009ABI, functionName: 'authorizationState', args: [payer, auth.nonce as Hex] }),
        publicClient.readContract({ address: token.address, abi: eip3009ABI, functionName: 'balanceOf', args: [payer] }),
      ]);
    } catch (err) {
      return invalid(Reason.eip3009NotSupported, payer, shortMessage(err));
    }
    if (!faults.skipNonceCheck && used) return invalid(Reason.nonceUsed, payer, `nonce ${auth.nonce} of ${payer} is already used`);
    if (!faults.skipBalanceCheck && balance < message.value) {
      return invalid(Reason.insufficientBalance, payer, `balance ${balance} < value ${message.value}`);
    }
    // 11. simulation catches what the reads cannot (paused token, blacklists, smart wallets)
    if (doSimulate) {
      try {
        await publicClient.simulateContract({ account, address: token.address, abi: eip3009ABI, functionName: 'transferWithAuthorization', args: transferArgs(payload) as never });
      } catch (err) {
        return invalid(Reason.simulationFailed, payer, shortMessage(err));
      }
    }
    return { response: { isValid: true, payer }, ctx: { token, payload, network: n.reqNetwork, payer } };
  }

  function transferArgs(payload: ExactEvmPayload): readonly unknown[] {
    const a = payload.authorization;
    const base = [getAddress(a.from), getAddress(a.to), BigInt(a.value), BigInt(a.validAfter), BigInt(a.validBefore), a.nonce as Hex] as const;
    if (payload.signature.length === 132) {
      const sig = parseSignature(payload.signature as Hex);
      const v = sig.v !== undefined ? Number(sig.v) : sig.yParity + 27;
      return [...base, v, sig.r, sig.s];
    }
    return [...base, payload.signature as Hex];
  }

  // Settles of one authorization run one after another, so a concurrent duplicate sees the used nonce.
  const inflight = new Map<string, Promise<unknown>>();

  // Broadcast transactions whose receipt we have not seen yet, by authorization key. A retried
  // settle of the same authorization waits for this transaction instead of failing on the now-used
  // nonce, so a slow chain does not turn into "not paid" (x402 issue #1062, PR #3083).
  const pending = new Map<string, { hash: Hex; ctx: VerifiedContext }>();

  async function confirm(key: string, hash: Hex, ctx: VerifiedContext): Promise<SettleResponse> {
    const { token, payload, payer, network } = ctx;
    let receipt;
    try {
      receipt = await publicClient.waitForTransactionReceipt({ hash, timeout: receiptTimeoutMs });
    } catch (err) {
      pending.set(key, { hash, ctx });
      // Broadcast but unconfirmed: report the hash so the caller can reconcile instead of charging twice.
      return { success: false, errorReason: Reason.settlementPending, errorMessage: shortMessage(err), transaction: hash, network, payer };
    }
    pending.delete(key);
    if (receipt.status !== 'success') {
      return { success: false, errorReason: Reason.transactionFailed, transaction: hash, network, payer };
    }
    const a = payload.authorization;
    const transfers = parseEventLogs({ abi: transferEventAbi, eventName: 'Transfer', logs: receipt.logs.filter((l) => sameAddress(l.address, token.address)) });
    const moved = transfers.some((l) => sameAddress(l.args.from, a.from) && sameAddress(l.args.to, a.to) && l.args.value === BigInt(a.value));
    if (!moved) return { success: false, errorReason: Reason.transferEventMismatch, transaction: hash, network, payer };
    return { success: true, transaction: hash, network, payer };
  }

  async function settleOnce(key: string, req: FacilitatorRequest): Promise<SettleResponse> {
    const earlier = pending.get(key);
    if (earlier) return confirm(key, earlier.hash, earlier.ctx);
    const n = normalize(req);
    const { response, ctx } = await verifyCore(req, opts.simulateInSettle ?? false);
    if (!response.isValid || !ctx) {
      return {
        success: false,
        errorReason: response.invalidReason ?? Reason.unexpectedSettle,
        ...(response.invalidMessage ? { errorMessage: response.invalidMessage } : {}),
        transaction: '',
        network: n.reqNetwork,
        ...(response.payer ? { payer: response.payer } : {}),
      };
    }
    let hash: Hex;
    try {
      hash = await wallet.writeContract({ address: ctx.token.address, abi: eip3009ABI, functionName: 'transferWithAuthorization', args: transferArgs(ctx.payload) as never });
    } catch (err) {
      return { success: false, errorReason: reasonFromRevert(err), errorMessage: shortMessage(err), transaction: '', network: ctx.network, payer: ctx.payer };
    }
    return confirm(key, hash, ctx);
  }

  async function settle(req: FacilitatorRequest): Promise<SettleResponse> {
    const auth = (req.paymentPayload.payload.authorization ?? {}) as { from?: unknown; nonce?: unknown };
    const sig = (req.paymentPayload.payload as { signature?: unknown }).signature;
    const key = `${String(req.paymentRequirements.asset)}:${String(auth.from)}:${String(auth.nonce)}:${String(sig)}`.toLowerCase();
    const previous = inflight.get(key) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => settleOnce(key, req));
    inflight.set(key, run);
    try {
      return await run;
    } finally {
      if (inflight.get(key) === run) inflight.delete(key);
    }
  }

  function supported(): SupportedResponse {
    const kinds: SupportedResponse['kinds'] = [{ x402Version: 2, scheme: 'exact', network: caip2(chainId) }];
    const v1 = v1NetworkName(chainId);
    if (acceptV1 && v1) kinds.push({ x402Version: 1, scheme: 'exact', network: v1 });
    return { kinds, extensions: [], signers: { 'eip155:*': [account.address] } };
  }

  const facilitator: Facilitator = {
    chainId,
    address: account.address,
    tokens,
    verify: async (req) => (await verifyCore(req, simulate)).response,
    settle,
    supported,
    app: undefined as unknown as Hono,
  };
  (facilitator as { app: Hono }).app = buildApp(facilitator);
  return facilitator;
}

const transferEventAbi = [
  {
    type: 'event',
    name: 'Transfer',
    inputs: [
      { name: 'from', type: 'address', indexed: true },
      { name: 'to', type: 'address', indexed: true },
      { name: 'value', type: 'uint256', indexed: false },
    ],
  },
] as const;

/** Request bodies above this are refused with 413 (a payment is well under 4 KB). */
export const MAX_BODY_BYTES = 64 * 1024;

type ParsedBody = { ok: true; req: FacilitatorRequest } | { ok: false; reason: string; message: string };

async function readRequest(c: Context): Promise<ParsedBody> {
  // Past MAX_BODY_BYTES this throws a 413, answered by the app's error handler.
  const text = await readBody(c, MAX_BODY_BYTES);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, reason: Reason.invalidPayload, message: 'body is not JSON' };
  }
  const version = (body as { paymentPayload?: { x402Version?: unknown } } | null)?.paymentPayload?.x402Version;
  if (version !== 1 && version !== 2) {
    return { ok: false, reason: Reason.invalidX402Version, message: `paymentPayload.x402Version must be 1 or 2, got ${JSON.stringify(version)}` };
  }
  // Validate against the branch the declared version selects, so the error names the real field.
  const parsed = FacilitatorRequestSchema.options[version === 2 ? 0 : 1].safeParse(body);
  if (!parsed.success) return { ok: false, reason: Reason.invalidPayload, message: zodMessage(parsed.error) };
  return { ok: true, req: parsed.data };
}

function buildApp(f: Facilitator): Hono {
  const app = new Hono();
  app.get('/supported', (c) => c.json(f.supported()));
  app.post('/verify', async (c) => {
    const r = await readRequest(c);
    if (!r.ok) return c.json({ isValid: false, invalidReason: r.reason, invalidMessage: r.message, error: { code: r.reason, message: r.message } }, 400);
    try {
      return c.json(await f.verify(r.req));
    } catch (err) {
      return c.json({ isValid: false, invalidReason: Reason.unexpectedVerify, invalidMessage: shortMessage(err), error: { code: Reason.unexpectedVerify, message: shortMessage(err) } }, 500);
    }
  });
  app.post('/settle', async (c) => {
    const r = await readRequest(c);
    if (!r.ok) return c.json({ success: false, errorReason: r.reason, errorMessage: r.message, transaction: '', network: '', error: { code: r.reason, message: r.message } }, 400);
    try {
      return c.json(await f.settle(r.req));
    } catch (err) {
      return c.json(
        {
          success: false,
          errorReason: Reason.unexpectedSettle,
          errorMessage: shortMessage(err),
          transaction: '',
          network: r.req.paymentRequirements.network,
          error: { code: Reason.unexpectedSettle, message: shortMessage(err) },
        },
        500,
      );
    }
  });
  app.notFound(notFoundHandler({ message: (c) => `${c.req.method} ${c.req.path} is not an endpoint (POST /verify, POST /settle, GET /supported)` }));
  app.onError(errorHandler({ internalMessage: shortMessage }));
  return app;
}

/** Creates a facilitator and serves it on loopback (port 0 = any free port). */
export async function startFacilitator(opts: FacilitatorOptions & { port?: number; host?: string }): Promise<RunningFacilitator> {
  const facilitator = await createFacilitator(opts);
  const s = await listen(facilitator.app, { port: opts.port, host: opts.host });
  return { facilitator, url: s.url, port: s.port, stop: s.stop };
}
