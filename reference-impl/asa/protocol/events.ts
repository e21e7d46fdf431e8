/**
 * NIP-A5 (PR #2273, head d78fb054) event kinds 38400-38403: tag builders and validators for every
 * tag of the PR text. A validator returns `errors` (the PR's text allows no such reading) and
 * `dialects` (a reading the PR does not allow but a published implementation emits, such as the
 * TypeScript SDK leaving `d` out of 38401/38402, or `["price","100"]`): a dialect is reported as a
 * warning, never as a pass and never as a failure. Every reading the text allows is accepted.
 */

export const KIND = { capability: 38400, request: 38401, agreement: 38402, attestation: 38403 } as const;
export const STATUSES = ['proposed', 'active', 'completed', 'disputed', 'expired'] as const;
export type AgreementStatus = (typeof STATUSES)[number];
export const TERMS_TYPES = ['per-request', 'flat', 'total-cap', 'timeout', 'quantity', 'minimum'] as const;
export const ATTESTATION_NAMESPACE = 'nostr.agent.attestation';
export const DOMAIN_LABELS = ['commerce.service_completion', 'commerce.dispute_resolution', 'commerce.partial_completion'] as const;

export type Tag = string[];
/** A Nostr event as it travels (signed). */
export interface NostrEvent {
  id: string;
  pubkey: string;
  created_at: number;
  kind: number;
  tags: Tag[];
  content: string;
  sig: string;
}
export interface EventTemplate {
  kind: number;
  tags: Tag[];
  content: string;
  created_at: number;
}

export interface Validation {
  errors: string[];
  dialects: string[];
}

const HEX64 = /^[0-9a-f]{64}$/;
/** A non-negative decimal amount as a string ("50", "0.5"; NIP-99 writes numbers as strings). */
const AMOUNT = /^(0|[1-9]\d*)(\.\d+)?$/;
const INT = /^(0|[1-9]\d*)$/;

export const tagsNamed = (tags: readonly Tag[], name: string): Tag[] => tags.filter((t) => t[0] === name);
export const tagValue = (tags: readonly Tag[], name: string): string | undefined => tags.find((t) => t[0] === name)?.[1];

function isUrl(s: string | undefined, schemes = ['http:', 'https:']): boolean {
  if (!s) return false;
  try {
    return schemes.includes(new URL(s).protocol);
  } catch {
    return false;
  }
}

function base(ev: Pick<NostrEvent, 'kind' | 'tags'>, kind: number): Validation {
  const v: Validation = { errors: [], dialects: [] };
  if (ev.kind !== kind) v.errors.push(`kind is ${ev.kind}, expected ${kind}`);
  if (!Array.isArray(ev.tags) || ev.tags.some((t) => !Array.isArray(t) || t.some((x) => typeof x !== 'string'))) v.errors.push('tags must be arrays of strings');
  return v;
}

/** `d` is required on every kind; the SDK omits it on some (a dialect there, an error elsewhere). */
function checkD(v: Validation, tags: Tag[], sdkOmits: boolean): void {
  const d = tagsNamed(tags, 'd');
  if (d.length === 0) (sdkOmits ? v.dialects : v.errors).push('no d tag (required: unique identifier)');
  else if (d.length > 1) v.errors.push('more than one d tag');
  else if (!d[0]![1]) (sdkOmits ? v.dialects : v.errors).push('empty d tag');
}

function checkS(v: Validation, tags: Tag[]): void {
  const s = tagsNamed(tags, 's');
  if (s.length === 0) v.errors.push('no s tag (required: service category)');
  for (const t of s) if (!t[1]) v.errors.push('empty s tag');
}

// ---- 38400 capability ------------------------------------------------------------------------

export interface Price {
  amount: string;
  currency: string;
  frequency?: string;
}
export type Negotiable = { kind: 'true' } | { kind: 'false' } | { kind: 'floor'; amount: string };

export interface CapabilitySpec {
  d: string;
  s: string[];
  prices: Price[];
  l402?: string;
  endpoint?: { url: string; method: string };
  schema?: string;
  capacity?: { amount: string; unit: string };
  uptime?: string;
  t?: string[];
  negotiable?: Negotiable;
}

