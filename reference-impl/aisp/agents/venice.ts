/**
 * A client of a Venice-compatible inference API (specs/protocols.md A.3): what a renter uses its
 * rented key with, and what a provider uses its ADMIN key with. Base URL ends in `/api/v1`.
 */
import type { ChatRequest, CreateKeyRequest } from '../protocol/wire.ts';
import { exchange, type Answer } from './http.ts';

export interface VeniceClient {
  models(): Promise<Answer>;
  chat(apiKey: string, req: ChatRequest): Promise<Answer>;
  rateLimits(apiKey: string): Promise<Answer>;
  createKey(adminKey: string, req: CreateKeyRequest): Promise<Answer>;
  listKeys(adminKey: string): Promise<Answer>;
  getKey(adminKey: string, id: string): Promise<Answer>;
  deleteKey(adminKey: string, id: string): Promise<Answer>;
}

export function createVeniceClient(baseUrl: string, fetchImpl: typeof fetch = fetch): VeniceClient {
  const base = baseUrl.replace(/\/+$/, '');
  const auth = (key: string) => ({ authorization: `Bearer ${key}` });
  return {
    models: () => exchange(fetchImpl, `${base}/models`),
    chat: (apiKey, req) => exchange(fetchImpl, `${base}/chat/completions`, { body: req, headers: auth(apiKey) }),
    rateLimits: (apiKey) => exchange(fetchImpl, `${base}/api_keys/rate_limits`, { headers: auth(apiKey) }),
    createKey: (adminKey, req) => exchange(fetchImpl, `${base}/api_keys`, { body: req, headers: auth(adminKey) }),
    listKeys: (adminKey) => exchange(fetchImpl, `${base}/api_keys`, { headers: auth(adminKey) }),
    getKey: (adminKey, id) => exchange(fetchImpl, `${base}/api_keys/${encodeURIComponent(id)}`, { headers: auth(adminKey) }),
    deleteKey: (adminKey, id) => exchange(fetchImpl, `${base}/api_keys?id=${encodeURIComponent(id)}`, { method: 'DELETE', headers: auth(adminKey) }),
  };
}

/** A one-message chat request. */
export function ask(model: string, prompt: string, maxTokens?: number): ChatRequest {
  return { model, messages: [{ role: 'user', content: prompt }], ...(maxTokens ? { max_tokens: maxTokens } : {}) };
}
