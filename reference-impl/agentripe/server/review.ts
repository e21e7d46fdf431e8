/**
 * Agentripe review: when a task carries `reviewer_request`, a reviewer judges the vendor's result
 * (seed 002, "Mechanism 2: AI Review"). The reviewer is pluggable; two are provided:
 *
 * - {@link ruleReviewer}: deterministic (the documented review-fixture rule), for local use.
 * - {@link llmReviewer}: an OpenAI-compatible chat-completions endpoint (the seed's "AI reviewer";
 *   its prompt and model are not public, so ours is written down here).
 */
import { z } from 'zod';
import { reviewByFixtureRule, type ReviewInput, type ReviewVerdict } from '../protocol/review-fixture.ts';

export type { ReviewInput, ReviewVerdict };

/** A reviewer. It may throw: the server then answers 502 and changes nothing (the vendor retries). */
export interface Reviewer {
  readonly name: string;
  review(input: ReviewInput): Promise<ReviewVerdict>;
}

/**
 * The deterministic default reviewer: the protocol library's documented review-fixture rule
 * (protocol/review-fixture.ts), the same rule the harness's fixture reviewer endpoint serves.
 */
export function ruleReviewer(): Reviewer {
  return { name: 'rule', review: async (input) => reviewByFixtureRule(input) };
}

/** Configuration of the OpenAI-compatible reviewer. */
export const llmReviewerConfigSchema = z.object({
  /** Base URL, e.g. https://api.openai.com/v1 ; the reviewer POSTs to `${endpoint}/chat/completions`. */
  endpoint: z.url(),
  model: z.string().min(1),
  apiKey: z.string().optional(),
  timeoutMs: z.number().int().positive().default(30_000),
  temperature: z.number().min(0).max(2).default(0),
});
export type LlmReviewerConfig = z.input<typeof llmReviewerConfigSchema>;

const verdictSchema = z.object({ approved: z.boolean(), reason: z.string().default('') });

const chatResponseSchema = z.object({
  choices: z.array(z.object({ message: z.object({ content: z.string().nullable() }) })).min(1),
});

/** The system prompt of {@link llmReviewer}. */
export const REVIEW_SYSTEM_PROMPT = [
  'You are the quality reviewer of an agent marketplace. A buyer paid for a task and wrote review criteria.',
  "Decide whether the vendor's result satisfies the criteria and the task.",
  'Answer with one JSON object only: {"approved": true|false, "reason": "<one sentence>"}.',
].join(' ');

/**
 * Extracts the verdict from a model's reply: accepts bare JSON, JSON inside ``` fences (with or
 * without a language tag), or the first balanced `{...}` object in surrounding prose. Throws when
 * no `{approved: boolean}` object can be found.
 */
export function parseVerdict(content: string): ReviewVerdict {
  const candidates: string[] = [];
  const fence = /```(?:json|JSON)?\s*([\s\S]*?)```/.exec(content);
  if (fence) candidates.push(fence[1]!.trim());
  candidates.push(content.trim());
  const obj = firstJsonObject(content);
  if (obj) candidates.push(obj);
  for (const c of candidates) {
    try {
      const v = verdictSchema.safeParse(JSON.parse(c));
      if (v.success) return { approved: v.data.approved, reason: v.data.reason || (v.data.approved ? 'approved' : 'rejected') };
    } catch {
      // try the next candidate
    }
  }
  throw new Error(`reviewer reply has no {"approved": boolean} JSON: ${content.slice(0, 200)}`);
}

/** The first balanced top-level `{...}` in `s` (string-aware), or undefined. */
function firstJsonObject(s: string): string | undefined {
  const start = s.indexOf('{');
  if (start < 0) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = start; i < s.length; i++) {
    const ch = s[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) return s.slice(start, i + 1);
  }
  return undefined;
}

/**
 * A reviewer backed by an OpenAI-compatible `POST {endpoint}/chat/completions`. The user message is
 * the review inputs as JSON. Non-2xx answers, timeouts and unparseable replies throw (no verdict is
 * invented).
 */
export function llmReviewer(config: LlmReviewerConfig, fetchImpl: typeof fetch = fetch): Reviewer {
  const cfg = llmReviewerConfigSchema.parse(config);
  const url = `${cfg.endpoint.replace(/\/+$/, '')}/chat/completions`;
  return {
    name: `llm:${cfg.model}`,
    async review(input) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (cfg.apiKey) headers.authorization = `Bearer ${cfg.apiKey}`;
      const body = {
        model: cfg.model,
        temperature: cfg.temperature,
        messages: [
          { role: 'system', content: REVIEW_SYSTEM_PROMPT },
          {
            role: 'user',
            content: JSON.stringify({
              reviewer_request: input.reviewerRequest,
              task_detail: input.taskDetail,
              task_metadata: input.taskMetadata ?? null,
              result: input.result,
            }),
          },
        ],
      };
      const res = await fetchImpl(url, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(cfg.timeoutMs),
      });
      if (!res.ok) throw new Error(`reviewer endpoint answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
      const parsed = chatResponseSchema.safeParse(await res.json());
      if (!parsed.success) throw new Error('reviewer endpoint returned no chat completion choice');
      return parseVerdict(parsed.data.choices[0]!.message.content ?? '');
    },
  };
}