export function capabilityTags(c: CapabilitySpec): Tag[] {
  const tags: Tag[] = [['d', c.d], ...c.s.map((s) => ['s', s])];
  for (const p of c.prices) tags.push(['price', p.amount, p.currency, ...(p.frequency ? [p.frequency] : [])]);
  if (c.l402) tags.push(['l402', c.l402]);
  if (c.endpoint) tags.push(['endpoint', c.endpoint.url, c.endpoint.method]);
  if (c.schema) tags.push(['schema', c.schema]);
  if (c.capacity) tags.push(['capacity', c.capacity.amount, c.capacity.unit]);
  if (c.uptime) tags.push(['uptime', c.uptime]);
  for (const t of c.t ?? []) tags.push(['t', t]);
  if (c.negotiable) tags.push(c.negotiable.kind === 'floor' ? ['negotiable', 'floor', c.negotiable.amount] : ['negotiable', c.negotiable.kind]);
  return tags;
}

export function validateCapability(ev: Pick<NostrEvent, 'kind' | 'tags'>): Validation {
  const v = base(ev, KIND.capability);
  const tags = ev.tags ?? [];
  checkD(v, tags, false);
  checkS(v, tags);
  const prices = tagsNamed(tags, 'price');
  if (prices.length === 0) v.errors.push('no price tag (required)');
  for (const p of prices) {
    if (!p[1] || !AMOUNT.test(p[1])) v.errors.push(`price amount ${JSON.stringify(p[1])} is not a non-negative number`);
    else if (p.length < 3 || !p[2]) v.dialects.push(`price ${JSON.stringify(p)} has no currency (the SDK's ["price","<sats>"]; the PR writes ["price","<number>","<currency>","<frequency>"])`);
  }
  for (const t of tagsNamed(tags, 'l402')) if (!isUrl(t[1])) v.errors.push(`l402 ${JSON.stringify(t[1])} is not an http(s) URL`);
  for (const t of tagsNamed(tags, 'endpoint')) if (!isUrl(t[1])) v.errors.push(`endpoint ${JSON.stringify(t[1])} is not an http(s) URL`);
  for (const t of tagsNamed(tags, 'schema')) if (!isUrl(t[1])) v.errors.push(`schema ${JSON.stringify(t[1])} is not a URL`);
  for (const t of tagsNamed(tags, 'capacity')) if (!t[1] || !AMOUNT.test(t[1]) || !t[2]) v.errors.push(`capacity ${JSON.stringify(t)} is not ["capacity","<amount>","<unit>"]`);
  for (const t of tagsNamed(tags, 'uptime')) {
    const n = Number(t[1]);
    if (!t[1] || !AMOUNT.test(t[1]) || n > 1) v.errors.push(`uptime ${JSON.stringify(t[1])} is not a ratio between 0 and 1`);
  }
  const neg = tagsNamed(tags, 'negotiable');
  if (neg.length > 1) v.errors.push('more than one negotiable tag');
  for (const t of neg) {
    if (t[1] === 'true' || t[1] === 'false') continue;
    if (t[1] === 'floor' && t[2] !== undefined && AMOUNT.test(t[2])) continue;
    v.errors.push(`negotiable ${JSON.stringify(t)} is not "true", "false" or ["negotiable","floor","<amount>"]`);
  }
  for (const name of ['api_endpoint', 'api_method']) if (tagsNamed(tags, name).length) v.dialects.push(`${name} tag (the SDK's; the PR writes ["endpoint","<url>","<method>"])`);
  return v;
}

/** Read a capability's prices and negotiability (absent negotiable ⇒ negotiable, as the PR says). */
export function readCapability(ev: Pick<NostrEvent, 'tags'>): { d?: string; s: string[]; prices: Price[]; l402?: string; negotiable: Negotiable; t: string[] } {
  const neg = tagsNamed(ev.tags, 'negotiable')[0];
  return {
    d: tagValue(ev.tags, 'd'),
    s: tagsNamed(ev.tags, 's').map((t) => t[1]!),
    prices: tagsNamed(ev.tags, 'price').map((t) => ({ amount: t[1]!, currency: t[2] ?? 'sats', frequency: t[3] })),
    l402: tagValue(ev.tags, 'l402'),
    negotiable: !neg || neg[1] === 'true' ? { kind: 'true' } : neg[1] === 'false' ? { kind: 'false' } : { kind: 'floor', amount: neg[2]! },
    t: tagsNamed(ev.tags, 't').map((t) => t[1]!),
  };
}

