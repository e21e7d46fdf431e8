/**
 * The server with the LLM reviewer (config `review: {type:'llm'}`), the chat-completions endpoint
 * stood in by msw (a third-party service with no local equivalent). Everything else is real.
 */
import { test, beforeAll, afterAll } from 'vitest';
import assert from 'node:assert/strict';
import { setupServer } from 'msw/node';
import { http, HttpResponse } from 'msw';
import { startLab, type Lab } from './testkit.ts';

const endpoint = 'https://llm.example.test/v1';
let mode: 'judge' | 'down' = 'judge';
const prompts: any[] = [];
const llm = setupServer(
  http.post(`${endpoint}/chat/completions`, async ({ request }) => {
    const body: any = await request.json();
    prompts.push(body);
    if (mode === 'down') return HttpResponse.json({ error: 'overloaded' }, { status: 503 });
    const input = JSON.parse(body.messages.at(-1).content);
    const approved = String(input.result).includes('good');
    return HttpResponse.json({
      choices: [{ message: { role: 'assistant', content: `\`\`\`json\n${JSON.stringify({ approved, reason: approved ? 'meets the criteria' : 'not good enough' })}\n\`\`\`` } }],
    });
  }),
);

let lab: Lab;
let agentId: bigint;
beforeAll(async () => {
  // Only the LLM host is mocked; chain, facilitator and server traffic pass through untouched.
  llm.listen({ onUnhandledRequest: 'bypass' });
  lab = await startLab({ review: { type: 'llm', endpoint, model: 'review-model', apiKey: 'sk-test' } });
  agentId = await lab.registerAgent('vendor1');
});
afterAll(async () => {
  await lab?.stop();
  llm.close();
});

test('LLM verdicts drive rejection and release; the model sees the four review inputs', async () => {
  const p = await lab.buyer().buy(agentId, 'translate', { task_detail: 'Write it', task_metadata: { n: 1 }, reviewer_request: 'Must be good' });
  assert.equal(p.status, 200);
  const v = lab.vendor('vendor1', agentId, { kind: 'honest' });
  await v.start(p.taskId!);
  const bad = await v.complete(p.taskId!, 'meh');
  assert.deepEqual([bad.body.task.status, bad.body.review.reason, bad.body.escrowAction], ['rejected', 'not good enough', 'none']);
  const input = JSON.parse(prompts.at(-1).messages.at(-1).content);
  assert.deepEqual(input, { reviewer_request: 'Must be good', task_detail: 'Write it', task_metadata: { n: 1 }, result: 'meh' });
  assert.equal(prompts.at(-1).model, 'review-model');

  // Reviewer outage: 502, nothing changes, the vendor can retry later.
  mode = 'down';
  const down = await v.complete(p.taskId!, 'good now');
  assert.equal(down.status, 502);
  const st = await (await fetch(`${lab.stack.server.url}/tasks/${p.taskId}/detail`)).json();
  assert.deepEqual([st.task.status, st.task.reviewRejectCount, st.payment.escrowStatus], ['rejected', 1, 'deposited']);

  mode = 'judge';
  const good = await v.complete(p.taskId!, 'good now');
  assert.deepEqual([good.body.task.status, good.body.review.approved, good.body.escrowAction, good.body.task.reviewRejectCount], ['completed', true, 'released', 1]);
  assert.equal((await lab.deposit(p.taskId!))[3], 2);
});
