/** A JSON exchange as the agents report it: the status and the parsed body (or the raw text). */
export interface Answer<T = any> {
  status: number;
  body: T;
  /** The raw text of the answer (what a leak check scans). */
  text: string;
}

/** Sends one JSON request and reads the whole answer; never throws on an HTTP status. */
export async function exchange(fetchImpl: typeof fetch, url: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetchImpl(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    /* keep the text */
  }
  return { status: res.status, body, text };
}

/** Unix seconds from a clock. */
export type Clock = () => Promise<number>;
export const wallClock: Clock = async () => Math.floor(Date.now() / 1000);