// ---- 38401 service request ---------------------------------------------------------------------

export interface RequestSpec {
  d: string;
  s: string[];
  budget?: { amount: string; unit: string };
  deadline?: number;
  t?: string[];
}

export function requestTags(r: RequestSpec): Tag[] {
  const tags: Tag[] = [['d', r.d], ...r.s.map((s) => ['s', s])];
  if (r.budget) tags.push(['budget', r.budget.amount, r.budget.unit]);
  if (r.deadline !== undefined) tags.push(['deadline', String(r.deadline)]);
  for (const t of r.t ?? []) tags.push(['t', t]);
  return tags;
}

export function validateRequest(ev: Pick<NostrEvent, 'kind' | 'tags'>): Validation {
  const v = base(ev, KIND.request);
  const tags = ev.tags ?? [];
  checkD(v, tags, true);
  checkS(v, tags);
  for (const t of tagsNamed(tags, 'budget')) if (!t[1] || !AMOUNT.test(t[1]) || !t[2]) v.errors.push(`budget ${JSON.stringify(t)} is not ["budget","<amount>","<unit>"]`);
  for (const t of tagsNamed(tags, 'deadline')) if (!t[1] || !INT.test(t[1])) v.errors.push(`deadline ${JSON.stringify(t[1])} is not a unix timestamp`);
  return v;
}

// ---- 38402 service agreement -------------------------------------------------------------------

export interface Terms {
  type: string;
  value: string;
  unit: string;
}
export interface AgreementSpec {
  d: string;
  provider: string;
  requester: string;
  relay?: string;
  capability?: string;
  request?: string;
  l402?: string;
  terms: Terms[];
  status: AgreementStatus;
  paymentHash?: string;
  expiration?: number;
}

export function agreementTags(a: AgreementSpec): Tag[] {
  const r = a.relay ?? '';
  const tags: Tag[] = [
    ['d', a.d],
    ['p', a.provider, r, 'provider'],
    ['p', a.requester, r, 'requester'],
  ];
  if (a.capability) tags.push(['e', a.capability, r, 'capability']);
  if (a.request) tags.push(['e', a.request, r, 'request']);
  if (a.l402) tags.push(['l402', a.l402]);
  for (const t of a.terms) tags.push(['terms', t.type, t.value, t.unit]);
  tags.push(['status', a.status]);
  if (a.paymentHash) tags.push(['payment_hash', a.paymentHash]);
  if (a.expiration !== undefined) tags.push(['expiration', String(a.expiration)]);
  return tags;
}

