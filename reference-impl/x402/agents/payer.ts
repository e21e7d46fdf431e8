/**
 * A scripted x402 payer: reads a 402 challenge (v2 `PAYMENT-REQUIRED` header and v1 JSON body),
 * picks the `exact` option in a given token, signs an EIP-3009 payment with validity windows relative
 * to the clock it is given (the chain's, in scenarios), sends it and decodes the settlement header.
 *
 * Honest by default; `Tamper` makes the deliberately broken payments an attacker sends. Speaks only
 * the protocol library, so it drives any x402 resource server.
 */
import type { Address, Hex } from 'viem';
import { keepAliveFetch, keepAliveText, type TextAnswer } from '../../../harness/chain/index.ts';
import { makeV1Payload, makeV2Payload, type AuthorizationOverrides, type SigningDomain } from '../protocol/payload.ts';
import { caip2, decodeHeader, encodeHeader, RequirementsV1Schema, RequirementsV2Schema, v1NetworkName, type RequirementsV1, type RequirementsV2 } from '../protocol/wire.ts';

/** A parsed 402 challenge. */
export interface Challenge {
  status: number;
  /** v2 `PAYMENT-REQUIRED` header, decoded (absent if the server sent none). */
  v2?: { x402Version: number; accepts: RequirementsV2[]; error?: string; resource?: unknown };
  /** v1 body challenge (absent if the body is not one). */
  v1?: { x402Version: number; accepts: RequirementsV1[]; error?: string };
  /** Why the v2 header could not be used, if present but bad. */
  v2Error?: string;
  body: unknown;
  /** The response headers (CORS exposure, content type). */
  headers: Headers;
}

/** A response body as JSON when it parses, else as text (null when empty). */
export async function readBody(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}

/** Parse a response into its v2 header and v1 body challenges. */
export async function parseChallenge(res: Response): Promise<Challenge> {
  const body = await readBody(res);
  const out: Challenge = { status: res.status, body, headers: res.headers };
  const h = res.headers.get('payment-required');
  if (h) {
    try {
      const d = decodeHeader(h) as { x402Version?: unknown; accepts?: unknown[]; error?: string; resource?: unknown };
      const accepts = (d.accepts ?? []).map((a) => RequirementsV2Schema.parse(a));
      out.v2 = { x402Version: Number(d.x402Version), accepts, error: d.error, resource: d.resource };
    } catch (e) {
      out.v2Error = (e as Error).message;
    }
  }
  const b = body as { x402Version?: unknown; accepts?: unknown[]; error?: string } | null;
  if (b && typeof b === 'object' && b.x402Version === 1 && Array.isArray(b.accepts)) {
    const accepts = b.accepts.flatMap((a) => {
      const r = RequirementsV1Schema.safeParse(a);
      return r.success ? [r.data] : [];
    });
    out.v1 = { x402Version: 1, accepts, error: b.error };
  }
  return out;
}

/** The v2 option paying in `token` on `chainId` with the exact scheme, if offered. */
export function pickV2(c: Challenge, chainId: number, token?: Address): RequirementsV2 | undefined {
  return c.v2?.accepts.find((r) => r.scheme === 'exact' && r.network === caip2(chainId) && (!token || r.asset.toLowerCase() === token.toLowerCase()));
}

/** The v1 option paying in `token` on `chainId`, if offered. */
export function pickV1(c: Challenge, chainId: number, token?: Address): RequirementsV1 | undefined {
  const n = v1NetworkName(chainId);
  return c.v1?.accepts.find((r) => r.scheme === 'exact' && r.network === n && (!token || r.asset.toLowerCase() === token.toLowerCase()));
}

/** How to tamper with a payment before sending it. */
export interface Tamper {
  auth?: AuthorizationOverrides;
  domain?: Partial<SigningDomain>;
  accepted?: Partial<RequirementsV2>;
}

/** The decoded settlement header (`PAYMENT-RESPONSE` or `X-PAYMENT-RESPONSE`), if any. */
export interface Settlement {
  success?: boolean;
  transaction?: string;
  payer?: string;
  network?: string;
  errorReason?: string;
}

