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
  BaseError,
  HttpRequestError,
  WaitForTransactionReceiptTimeoutError,
  createPublicClient,
  defineChain,
  encodeFunctionData,
  formatTransactionReceipt,
  getAddress,
  keccak256,
  parseSignature,
  recoverTypedDataAddress,
  toEventSelector,
  zeroHash,
  type Address,
  type Hex,
  type PublicClient,
  type Chain,
  type TransactionReceipt,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { authorizationTypes, eip3009ABI } from '@x402/evm';
import { keepAliveTransport, onlyReads, postJsonRpc, simulatedGas } from '../../../harness/chain/index.ts';
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
  /** Accept an authorization whose validAfter has not passed yet. */
  skipValidAfterCheck?: boolean;
  /** Read validAfter/validBefore against `Date.now()` instead of the chain (the official library's behaviour). */
  hostClock?: boolean;
  /** A send whose answer was lost (connection closed or reset, or a timeout answer) is reported as a failed settlement, even when it landed. */
  lostSendIsFailure?: boolean;
  /** A node that refuses eth_sendRawTransactionSync as an unknown method fails the settlement (no eth_sendRawTransaction fallback). */
  noSendFallback?: boolean;
  /** Any error answer to the send is reported as settlement_pending with the hash, also a refusal (the node never took it). */
  sendErrorIsPending?: boolean;
  /** Any error answer to the send is read as "the node may hold it" and its receipt waited for, also a refusal (nonce too low): settlement_pending for a transaction the node never took. */
  refusedSendAwaited?: boolean;
  /** Reads v only from the parsed signature's v field: a signature that writes v as its parity (0/1) has none, and verify answers 500. */
  vFieldOnly?: boolean;
  /** Handles 65-byte (EOA) signatures only: a smart wallet's longer signature is simulated with an empty v, r, s and refused as invalid. */
  eoaSignaturesOnly?: boolean;
  /** Reports every mined settlement as settled, also one whose transfer reverted (the receipt is not read). */
  revertedIsSettled?: boolean;
  /** settlement_pending is answered but the transaction is not remembered: a retried /settle re-verifies and refuses the now-used nonce. */
  forgetPending?: boolean;
  /** A pending transaction stays remembered after it settled: the same payment sent again is answered success again (a replay is paid for once, served twice). */
  neverClearPending?: boolean;
  /** A broadcast transaction the node does not know is only waited for, never sent again (a send lost before the node read it stays lost). */
  noRebroadcast?: boolean;
  /** Needs eth_createAccessList and the "pending" block tag of its node: a read the node lacks is not asked again another way. */
  noReadFallback?: boolean;
  /**
   * Numbers each send by the chain's pending count alone (no local counter) and reports a refused
   * send as it is (no recount): settlements sent at once take the same nonce, and all but one fail,
   * as with a plain client that reads the nonce per send.
   */
  chainNonceOnly?: boolean;
  /** Remembers each settlement it reported and answers the same payment sent again from that memory, without reading the chain (a reorged-out settlement stays "settled"). */
  settledFromMemory?: boolean;
  /** Reads a call the node failed (a rate limit, an execution timeout) as the token's answer: the payment is refused with a reason about it (eip3009_not_supported, simulation failed). */
  nodeErrorBlamesPayment?: boolean;
  /** Only where its reads of the token answered and the simulation's call failed (a node timing out simulations alone): /verify refuses the payment as simulation failed. */
  simulationErrorBlamesPayment?: boolean;
  /** Reads a failed count of its own sent transactions (the send's nonce) as the payment's failure: /settle answers success:false invalid_exact_evm_transaction_failed. */
  countErrorBlamesPayment?: boolean;
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
  /**
   * Simulate the transfer in `/verify` (default true, as the official one). `/settle` always does:
   * the simulation is its gas estimate, as the official one's `writeContract` estimate is.
   */
  simulate?: boolean;
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
  /**
   * Forgets what it learned about its node (no eth_sendRawTransactionSync, no batches, no
   * eth_createAccessList, no pending block, the priority fee), as a facilitator just started knows
   * nothing: the reference services' reset calls it, so each scenario meets the facilitator a run of
   * it alone would (a scenario whose node refuses the sync send left it on plain sends, and the next
   * scenario's refused-send checks then never met the sync path).
   */
  forgetNode(): void;
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
  /** Content key of the signed authorization (token + every signed field + signature). */
  key: string;
  /** For a settlement: what the transaction needs, read in the re-verify's round trip. */
  send?: { gas: bigint; baseFeePerGas: bigint | null; pendingCount: number; at: { finished: number; inflight: number } };
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

