/**
 * Agentripe review (seed 002, "Mechanism 2: AI Review"): what a reviewer sees and says, and the
 * harness's **review fixture**, a documented deterministic rule standing in for the seed's AI
 * reviewer (whose prompt and model are not public).
 *
 * A target certifies the review requirements (AGR-REV-*) in one of two ways: it points its reviewer
 * at the harness's fixture endpoint (an OpenAI-compatible chat-completions server that answers with
 * this rule, see agents/reviewer.ts), or it declares the capability `agentripe:review-fixture`,
 * promising that its own reviewer applies this rule. Without either, those requirements are
 * not-applicable: no scenario can know what an unknown AI reviewer will decide.
 *
 * The rule, applied in order:
 * 1. an empty result (after trimming; JSON results are stringified) is rejected;
 * 2. a result containing `REJECT-ME` (case-sensitive) is rejected;
 * 3. every key term of the reviewer request (phrases in double quotes or backticks) must occur in
 *    the result, case-insensitively; a missing term rejects, naming it;
 * 4. otherwise approved.
 */

/** What the reviewer sees (the seed's review inputs). */
export interface ReviewInput {
  reviewerRequest: string;
  taskDetail: string | null;
  taskMetadata: unknown;
  result: unknown;
}

/** The reviewer's verdict (the seed's `{approved, reason}`). */
export interface ReviewVerdict {
  approved: boolean;
  reason: string;
}

/** The marker that makes the fixture rule reject, whatever else the result says. */
export const REJECT_MARKER = 'REJECT-ME';

/** Renders a result (string or any JSON) as the text a reviewer reads. */
export function resultText(result: unknown): string {
  if (result === null || result === undefined) return '';
  return typeof result === 'string' ? result : JSON.stringify(result);
}

/**
 * Key terms of a reviewer request: every phrase quoted with double quotes or backticks.
 * `Must mention "Tokyo" and \`JPY\`` → ["Tokyo", "JPY"]. Unquoted words are not terms.
 */
export function keyTerms(reviewerRequest: string): string[] {
  const terms: string[] = [];
  for (const m of reviewerRequest.matchAll(/"([^"]+)"|`([^`]+)`/g)) {
    const t = (m[1] ?? m[2] ?? '').trim();
    if (t) terms.push(t);
  }
  return terms;
}

/** The fixture rule (see the module comment). */
export function reviewByFixtureRule(input: ReviewInput): ReviewVerdict {
  const text = resultText(input.result).trim();
  if (!text) return { approved: false, reason: 'Result is empty' };
  if (text.includes(REJECT_MARKER)) return { approved: false, reason: `Result contains ${REJECT_MARKER}` };
  const lower = text.toLowerCase();
  const missing = keyTerms(input.reviewerRequest).filter((t) => !lower.includes(t.toLowerCase()));
  if (missing.length) return { approved: false, reason: `Result does not mention: ${missing.join(', ')}` };
  return { approved: true, reason: 'Result is non-empty and mentions every key term of the request' };
}

/** A result the fixture rule approves for `reviewerRequest`: it names every key term. */
export function approvedResult(reviewerRequest: string | null, subject: string): string {
  const terms = reviewerRequest ? keyTerms(reviewerRequest) : [];
  return `${subject}${terms.length ? ` (covers: ${terms.join(', ')})` : ''}`;
}

/** A result the fixture rule rejects, whatever the request (attempt `n`, for readable transcripts). */
export function rejectedResult(n: number): string {
  return `Draft ${n} ${REJECT_MARKER} (ignores the request)`;
}
