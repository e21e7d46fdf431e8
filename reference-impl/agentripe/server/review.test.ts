/**
 * Reviewer tests: the deterministic rule reviewer, verdict parsing, and the OpenAI-compatible LLM
 * reviewer against an msw stand-in for a chat-completions endpoint (a third-party service).
 */
import { test, describe, beforeAll, afterAll, afterEach } from 'vitest';
import assert from 'node:assert/strict';
import { setupServer } from 'msw/node';
import { http, HttpResponse } from 'msw';
import { keyTerms } from '../protocol/review-fixture.ts';
import { llmReviewer, parseVerdict, ruleReviewer, type ReviewInput } from './review.ts';

const base: ReviewInput = { reviewerRequest: 'Must mention "Tokyo" and `JPY`', taskDetail: 'Plan a trip', taskMetadata: { days: 2 }, result: '' };

describe('rule reviewer', () => {
  const r = ruleReviewer();
  test('key terms are the quoted phrases', () => {
    assert.deepEqual(keyTerms('Must mention "Tokyo" and `JPY`, not Osaka'), ['Tokyo', 'JPY']);
    assert.deepEqual(keyTerms('no quotes at all'), []);
  });
  test('approves a result that mentions every key term (case-insensitive)', async () => {
    assert.equal((await r.review({ ...base, result: 'Day 1 in tokyo, budget 30000 jpy' })).approved, true);
  });
  test('rejects a missing key term and names it', async () => {
    const v = await r.review({ ...base, result: 'Day 1 in Tokyo' });
    assert.equal(v.approved, false);
    assert.match(v.reason, /JPY/);
  });
  test('rejects empty and whitespace results, and null', async () => {
    for (const result of ['', '   \n', null]) assert.equal((await r.review({ ...base, reviewerRequest: 'anything', result })).approved, false);
  });
  test('REJECT-ME rejects even when every term is present', async () => {
    assert.equal((await r.review({ ...base, result: 'Tokyo JPY REJECT-ME' })).approved, false);
  });
  test('JSON results are judged on their JSON text', async () => {
    assert.equal((await r.review({ ...base, result: { city: 'Tokyo', currency: 'JPY' } })).approved, true);
    assert.equal((await r.review({ ...base, result: { city: 'Tokyo' } })).approved, false);
  });
});

describe('parseVerdict', () => {
  test('bare, fenced, and prose-wrapped JSON', () => {
    assert.deepEqual(parseVerdict('{"approved":true,"reason":"ok"}'), { approved: true, reason: 'ok' });
    assert.deepEqual(parseVerdict('```json\n{"approved": false, "reason": "too short"}\n```'), { approved: false, reason: 'too short' });
    assert.deepEqual(parseVerdict('```\n{"approved": true, "reason": "fine"}\n```'), { approved: true, reason: 'fine' });
    assert.deepEqual(parseVerdict('Verdict: {"approved": false, "reason": "has } brace"} done'), { approved: false, reason: 'has } brace' });
  });
  test('rejects replies without a boolean verdict', () => {
    assert.throws(() => parseVerdict('I think it is fine'));
    assert.throws(() => parseVerdict('{"approved":"yes","reason":"x"}'));
  });
});

describe('LLM reviewer (msw chat-completions stand-in)', () => {
  const endpoint = 'https://llm.example.test/v1';
  const seen: { auth: string | null; body: any }[] = [];
  let reply: () => Response = () => HttpResponse.json({});
  const server = setupServer(
    http.post(`${endpoint}/chat/completions`, async ({ request }) => {
      seen.push({ auth: request.headers.get('authorization'), body: await request.json() });
      return reply();
    }),
  );
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterEach(() => {
    seen.length = 0;
  });
  afterAll(() => server.close());

  const content = (c: string) => () => HttpResponse.json({ choices: [{ message: { role: 'assistant', content: c } }] });

  test('sends model, key and the four review inputs; parses a fenced verdict', async () => {
    reply = content('```json\n{"approved": true, "reason": "accurate"}\n```');
    const r = llmReviewer({ endpoint, model: 'gpt-test', apiKey: 'sk-1' });
    const v = await r.review({ ...base, result: 'Tokyo JPY' });
    assert.deepEqual(v, { approved: true, reason: 'accurate' });
    assert.equal(seen[0]!.auth, 'Bearer sk-1');
    assert.equal(seen[0]!.body.model, 'gpt-test');
    const user = JSON.parse(seen[0]!.body.messages.at(-1).content);
    assert.deepEqual(user, { reviewer_request: base.reviewerRequest, task_detail: 'Plan a trip', task_metadata: { days: 2 }, result: 'Tokyo JPY' });
  });
  test('a rejection is passed through', async () => {
    reply = content('{"approved": false, "reason": "wrong city"}');
    assert.deepEqual(await llmReviewer({ endpoint, model: 'm' }).review(base), { approved: false, reason: 'wrong city' });
    assert.equal(seen[0]!.auth, null);
  });
  test('HTTP errors and unparseable replies throw instead of inventing a verdict', async () => {
    reply = () => HttpResponse.json({ error: 'rate limited' }, { status: 429 });
    await assert.rejects(llmReviewer({ endpoint, model: 'm' }).review(base), /429/);
    reply = content('looks good to me');
    await assert.rejects(llmReviewer({ endpoint, model: 'm' }).review(base), /no \{"approved"/);
    reply = () => HttpResponse.json({ choices: [] });
    await assert.rejects(llmReviewer({ endpoint, model: 'm' }).review(base), /no chat completion/);
  });
});