/** A Map that forgets its oldest entries past `max`. */
class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly max: number) {
    super();
  }
  override set(k: K, v: V): this {
    super.set(k, v);
    if (this.size > this.max) this.delete(this.keys().next().value as K);
    return this;
  }
}

/** Identity of one signed authorization for one token (every signed field and the signature). */
function contentKey(token: Address, p: ExactEvmPayload): string {
  const a = p.authorization;
  return [token, a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce, p.signature].join(':').toLowerCase();
}

/**
 * Nonces of the facilitator's own transactions. The chain's pending count is read before every
 * send (in the re-verify's round trip). When none of our sends was in flight or finished while it
 * was read, it is taken as it is, so an evm_revert that undid our transactions cannot leave us
 * counting from a stale cache (viem's nonce manager keeps the highest nonce it handed out, and the
 * next send waits for a gap that never fills). Otherwise the local counter covers the sends the
 * read may not have seen.
 */
export function nonceTracker() {
  let next: number | undefined;
  let inflight = 0;
  let finished = 0;
  return {
    /** Call when the pending count is requested; pass the result to `take`. */
    mark(): { finished: number; inflight: number } {
      return { finished, inflight };
    },
    take(chainPending: number, at: { finished: number; inflight: number }): number {
      const fresh = at.inflight === 0 && inflight === 0 && at.finished === finished;
      const n = fresh || next === undefined ? chainPending : Math.max(chainPending, next);
      next = n + 1;
      inflight++;
      return n;
    },
    /** A send finished; `reached` false = unknown whether the node has it: ask the chain next time. */
    done(reached: boolean): void {
      inflight--;
      finished++;
      if (!reached) next = undefined;
    },
  };
}

/** A JSON-RPC error answer (a revert's message reads "execution reverted: <reason>"). */
class RpcError extends Error {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
  }
  get unsupported(): boolean {
    return this.code === -32601 || this.code === -32004 || /method not found|not supported|does not exist|unsupported/i.test(this.message);
  }
  /** The call ran and reverted (JSON-RPC code 3, or a message naming a revert): an answer about the call, not a failure of the node. */
  get reverted(): boolean {
    return this.code === 3 || /revert/i.test(this.message);
  }
}
class RpcTimeout extends Error {}

type RpcCall = { method: string; params: unknown[] };
type RpcResult = { ok: true; value: unknown } | { ok: false; error: RpcError };

/**
 * JSON-RPC over keep-alive HTTP for the verify/settle path: calls issued together go out as one
 * batch (one round trip; viem's batching waits a timer tick first), each call with its own verdict.
 */