export function validateAgreement(ev: Pick<NostrEvent, 'kind' | 'tags'>): Validation {
  const v = base(ev, KIND.agreement);
  const tags = ev.tags ?? [];
  checkD(v, tags, true);
  const ps = tagsNamed(tags, 'p');
  for (const p of ps) if (!p[1] || !HEX64.test(p[1])) v.errors.push(`p ${JSON.stringify(p[1])} is not a 64-hex pubkey`);
  const provider = ps.filter((p) => p[3] === 'provider');
  const requester = ps.filter((p) => p[3] === 'requester');
  if (provider.length !== 1 || requester.length !== 1) {
    if (ps.length >= 2 && ps.every((p) => p[3] === undefined)) v.dialects.push('p tags carry no roles (the PR writes ["p","<pubkey>","<relay>","provider"|"requester"])');
    else v.errors.push(`needs one p tag with role "provider" and one with role "requester" (has ${JSON.stringify(ps.map((p) => p[3] ?? null))})`);
  }
  for (const e of tagsNamed(tags, 'e')) {
    if (!e[1] || !HEX64.test(e[1])) v.errors.push(`e ${JSON.stringify(e[1])} is not a 64-hex event id`);
    if (e[3] !== undefined && e[3] !== 'capability' && e[3] !== 'request') v.dialects.push(`e marker ${JSON.stringify(e[3])} is neither "capability" nor "request"`);
  }
  for (const t of tagsNamed(tags, 'l402')) if (!isUrl(t[1])) v.errors.push(`l402 ${JSON.stringify(t[1])} is not an http(s) URL`);
  const terms = tagsNamed(tags, 'terms');
  if (terms.length === 0) v.errors.push('no terms tag (required)');
  for (const t of terms) {
    if (t.length === 2) v.dialects.push(`terms ${JSON.stringify(t)} has one value (the SDK's; the PR writes ["terms","<type>","<value>","<unit>"])`);
    else if (t.length < 4 || !t[1] || !t[2] || !t[3]) v.errors.push(`terms ${JSON.stringify(t)} is not ["terms","<type>","<value>","<unit>"]`);
    else if (!AMOUNT.test(t[2])) v.errors.push(`terms value ${JSON.stringify(t[2])} is not a number`);
    else if (!(TERMS_TYPES as readonly string[]).includes(t[1])) v.dialects.push(`terms type ${JSON.stringify(t[1])} is not one the PR lists`);
  }
  const st = tagsNamed(tags, 'status');
  if (st.length !== 1) v.errors.push(`needs exactly one status tag (has ${st.length})`);
  else if (!(STATUSES as readonly string[]).includes(st[0]![1] ?? '')) v.errors.push(`status ${JSON.stringify(st[0]![1])} is not one of ${STATUSES.join(', ')}`);
  for (const t of tagsNamed(tags, 'payment_hash')) if (!t[1] || !HEX64.test(t[1])) v.errors.push(`payment_hash ${JSON.stringify(t[1])} is not 64 lowercase hex`);
  for (const t of tagsNamed(tags, 'expiration')) if (!t[1] || !INT.test(t[1])) v.errors.push(`expiration ${JSON.stringify(t[1])} is not a unix timestamp`);
  if (tagsNamed(tags, 'expiry').length) v.dialects.push('expiry tag (the older draft; the PR uses NIP-40 expiration)');
  if (tagsNamed(tags, 'price').length) v.dialects.push("price tag on an agreement (the SDK's; the PR puts prices in terms)");
  return v;
}

/** The parties, status and payment hash of an agreement (undefined where the event does not say). */
export function readAgreement(ev: Pick<NostrEvent, 'tags'>): {
  d?: string;
  provider?: string;
  requester?: string;
  status?: string;
  paymentHash?: string;
  capability?: string;
  terms: Terms[];
  expiration?: number;
} {
  const ps = tagsNamed(ev.tags, 'p');
  const exp = tagValue(ev.tags, 'expiration');
  return {
    d: tagValue(ev.tags, 'd'),
    provider: ps.find((p) => p[3] === 'provider')?.[1],
    requester: ps.find((p) => p[3] === 'requester')?.[1],
    status: tagValue(ev.tags, 'status'),
    paymentHash: tagValue(ev.tags, 'payment_hash'),
    capability: tagsNamed(ev.tags, 'e').find((e) => e[3] === 'capability')?.[1],
    terms: tagsNamed(ev.tags, 'terms')
      .filter((t) => t.length >= 4)
      .map((t) => ({ type: t[1]!, value: t[2]!, unit: t[3]! })),
    expiration: exp && INT.test(exp) ? Number(exp) : undefined,
  };
}

/** The lifecycle the PR draws: proposed → active → completed | disputed | expired. */
export const TRANSITIONS: Record<AgreementStatus, readonly AgreementStatus[]> = {
  proposed: ['active'],
  active: ['completed', 'disputed', 'expired'],
  completed: [],
  disputed: [],
  expired: [],
};
export const canTransition = (from: AgreementStatus, to: AgreementStatus): boolean => TRANSITIONS[from].includes(to);

// ---- 38403 attestation -------------------------------------------------------------------------

export interface AttestationSpec {
  d: string;
  subject: string;
  agreement: string;
  relay?: string;
  rating: number;
  status?: string;
  domain?: string;
  proof?: string;
}

export function attestationTags(a: AttestationSpec): Tag[] {
  const r = a.relay ?? '';
  const tags: Tag[] = [
    ['d', a.d],
    ['p', a.subject, r, 'subject'],
    ['e', a.agreement, r, 'agreement'],
    ['rating', String(a.rating)],
    ['L', ATTESTATION_NAMESPACE],
    ['l', a.status ?? 'completed', ATTESTATION_NAMESPACE],
    ['l', a.domain ?? 'commerce.service_completion', ATTESTATION_NAMESPACE],
  ];
  if (a.proof) tags.push(['proof', a.proof]);
  return tags;
}

