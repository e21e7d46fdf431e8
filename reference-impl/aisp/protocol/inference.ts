/**
 * The lab inference server's deterministic pricing and answers (profile AISP-PROF-18): a completion
 * is a fixed function of the request, its tokens are counted the same way every time, and each
 * token costs `diemUnitsPerToken` DIEM base units. A third-party Venice-compatible server may price
 * differently; the scenarios then judge consumption by what its own rate_limits reports.
 */
import { createHash } from 'node:crypto';
import { AISP_PROFILE } from './profile.ts';
import type { ChatRequest } from './wire.ts';

/** Tokens of a text: one per 4 UTF-8 bytes, rounded up, at least 1. */
export function countTokens(text: string): number {
  return Math.max(1, Math.ceil(Buffer.byteLength(text, 'utf8') / 4));
}

/** Prompt tokens of a chat request: the sum over its messages. */
export function promptTokens(req: Pick<ChatRequest, 'messages'>): number {
  return req.messages.reduce((n, m) => n + countTokens(m.content), 0);
}

/** Completion tokens: the profile's fixed count, or fewer when `max_tokens` asks for fewer. */
export function completionTokens(req: Pick<ChatRequest, 'max_tokens'>): number {
  return Math.min(AISP_PROFILE.completionTokens, req.max_tokens ?? AISP_PROFILE.completionTokens);
}

/** What one chat completion costs in DIEM base units. */
export function inferenceCost(req: Pick<ChatRequest, 'messages' | 'max_tokens'>): bigint {
  return BigInt(promptTokens(req) + completionTokens(req)) * AISP_PROFILE.diemUnitsPerToken;
}

/** The deterministic answer to a request: the same model and messages always give the same text. */
export function deterministicAnswer(req: Pick<ChatRequest, 'model' | 'messages' | 'max_tokens'>): string {
  const h = createHash('sha256')
    .update(JSON.stringify([req.model, req.messages.map((m) => [m.role, m.content])]))
    .digest('hex');
  const words = ['lab', 'answer', h.slice(0, 8), h.slice(8, 16), h.slice(16, 24), h.slice(24, 32), h.slice(32, 40), h.slice(40, 48)];
  return words.slice(0, completionTokens(req)).join(' ');
}

/** Epoch number of a Unix-seconds time (epochs start at 00:00 UTC). */
export function epochOf(nowS: number): number {
  return Math.floor(nowS / AISP_PROFILE.epochSeconds);
}

/** When the next epoch begins (ISO 8601, 00:00 UTC of the next day). */
export function nextEpochBegins(nowS: number): string {
  return new Date((epochOf(nowS) + 1) * AISP_PROFILE.epochSeconds * 1000).toISOString();
}

/** The model the lab inference server serves. */
export const LAB_MODEL = 'diem-lab-1';
