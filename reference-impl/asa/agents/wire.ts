/**
 * A raw NIP-01 WebSocket client for checking relays. nostr-tools' Relay re-checks every event it
 * receives against the subscription's filters and drops what does not match, which would hide
 * exactly the relay bugs a conformance check looks for; this client shows the relay's frames as
 * they are.
 */
import WebSocket from 'ws';
import { finalizeEvent } from 'nostr-tools/pure';
import type { NostrEvent } from '../protocol/events.ts';

export type Frame = unknown[];

export class RelayUnreachable extends Error {}

/** ws:// for an http:// URL (a target may give a relay as either). */
export const wsUrl = (u: string): string => u.replace(/^http(s?):\/\//i, 'ws$1://');

export class WireClient {
  private frames: Frame[] = [];
  private waiters: (() => void)[] = [];
  challenge?: string;
  closed = false;

  private constructor(
    readonly url: string,
    private readonly ws: WebSocket,
  ) {
    ws.on('message', (d) => {
      let f: unknown;
      try {
        f = JSON.parse(d.toString());
      } catch {
        return;
      }
      if (!Array.isArray(f)) return;
      if (f[0] === 'AUTH' && typeof f[1] === 'string') this.challenge = f[1];
      this.frames.push(f);
      for (const w of this.waiters.splice(0)) w();
    });
    ws.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static connect(url: string, timeoutMs = 5000): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(wsUrl(url), { handshakeTimeout: timeoutMs });
      } catch (e) {
        return reject(new RelayUnreachable(`cannot open ${url}: ${(e as Error).message}`));
      }
      ws.once('open', () => resolve(new WireClient(url, ws)));
      ws.once('error', (e) => reject(new RelayUnreachable(`cannot open a WebSocket to ${url}: ${e.message}`)));
      ws.once('unexpected-response', (_req, res) => {
        reject(new RelayUnreachable(`${url} answered HTTP ${res.statusCode} to the WebSocket upgrade`));
        ws.terminate();
      });
    });
  }

  send(msg: unknown): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** Send bytes or text exactly as given: a text frame (whatever the bytes are) or, with `binary`, a binary one. */
  sendRaw(data: string | Uint8Array, binary = false): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(data, { binary });
  }

  /** The frames received and not yet taken by {@link next}, removed from the buffer. */
  drain(): Frame[] {
    return this.frames.splice(0);
  }

  /** Wait for the first frame (from now on, or already buffered) that `pick` accepts; null on timeout. */
  async next(pick: (f: Frame) => boolean, timeoutMs = 3000): Promise<Frame | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex(pick);
      if (i >= 0) return this.frames.splice(i, 1)[0]!;
      if (this.closed || Date.now() >= deadline) return null;
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Publish; the OK frame as {ok, message}, or null when the relay sent none in time. */
  async publish(e: NostrEvent, timeoutMs = 3000): Promise<{ ok: boolean; message: string } | null> {
    this.send(['EVENT', e]);
    const f = await this.next((x) => x[0] === 'OK' && x[1] === e.id, timeoutMs);
    return f ? { ok: f[2] === true, message: String(f[3] ?? '') } : null;
  }

  /** REQ and collect the stored events until EOSE (or CLOSED); `eose` false when neither came in time. */
  async query(filters: object[], timeoutMs = 3000): Promise<{ events: NostrEvent[]; eose: boolean; closed?: string }> {
    const sub = `q${Math.random().toString(36).slice(2, 10)}`;
    this.send(['REQ', sub, ...filters]);
    const events: NostrEvent[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = await this.next((x) => (x[0] === 'EVENT' || x[0] === 'EOSE' || x[0] === 'CLOSED') && x[1] === sub, Math.max(1, deadline - Date.now()));
      if (!f) return { events, eose: false };
      if (f[0] === 'EVENT') events.push(f[2] as NostrEvent);
      else {
        if (f[0] === 'EOSE') this.send(['CLOSE', sub]);
        return f[0] === 'EOSE' ? { events, eose: true } : { events, eose: false, closed: String(f[2] ?? '') };
      }
    }
  }

  /** NIP-42: sign the challenge with `sk`; the OK as {ok, message} (null: no challenge or no answer). */
  async auth(sk: Uint8Array, o: { challenge?: string; relay?: string } = {}): Promise<{ ok: boolean; message: string } | null> {
    if (!this.challenge) await this.next((f) => f[0] === 'AUTH', 2000);
    const challenge = o.challenge ?? this.challenge;
    if (!challenge) return null;
    const e = finalizeEvent(
      {
        kind: 22242,
        created_at: Math.floor(Date.now() / 1000),
        tags: [
          ['relay', o.relay ?? wsUrl(this.url)],
          ['challenge', challenge],
        ],
        content: '',
      },
      sk,
    ) as NostrEvent;
    this.send(['AUTH', e]);
    const f = await this.next((x) => x[0] === 'OK' && x[1] === e.id, 3000);
    return f ? { ok: f[2] === true, message: String(f[3] ?? '') } : null;
  }

  close(): void {
    this.ws.terminate();
  }
}