function rpcClient(url: string) {
  let batches = true;
  async function post(body: unknown, ms: number): Promise<unknown> {
    let res: { status: number; text: string };
    try {
      res = await postJsonRpc(url, body as never, ms, { idempotent: onlyReads(Array.isArray(body) ? body : [body as RpcCall]) });
    } catch (err) {
      if ((err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError') throw new RpcTimeout(`no answer from ${url} in ${ms} ms`);
      throw err;
    }
    try {
      return JSON.parse(res.text) as unknown;
    } catch {
      throw new Error(`${url} answered ${res.status} without JSON`);
    }
  }
  const verdict = (r: { result?: unknown; error?: { code?: number; message?: string } } | undefined): RpcResult =>
    r?.error
      ? { ok: false, error: new RpcError(r.error.message ?? 'error', r.error.code) }
      : r && 'result' in r
        ? { ok: true, value: r.result }
        : { ok: false, error: new RpcError('no answer for this call') };
  async function call(c: RpcCall, ms = 30_000): Promise<unknown> {
    const r = verdict((await post({ jsonrpc: '2.0', id: 0, ...c }, ms)) as never);
    if (!r.ok) throw /timeout|timed out/i.test(r.error.message) ? new RpcTimeout(r.error.message) : r.error;
    return r.value;
  }
  async function batch(calls: RpcCall[], ms = 30_000): Promise<RpcResult[]> {
    if (batches && calls.length > 1) {
      const out = await post(
        calls.map((c, id) => ({ jsonrpc: '2.0', id, ...c })),
        ms,
      );
      if (Array.isArray(out)) return calls.map((_, id) => verdict(out.find((r: { id?: unknown }) => r?.id === id)));
      batches = false; // a node that refuses batches answers one error object
    }
    return Promise.all(
      calls.map((c) =>
        call(c, ms).then(
          (value): RpcResult => ({ ok: true, value }),
          (error: unknown): RpcResult => ({ ok: false, error: error instanceof RpcError ? error : new RpcError(shortMessage(error)) }),
        ),
      ),
    );
  }
  return {
    call,
    batch,
    /** Batches again, as if the node had never refused one. */
    forget: () => {
      batches = true;
    },
  };
}

/**
 * An error that says no answer came back (not that the node refused): a transport failure of our
 * JSON-RPC client or viem's, not a JSON-RPC error.
 */
function lostAnswer(err: unknown): boolean {
  if (err instanceof RpcError || err instanceof RpcTimeout) return false;
  if (err instanceof BaseError) return err.walk((e) => e instanceof HttpRequestError && (e as HttpRequestError).status === undefined) !== null;
  return err instanceof Error;
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
  // Polling is only the fallback for nodes without eth_sendRawTransactionSync.
  // Set-up reads and the rare paths (smart-wallet signatures, receipt polling where a node lacks
  // eth_sendRawTransactionSync); verify/settle's hot reads go through `rpc` below.
  const publicClient = createPublicClient({ chain, transport: transport(), pollingInterval: 250 }) as PublicClient;
  const account = privateKeyToAccount(opts.privateKey);
  const faults = opts.faults ?? {};
  const customClock: Clock | undefined = faults.hostClock ? hostClock : opts.clock;
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

  // Content-keyed memory of signatures found valid: a signature's validity does not change between
  // /verify and /settle of one payment, and recovering it is the costliest step done in JS.
  const validSignatures = new BoundedMap<string, true>(4096);
  const simulation = { accessList: true, pendingBlock: true };
  const rpc = rpcClient(opts.rpcUrl);
  const nonces = nonceTracker();
  const sends = { sync: true };
  let priorityFee: Promise<bigint> | undefined;

  // The settlement's calldata by authorization key: /verify's simulation, /settle's and the send
  // itself encode the same call.
  const calldata = new BoundedMap<string, Hex>(1024);
  const transferData = (key: string, payload: ExactEvmPayload): Hex => {
    let data = calldata.get(key);
    if (!data) {
      data = encodeFunctionData({ abi: eip3009ABI, functionName: 'transferWithAuthorization', args: transferArgs(payload) as never });
      calldata.set(key, data);
    }
    return data;
  };

  /** The transfer as a call from our account (what /settle will send). */
  const transferCall = (token: Address, key: string, payload: ExactEvmPayload) => ({ from: account.address, to: token, data: transferData(key, payload) });

  /**
   * The transfer run against the chain without sending it: `eth_createAccessList` (one execution,
   * with its gas figure) or, where the node lacks it, `eth_estimateGas`. Fails exactly when the
   * settlement would revert.
   */
  const simulationCall = (token: Address, key: string, payload: ExactEvmPayload): RpcCall =>
    simulation.accessList ? { method: 'eth_createAccessList', params: [transferCall(token, key, payload), 'latest'] } : { method: 'eth_estimateGas', params: [transferCall(token, key, payload)] };

  function simulationGas(r: RpcResult): { ok: true; value: bigint } | { ok: false; error: unknown } {
    if (!r.ok) return r;
    const gas = simulatedGas(r.value);
    return typeof gas === 'bigint' ? { ok: true, value: gas } : { ok: false, error: new RpcError(gas) };
  }

  /** Chain reads issued together (one batch); a method the node lacks is replaced and asked again. */
  async function readTogether(calls: RpcCall[]): Promise<RpcResult[]> {
    let out = await rpc.batch(calls);
    if (faults.noReadFallback) return out;
    const retry = calls.flatMap((c, i) => {
      const r = out[i]!;
      if (r.ok ? !(c.method === 'eth_getBlockByNumber' && r.value === null) : !r.error.unsupported) return [];
      if (c.method === 'eth_createAccessList') simulation.accessList = false;
      else if (c.method === 'eth_getBlockByNumber' && c.params[0] === 'pending') simulation.pendingBlock = false;
      else return [];
      return [i];
    });
    if (retry.length) {
      const again = await rpc.batch(retry.map((i) => fixCall(calls[i]!)));
      out = out.map((r, i) => (retry.includes(i) ? again[retry.indexOf(i)]! : r));
    }
    return out;
  }
  const fixCall = (c: RpcCall): RpcCall =>
    c.method === 'eth_createAccessList' ? { method: 'eth_estimateGas', params: [c.params[0]] } : c.method === 'eth_getBlockByNumber' ? { method: c.method, params: ['latest', false] } : c;
  // The pending block's time is what the token will judge by; its base fee prices our send.
  const blockCall = (): RpcCall => ({ method: 'eth_getBlockByNumber', params: [simulation.pendingBlock ? 'pending' : 'latest', false] });

  /**
   * Checks a payment in the official order (the first failing check names the reason). `mode`
   * `settle` re-verifies before a send: the transfer is always simulated there (it is also the gas
   * estimate), and the send's nonce and fees are read in the same round trip.
   */
  async function verifyCore(req: FacilitatorRequest, mode: 'verify' | 'settle'): Promise<VerifyOutcome> {
    const forSend = mode === 'settle';
    const doSimulate = forSend || simulate;
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
    const message = {
      from: payer,
      to: getAddress(auth.to),
      value: BigInt(auth.value),
      validAfter: BigInt(auth.validAfter),
      validBefore: BigInt(auth.validBefore),
      nonce: auth.nonce as Hex,
    };
    const key = contentKey(token.address, payload);
    const tokenAddress = token.address;
    // The chain reads the later checks need go out now, together (one batch, one round trip). A
    // transfer simulation that succeeds also proves the signature, the unused nonce and the
    // balance; the token's own reads are made only without one, or to name why it failed.
    const stateCalls = (): RpcCall[] => [
      { method: 'eth_call', params: [{ to: tokenAddress, data: encodeFunctionData({ abi: eip3009ABI, functionName: 'authorizationState', args: [payer, auth.nonce as Hex] }) }, 'latest'] },
      { method: 'eth_call', params: [{ to: tokenAddress, data: encodeFunctionData({ abi: eip3009ABI, functionName: 'balanceOf', args: [payer] }) }, 'latest'] },
    ];
    const useClock = customClock !== undefined && !forSend;
    const calls: RpcCall[] = [
      ...(useClock ? [] : [blockCall()]),
      ...(doSimulate ? [simulationCall(tokenAddress, key, payload)] : stateCalls()),
      ...(forSend ? [{ method: 'eth_getTransactionCount', params: [account.address, 'pending'] }] : []),
    ];
    const countedAt = nonces.mark();
    const out = [...(await readTogether(calls))];
    const blockRead = useClock ? undefined : out.shift()!;
    const simulated = doSimulate ? simulationGas(out.shift()!) : undefined;
    const stateRead = doSimulate ? undefined : [out.shift()!, out.shift()!];
    const txCount = forSend ? out.shift()! : undefined;
    // 6. signature over the token's real EIP-712 domain (a successful simulation ran the token's own
    //    check). `extra.name/version` are what the client signed with; when they differ from the
    //    chain's we say so (the most common field failure).
    if (!faults.skipSignatureCheck && !simulated?.ok && !validSignatures.has(key)) {
      if (!(await signatureValid(token, message, payload.signature as Hex))) {
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
    if (!faults.skipSignatureCheck) validSignatures.set(key, true);
    // 7. recipient
    if (!faults.skipRecipientCheck && !sameAddress(auth.to, n.payTo)) {
      return invalid(Reason.recipientMismatch, payer, `authorization.to ${auth.to} != payTo ${n.payTo}`);
    }
    // 8. time window, against the chain clock. The token requires validAfter < block.timestamp < validBefore.
    if (blockRead && !blockRead.ok) throw blockRead.error;
    const block = blockRead ? (blockRead.value as { timestamp: Hex; baseFeePerGas?: Hex | null }) : undefined;
    const now = customClock ? await customClock() : BigInt(block!.timestamp);
    if (message.validBefore < now + buffer) {
      return invalid(Reason.validBefore, payer, `validBefore ${message.validBefore} < now ${now} + ${buffer}s`);
    }
    if (!faults.skipValidAfterCheck && message.validAfter >= now) {
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
    // A call the node failed (a rate limit, an execution timeout) says nothing about the payment: it
    // is thrown, and answered unexpected_verify_error / unexpected_settle_error (X402-FLT-12).
    const answeredByChain = (e: unknown): void => {
      if (!faults.nodeErrorBlamesPayment && !(e instanceof RpcError && e.reverted)) throw e;
    };
    if (simulated && !simulated.ok && forSend) {
      answeredByChain(simulated.error);
      // Sending would revert: nothing is sent; the revert names the reason (as the official settle's send does).
      return invalid(reasonFromRevert(simulated.error), payer, shortMessage(simulated.error));
    }
    if (!simulated?.ok) {
      // 10. nonce unused and balance sufficient, read from the token
      const [used, balance] = stateRead ?? (await rpc.batch(stateCalls()));
      if (!used!.ok) {
        answeredByChain(used!.error);
        return invalid(Reason.eip3009NotSupported, payer, shortMessage(used!.error));
      }
      if (!balance!.ok) {
        answeredByChain(balance!.error);
        return invalid(Reason.eip3009NotSupported, payer, shortMessage(balance!.error));
      }
      if (!faults.skipNonceCheck && BigInt(used!.value as Hex) !== 0n) return invalid(Reason.nonceUsed, payer, `nonce ${auth.nonce} of ${payer} is already used`);
      const held = BigInt(balance!.value as Hex);
      if (!faults.skipBalanceCheck && held < message.value) {
        return invalid(Reason.insufficientBalance, payer, `balance ${held} < value ${message.value}`);
      }
      // 11. the simulation catches what the reads cannot (paused token, blacklists, smart wallets)
      if (simulated) {
        if (!faults.simulationErrorBlamesPayment) answeredByChain(simulated.error);
        return invalid(Reason.simulationFailed, payer, shortMessage(simulated.error));
      }
    }
    const ctx: VerifiedContext = { token, payload, network: n.reqNetwork, payer, key };
    if (forSend) {
      if (!txCount!.ok) {
        if (faults.countErrorBlamesPayment) return invalid(Reason.transactionFailed, payer, shortMessage(txCount!.error));
        throw txCount!.error;
      }
      const baseFee = block?.baseFeePerGas;
      ctx.send = { gas: simulated!.ok ? simulated!.value : 0n, baseFeePerGas: baseFee ? BigInt(baseFee) : null, pendingCount: Number(txCount!.value as Hex), at: countedAt };
    }
    return { response: { isValid: true, payer }, ctx };
  }

  /** A signature checked without the token: locally for an EOA, else by the chain (ERC-1271, ERC-6492). */
  async function signatureValid(token: TokenInfo, message: { from: Address; to: Address; value: bigint; validAfter: bigint; validBefore: bigint; nonce: Hex }, signature: Hex): Promise<boolean> {
    const domain = { name: token.name, version: token.version, chainId, verifyingContract: token.address };
    const typed = { domain, types: authorizationTypes, primaryType: 'TransferWithAuthorization' as const, message, signature };
    const payer = message.from;
    try {
      if (signature.length === 132 && (await recoverTypedDataAddress(typed)) === payer) return true;
    } catch {
      // not a recoverable 65-byte signature
    }
    try {
      // ERC-1271 wallets (whose signatures may also be 65 bytes) and ERC-6492.
      const isEoa65 = signature.length === 132 && ((await publicClient.getCode({ address: payer })) ?? '0x') === '0x';
      return !isEoa65 && (await publicClient.verifyTypedData({ address: payer, ...typed }));
    } catch {
      return false;
    }
  }

  function transferArgs(payload: ExactEvmPayload): readonly unknown[] {
    const a = payload.authorization;
    const base = [getAddress(a.from), getAddress(a.to), BigInt(a.value), BigInt(a.validAfter), BigInt(a.validBefore), a.nonce as Hex] as const;
    // A 65-byte signature whose v byte is no valid v goes out as bytes: the token refuses it (invalid_signature, not a 500).
    if (faults.eoaSignaturesOnly && payload.signature.length !== 132) return [...base, 27, zeroHash, zeroHash];
    const sig = payload.signature.length === 132 ? splitSignature(payload.signature as Hex) : undefined;
    if (sig) {
      const v = sig.v !== undefined || faults.vFieldOnly ? Number(sig.v) : sig.yParity + 27;
      return [...base, v, sig.r, sig.s];
    }
    return [...base, payload.signature as Hex];
  }

  // Settles of one authorization run one after another, so a concurrent duplicate sees the used nonce.
  const inflight = new Map<string, Promise<unknown>>();

  // Broadcast transactions whose receipt we have not seen yet, by authorization key. A retried
  // settle of the same authorization waits for this transaction instead of failing on the now-used
  // nonce, so a slow chain does not turn into "not paid" (x402 issue #1062, PR #3083).
  const pending = new Map<string, { hash: Hex; raw: Hex; ctx: VerifiedContext }>();

  /** The receipt's verdict: success only if the token moved exactly this authorization. */
  function judge(receipt: TransactionReceipt, ctx: VerifiedContext): SettleResponse {
    const { token, payload, payer, network } = ctx;
    const hash = receipt.transactionHash;
    if (faults.revertedIsSettled) return { success: true, transaction: hash, network, payer };
    if (receipt.status !== 'success') return { success: false, errorReason: Reason.transactionFailed, transaction: hash, network, payer };
    const a = payload.authorization;
    const moved = receipt.logs.some((l) => sameAddress(l.address, token.address) && isTransfer(l, a.from, a.to, BigInt(a.value)));
    if (!moved) return { success: false, errorReason: Reason.transferEventMismatch, transaction: hash, network, payer };
    return { success: true, transaction: hash, network, payer };
  }

  /** Whether the node knows a transaction (pending or mined). */
  const isKnown = (hash: Hex) =>
    publicClient.getTransaction({ hash }).then(
      () => true,
      () => false,
    );

  /**
   * Waits for a broadcast transaction (re-broadcasting it if the node lost it) until the receipt
   * timeout; a read that fails on the way (a busy node, a reset socket) is asked again, since
   * giving up early would answer settlement_pending for a payment about to land.
   */
  async function confirm(key: string, hash: Hex, raw: Hex, ctx: VerifiedContext): Promise<SettleResponse> {
    const deadline = Date.now() + receiptTimeoutMs;
    let receipt: TransactionReceipt | undefined;
    let failure: unknown;
    while (!receipt) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      try {
        if (!faults.noRebroadcast && !(await isKnown(hash))) await publicClient.sendRawTransaction({ serializedTransaction: raw }).catch(() => undefined);
        receipt = await publicClient.waitForTransactionReceipt({ hash, timeout: left });
      } catch (err) {
        failure = err;
        if (err instanceof WaitForTransactionReceiptTimeoutError) break;
        await new Promise((r) => setTimeout(r, Math.min(250, Math.max(0, deadline - Date.now()))));
      }
    }
    if (!receipt) {
      if (!faults.forgetPending) pending.set(key, { hash, raw, ctx });
      // Broadcast but unconfirmed: report the hash so the caller can reconcile instead of charging twice.
      return { success: false, errorReason: Reason.settlementPending, errorMessage: shortMessage(failure ?? 'no receipt in time'), transaction: hash, network: ctx.network, payer: ctx.payer };
    }
    if (!faults.neverClearPending) pending.delete(key);
    return judge(receipt, ctx);
  }

  /**
   * Signs the transfer and sends it with eth_sendRawTransactionSync (the receipt in the same round
   * trip); nodes without that method get eth_sendRawTransaction and receipt polling instead.
   */
  async function broadcast(settleKey: string, ctx: VerifiedContext): Promise<SettleResponse> {
    const { token, payload, network, payer } = ctx;
    const send = ctx.send!;
    priorityFee ??= rpc.call({ method: 'eth_maxPriorityFeePerGas', params: [] }).then(
      (v) => BigInt(v as Hex),
      () => 1_000_000_000n,
    );
    const tip = await priorityFee;
    const fees =
      send.baseFeePerGas === null
        ? { type: 'legacy' as const, gasPrice: await publicClient.getGasPrice() }
        : { type: 'eip1559' as const, maxFeePerGas: send.baseFeePerGas * 2n + tip, maxPriorityFeePerGas: tip };
    const data = transferData(ctx.key, payload);
    let count = { pending: send.pendingCount, at: send.at };
    for (let attempt = 0; ; attempt++) {
      const nonce = faults.chainNonceOnly ? count.pending : nonces.take(count.pending, count.at);
      let reached = false;
      let sent: { hash: Hex; raw: Hex } | undefined;
      try {
        const raw = await account.signTransaction({ chainId, to: token.address, data, gas: (send.gas * 6n) / 5n + 10_000n, nonce, ...fees } as never);
        const hash = keccak256(raw);
        sent = { hash, raw };
        if (sends.sync) {
          try {
            const receipt = await rpc.call({ method: 'eth_sendRawTransactionSync', params: [raw] }, receiptTimeoutMs);
            reached = true;
            return receipt ? judge(formatTransactionReceipt(receipt as never), ctx) : await confirm(settleKey, hash, raw, ctx);
          } catch (err) {
            if ((err instanceof RpcTimeout && !faults.lostSendIsFailure) || faults.sendErrorIsPending) {
              // The node may hold it: the hash is known, so a retry reconciles instead of paying twice.
              reached = true;
              if (!faults.forgetPending) pending.set(settleKey, { hash, raw, ctx });
              return { success: false, errorReason: Reason.settlementPending, errorMessage: shortMessage(err), transaction: hash, network, payer };
            }
            if (!(err instanceof RpcError)) throw err;
            if (!err.unsupported || faults.noSendFallback) throw err;
            sends.sync = false;
          }
        }
        await publicClient.sendRawTransaction({ serializedTransaction: raw });
        reached = true;
        return await confirm(settleKey, hash, raw, ctx);
      } catch (err) {
        // The answer to our send was lost (the connection closed or reset), or was an error that does
        // not say the node refused it (a timeout in any wording, a gateway's 504, "already known"
        // after the transport retried a send the node had): the node may hold the transaction. Look
        // for it by its hash instead of reporting a failure that landed or signing another one.
        if (sent && !faults.lostSendIsFailure && (faults.refusedSendAwaited || lostAnswer(err) || (await isKnown(sent.hash)))) {
          reached = true;
          return await confirm(settleKey, sent.hash, sent.raw, ctx);
        }
        // Someone else (or a count read before our last send landed) took this nonce: count again, once.
        // The node's words are in the message's details when viem wrapped them ("Transaction creation failed.").
        if (attempt > 0 || faults.chainNonceOnly || !/nonce too low|already known|replacement transaction underpriced/i.test(`${shortMessage(err)}\n${(err as Error)?.message ?? ''}`)) {
          return { success: false, errorReason: reasonFromRevert(err), errorMessage: shortMessage(err), transaction: '', network, payer };
        }
      } finally {
        nonces.done(reached);
      }
      const at = nonces.mark();
      count = { pending: Number(await rpc.call({ method: 'eth_getTransactionCount', params: [account.address, 'pending'] })), at };
    }
  }

  // The settledFromMemory defect's memory (empty unless that switch is on).
  const settled = new Map<string, SettleResponse>();

  async function settleOnce(key: string, req: FacilitatorRequest): Promise<SettleResponse> {
    if (faults.settledFromMemory) {
      const remembered = settled.get(key);
      if (remembered) return remembered;
      const out = await settleFresh(key, req);
      if (out.success) settled.set(key, out);
      return out;
    }
    return settleFresh(key, req);
  }

  async function settleFresh(key: string, req: FacilitatorRequest): Promise<SettleResponse> {
    const earlier = pending.get(key);
    if (earlier) return confirm(key, earlier.hash, earlier.raw, earlier.ctx);
    const n = normalize(req);
    const { response, ctx } = await verifyCore(req, 'settle');
    if (!response.isValid || !ctx?.send) {
      return {
        success: false,
        errorReason: response.invalidReason ?? Reason.unexpectedSettle,
        ...(response.invalidMessage ? { errorMessage: response.invalidMessage } : {}),
        transaction: '',
        network: n.reqNetwork,
        ...(response.payer ? { payer: response.payer } : {}),
      };
    }
    return broadcast(key, ctx);
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
    verify: async (req) => (await verifyCore(req, 'verify')).response,
    settle,
    supported,
    forgetNode() {
      sends.sync = true;
      simulation.accessList = true;
      simulation.pendingBlock = true;
      priorityFee = undefined;
      rpc.forget();
    },
    app: undefined as unknown as Hono,
  };
  (facilitator as { app: Hono }).app = buildApp(facilitator);
  return facilitator;
}

const TRANSFER_TOPIC = toEventSelector('Transfer(address,address,uint256)');
/**
 * Whether a log is the ERC-20 Transfer event of `value` from `from` to `to`: the logs a token emits,
 * read word by word (decoding every log of the receipt through the ABI cost more than the rest of
 * the verdict). A log of another shape (other topics, data not one word) is no such transfer.
 */
export function isTransfer(log: { topics: readonly Hex[]; data: Hex }, from: string, to: string, value: bigint): boolean {
  const [topic, fromWord, toWord] = log.topics;
  return log.topics.length === 3 && topic?.toLowerCase() === TRANSFER_TOPIC && log.data.length === 66 && wordIsAddress(fromWord!, from) && wordIsAddress(toWord!, to) && BigInt(log.data) === value;
}
/** A 32-byte word holding exactly this address (zero-padded, as an indexed address topic is). */
const wordIsAddress = (word: Hex, address: string) => word.length === 66 && /^0x0{24}$/.test(word.slice(0, 26)) && word.slice(26).toLowerCase() === address.slice(2).toLowerCase();

/** Request bodies above this are refused with 413 (a payment is well under 4 KB). */
export const MAX_BODY_BYTES = 64 * 1024;

type ParsedBody = { ok: true; req: FacilitatorRequest } | { ok: false; reason: string; message: string };

// Requests read, by their text: a resource sends /settle the very body it sent /verify, and
// validating a request costs more than the rest of reading it. Parsed requests are never changed.
const parsedRequests = new BoundedMap<string, ParsedBody>(256);

async function readRequest(c: Context): Promise<ParsedBody> {
  // Past MAX_BODY_BYTES this throws a 413, answered by the app's error handler.
  const text = await readBody(c, MAX_BODY_BYTES);
  let parsed = parsedRequests.get(text);
  if (!parsed) {
    parsed = parseRequest(text);
    if (text.length <= 8192) parsedRequests.set(text, parsed);
  }
  return parsed;
}

function parseRequest(text: string): ParsedBody {
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

/** r, s and v of a 65-byte signature; undefined when its v byte is no valid v. */
function splitSignature(signature: Hex): ReturnType<typeof parseSignature> | undefined {
  try {
    return parseSignature(signature);
  } catch {
    return undefined;
  }
}

function buildApp(f: Facilitator): Hono {
  /** The answer of a /settle that failed before sending anything: no transaction. */
  const settleFailure = (code: string, message: string, network: string) => ({
    success: false,
    errorReason: code,
    errorMessage: message,
    transaction: '',
    network,
    error: { code, message },
  });
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
    // A body whose requirements could not be read names no network.
    if (!r.ok) return c.json(settleFailure(r.reason, r.message, ''), 400);
    try {
      return c.json(await f.settle(r.req));
    } catch (err) {
      return c.json(settleFailure(Reason.unexpectedSettle, shortMessage(err), r.req.paymentRequirements.network), 500);
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