/** The settlement header of a response; `{success: undefined}` when present but undecodable. */
export function settlementOf(res: Response): Settlement | undefined {
  const h = res.headers.get('payment-response') ?? res.headers.get('x-payment-response');
  if (!h) return undefined;
  try {
    return decodeHeader(h) as Settlement;
  } catch {
    return { success: undefined };
  }
}

/** How a request is sent: method, JSON body and extra headers (x402 resources may be POST routes). */
export interface RequestShape {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A configured payer. `now()` is the clock validity windows are relative to (chain time in scenarios). */
export interface PayerConfig {
  privateKey: Hex;
  chainId: number;
  now: () => Promise<bigint>;
  fetchImpl?: typeof fetch;
}

/** A scripted x402 payer. */
export interface Payer {
  /** Request without payment and parse the challenge. */
  challenge(url: string, shape?: RequestShape): Promise<Challenge>;
  /** The v2 `PAYMENT-SIGNATURE` header value paying `req` (optionally tampered with). */
  v2Header(req: RequirementsV2, tamper?: Tamper): Promise<{ header: string; payload: Record<string, unknown> }>;
  /** The v1 `X-PAYMENT` header value paying `req`. */
  v1Header(req: RequirementsV1, tamper?: { auth?: AuthorizationOverrides; network?: string; domain?: Partial<SigningDomain> }): Promise<{ header: string; payload: Record<string, unknown> }>;
  /** Send a request carrying a payment header (v2 `PAYMENT-SIGNATURE` unless `version: 1` or `headerName`). */
  send(url: string, header: string, shape?: RequestShape & { version?: 1 | 2; headerName?: string }): Promise<{ res: Response; body: unknown }>;
}

function requestInit(shape: RequestShape, extra: Record<string, string> = {}): RequestInit {
  const headers: Record<string, string> = { ...shape.headers, ...extra };
  if (shape.body !== undefined) headers['content-type'] ??= 'application/json';
  return { method: shape.method ?? 'GET', headers, body: shape.body === undefined ? undefined : typeof shape.body === 'string' ? shape.body : JSON.stringify(shape.body) };
}

/** Request `url` without payment and parse the challenge. */
export async function requestChallenge(f: typeof fetch, url: string, shape: RequestShape = {}): Promise<Challenge> {
  return parseChallenge(await f(url, requestInit(shape)));
}

/** Send a request carrying a payment header (v2 `PAYMENT-SIGNATURE` unless `version: 1` or `headerName`). */
export async function sendWithPayment(f: typeof fetch, url: string, header: string, shape: RequestShape & { version?: 1 | 2; headerName?: string } = {}): Promise<{ res: Response; body: unknown }> {
  const name = shape.headerName ?? (shape.version === 1 ? 'X-PAYMENT' : 'PAYMENT-SIGNATURE');
  const init = requestInit(shape, { [name]: header });
  // Read once and hand back an unread copy: cheaper than clone(), which tees the body stream. Our
  // own keep-alive client gives the text without a Response to read first.
  const answer = f === (keepAliveFetch as typeof fetch) ? await keepAliveText(url, init) : await readWhole(await f(url, init));
  const { text } = answer;
  const copy = new Response([204, 205, 304].includes(answer.status) ? null : text, { status: answer.status, statusText: answer.statusText, headers: answer.headers });
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  return { res: copy, body };
}

async function readWhole(res: Response): Promise<TextAnswer> {
  return { status: res.status, statusText: res.statusText, headers: [...res.headers], text: await res.text() };
}

/** Create a payer. */
export function createPayer(cfg: PayerConfig): Payer {
  const f = cfg.fetchImpl ?? fetch;
  return {
    challenge: (url, shape = {}) => requestChallenge(f, url, shape),
    async v2Header(req, tamper = {}) {
      const payload = await makeV2Payload(cfg.privateKey, req, { now: await cfg.now(), chainId: cfg.chainId, ...tamper });
      return { header: encodeHeader(payload), payload };
    },
    async v1Header(req, tamper = {}) {
      const payload = await makeV1Payload(cfg.privateKey, req, { now: await cfg.now(), chainId: cfg.chainId, ...tamper });
      return { header: encodeHeader(payload), payload };
    },
    send: (url, header, shape = {}) => sendWithPayment(f, url, header, shape),
  };
}
