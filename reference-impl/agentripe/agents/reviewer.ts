/**
 * The scripted reviewer: an OpenAI-compatible chat-completions endpoint that answers every review
 * with the documented review-fixture rule (protocol/review-fixture.ts). A target certifies the
 * review requirements by pointing its AI reviewer here (base URL `<url>/v1`, any model name).
 *
 * It reads the review inputs from the last user message: the JSON object the seed's inputs make
 * (`reviewer_request`, `task_detail`, `task_metadata`, `result`, in any common spelling). A message
 * that is not such JSON (a server with its own prompt format) is judged as plain text: rejected iff
 * it contains the fixture's REJECT-ME marker, which is how the scenarios' bad results are written,
 * while their good results contain none. The verdict is returned as the message content
 * `{"approved": boolean, "reason": string}`, the seed's verdict shape.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { REJECT_MARKER, reviewByFixtureRule, type ReviewInput, type ReviewVerdict } from '../protocol/review-fixture.ts';

/** One review the fixture answered (for tests and `amh up` transcripts). */
export interface FixtureReview {
  input: ReviewInput | { text: string };
  verdict: ReviewVerdict;
}

/** A running fixture reviewer. `url` is the base to configure (`…/v1`). */
export interface FixtureReviewer {
  url: string;
  port: number;
  reviews: FixtureReview[];
  stop(): Promise<void>;
}

function pick(o: Record<string, unknown>, ...keys: string[]): unknown {
  for (const k of keys) if (k in o) return o[k];
  return undefined;
}

/** Review inputs from a user message, or null when the message is not the seed's inputs as JSON. */
export function reviewInputFrom(content: string): ReviewInput | null {
  let o: unknown;
  try {
    o = JSON.parse(content);
  } catch {
    return null;
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) return null;
  const r = o as Record<string, unknown>;
  const request = pick(r, 'reviewer_request', 'reviewerRequest');
  if (typeof request !== 'string' || !('result' in r)) return null;
  const detail = pick(r, 'task_detail', 'taskDetail');
  return { reviewerRequest: request, taskDetail: typeof detail === 'string' ? detail : null, taskMetadata: pick(r, 'task_metadata', 'taskMetadata') ?? null, result: r.result };
}

/**
 * A scripted verdict for review inputs the caller wants to decide itself (a simulated reviewer that
 * colludes with a vendor); undefined leaves the input to the fixture rule.
 */
export type ReviewScript = (input: ReviewInput) => ReviewVerdict | undefined;

/** The verdict for one chat request body (see the module comment); `script` decides first when given. */
export function judge(body: unknown, script?: ReviewScript): FixtureReview {
  const messages = (body as { messages?: { role?: string; content?: unknown }[] } | null)?.messages ?? [];
  const text = (c: unknown): string => (typeof c === 'string' ? c : Array.isArray(c) ? c.map((p) => (p as { text?: string })?.text ?? '').join('') : '');
  const user = [...messages].reverse().find((m) => m.role === 'user');
  const content = text(user?.content);
  const input = reviewInputFrom(content);
  if (input) return { input, verdict: script?.(input) ?? reviewByFixtureRule(input) };
  const rejected = content.includes(REJECT_MARKER) || !content.trim();
  return {
    input: { text: content },
    verdict: rejected ? { approved: false, reason: content.trim() ? `Result contains ${REJECT_MARKER}` : 'Nothing to review' } : { approved: true, reason: 'No REJECT-ME marker in the reviewed text' },
  };
}

async function readBody(req: IncomingMessage, limit = 1_000_000): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new Error('body too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Start the fixture reviewer on `host:port` (port 0 = a free one); `script` (optional) decides some reviews itself. */
export async function startFixtureReviewer(o: { host?: string; port?: number; script?: ReviewScript } = {}): Promise<FixtureReviewer> {
  const reviews: FixtureReview[] = [];
  const send = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server: Server = createServer(async (req, res) => {
    try {
      const path = new URL(req.url ?? '/', 'http://x').pathname.replace(/\/+$/, '');
      if (req.method === 'GET' && path.endsWith('/models')) return send(res, 200, { object: 'list', data: [{ id: 'review-fixture', object: 'model', owned_by: 'agentmarket-harness' }] });
      if (req.method !== 'POST' || !path.endsWith('/chat/completions')) return send(res, 404, { error: { message: `no route ${req.method} ${path}`, type: 'invalid_request_error' } });
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req));
      } catch (e) {
        return send(res, 400, { error: { message: `request body is not JSON: ${(e as Error).message}`, type: 'invalid_request_error' } });
      }
      const r = judge(body, o.script);
      reviews.push(r);
      send(res, 200, {
        id: `chatcmpl-fixture-${reviews.length}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: (body as { model?: string }).model ?? 'review-fixture',
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: JSON.stringify(r.verdict) } }],
        usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
      });
    } catch (e) {
      send(res, 500, { error: { message: (e as Error).message, type: 'server_error' } });
    }
  });
  const host = o.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/v1`,
    port,
    reviews,
    stop: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
