/**
 * HTTP pieces the APS-1 servers share: the error shape (the package's `{error, aps: "1.0"}`, plus
 * DESIGN's `code`), and reading a request body as a message of one of the protocol's schemas.
 */
import type { Context } from 'hono';
import type { z } from 'zod/v3';
import { HttpError, jsonBody, type ErrorShape } from '../../_shared/http.ts';
import { APS1_VERSION } from '../protocol/schemas.ts';

/** `{"error": message, "code": "bad_request", "aps": "1.0"}`: the package's shape with a machine code. */
export const aps1Errors: ErrorShape = ({ code, message, extra }) => ({ error: message, code, aps: APS1_VERSION, ...extra });

/** Largest request body the servers read (an envelope's prompt is at most 10,000 characters). */
export const BODY_LIMIT = 256 * 1024;

/** The body as a JSON object (400 when it is not JSON, or not an object). */
export async function objectBody(c: Context): Promise<Record<string, unknown>> {
  const body = await jsonBody(c, { limit: BODY_LIMIT, whenEmpty: undefined });
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'Request body must be a JSON object');
  return body as Record<string, unknown>;
}

/** Parse with a v3 schema; 400 naming the first bad field. */
export function parseV3<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  throw new HttpError(400, `Invalid ${what}: ${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`);
}

/** Keys of `value` that `schema` (an object schema) does not know, at the top level. */
export function unknownKeys(value: Record<string, unknown>, known: readonly string[]): string[] {
  return Object.keys(value).filter((k) => !known.includes(k));
}
