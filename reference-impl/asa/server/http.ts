/** Small node:http helpers shared by the asa servers: JSON answers, `{"error":{code,message}}` refusals, bounded body reads. */
import type { IncomingMessage, ServerResponse } from 'node:http';

export const json = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));

export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(json(body));
}

export function refuse(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string | string[]> = {}): void {
  send(res, status, { error: { code, message } }, headers);
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Read the whole body (a client's connection stays usable whatever the answer); null when over `limit`. */
export async function readRaw(req: IncomingMessage, limit = 65_536): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size <= limit) chunks.push(c as Buffer);
  }
  return size > limit ? null : Buffer.concat(chunks).toString('utf8');
}

/** Parse a body read by readRaw as a JSON object; HttpError 400/413 otherwise. */
export function parseJsonBody(text: string | null): Record<string, unknown> {
  if (text === null) throw new HttpError(413, 'too_large', 'body too large');
  if (!text) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'bad_json', 'body is not JSON');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new HttpError(400, 'bad_body', 'body must be a JSON object');
  return v as Record<string, unknown>;
}

/** Read and parse a JSON object body (at most 64 KiB). */
export async function readJson(req: IncomingMessage, limit = 65_536): Promise<Record<string, unknown>> {
  return parseJsonBody(await readRaw(req, limit));
}

/** Run a handler; HttpErrors become their 4xx, anything else a 500 (a server fault). */
export async function guard(res: ServerResponse, f: () => Promise<void>): Promise<void> {
  try {
    await f();
  } catch (e) {
    if (e instanceof HttpError) refuse(res, e.status, e.code, e.message);
    else refuse(res, 500, 'internal', (e as Error).message);
  }
}