export function validateAttestation(ev: Pick<NostrEvent, 'kind' | 'tags'>): Validation {
  const v = base(ev, KIND.attestation);
  const tags = ev.tags ?? [];
  checkD(v, tags, true);
  const ps = tagsNamed(tags, 'p');
  const subj = ps.filter((p) => p[3] === 'subject');
  if (subj.length !== 1) {
    if (ps.length === 1 && ps[0]![3] === undefined) v.dialects.push('p tag without the "subject" marker (the SDK\'s ["p","<pubkey>"])');
    else v.errors.push('needs one p tag with marker "subject"');
  }
  for (const p of ps) if (!p[1] || !HEX64.test(p[1])) v.errors.push(`p ${JSON.stringify(p[1])} is not a 64-hex pubkey`);
  const es = tagsNamed(tags, 'e');
  const agr = es.filter((e) => e[3] === 'agreement');
  if (agr.length !== 1) {
    if (es.length === 1 && es[0]![3] === undefined) v.dialects.push('e tag without the "agreement" marker (the SDK\'s ["e","<id>"])');
    else v.errors.push('needs one e tag with marker "agreement"');
  }
  for (const e of es) if (!e[1] || !HEX64.test(e[1])) v.errors.push(`e ${JSON.stringify(e[1])} is not a 64-hex event id`);
  const rating = tagsNamed(tags, 'rating');
  if (rating.length !== 1 || !/^[1-5]$/.test(rating[0]![1] ?? '')) v.errors.push(`needs one rating tag with an integer 1-5 (has ${JSON.stringify(rating.map((r) => r[1]))})`);
  if (!tagsNamed(tags, 'L').some((t) => t[1] === ATTESTATION_NAMESPACE)) v.errors.push(`no ["L","${ATTESTATION_NAMESPACE}"] tag`);
  const ls = tagsNamed(tags, 'l');
  const namespaces = new Set(tagsNamed(tags, 'L').map((t) => t[1]));
  for (const l of ls) if (namespaces.size && !namespaces.has(l[2])) v.errors.push(`label ${JSON.stringify(l)} carries no mark naming an L namespace (NIP-32)`);
  const ours = ls.filter((l) => l[2] === ATTESTATION_NAMESPACE);
  if (!ours.some((l) => (DOMAIN_LABELS as readonly string[]).includes(l[1]!)))
    v.errors.push('no domain label (commerce.service_completion, commerce.dispute_resolution or commerce.partial_completion)');
  if (!ours.some((l) => !(DOMAIN_LABELS as readonly string[]).includes(l[1]!))) v.errors.push('no status label (e.g. ["l","completed","nostr.agent.attestation"])');
  for (const t of tagsNamed(tags, 'proof')) if (!t[1] || !HEX64.test(t[1])) v.errors.push(`proof ${JSON.stringify(t[1])} is not a 64 lowercase hex payment_hash`);
  return v;
}

export function readAttestation(ev: Pick<NostrEvent, 'tags'>): { subject?: string; agreement?: string; rating?: number; proof?: string } {
  const r = tagValue(ev.tags, 'rating');
  return {
    subject: tagsNamed(ev.tags, 'p').find((p) => p[3] === 'subject' || p[3] === undefined)?.[1],
    agreement: tagsNamed(ev.tags, 'e').find((e) => e[3] === 'agreement' || e[3] === undefined)?.[1],
    rating: r && /^[1-5]$/.test(r) ? Number(r) : undefined,
    proof: tagValue(ev.tags, 'proof'),
  };
}

export function validateByKind(ev: Pick<NostrEvent, 'kind' | 'tags'>): Validation {
  switch (ev.kind) {
    case KIND.capability:
      return validateCapability(ev);
    case KIND.request:
      return validateRequest(ev);
    case KIND.agreement:
      return validateAgreement(ev);
    case KIND.attestation:
      return validateAttestation(ev);
    default:
      return { errors: [`kind ${ev.kind} is not a NIP-A5 kind`], dialects: [] };
  }
}
