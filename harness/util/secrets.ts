/**
 * Secrets in what the harness writes: redaction of values under secret-named keys (target files
 * in bundles, JSON bodies in HTTP evidence), and the scan that proves no known secret reached an
 * output (harness/report/secrets.test.ts).
 */

/** What a redacted value is replaced with. */
export const REDACTED = '[redacted]';

/** Key names whose values are secrets (case-insensitive, ignoring '-', '_' and spaces): contains one of these words, or ends in "token". */
const SECRET_KEY = /(secret|password|passphrase|privatekey|apikey|adminkey|accesstoken|authtoken|bearer|mnemonic|seedphrase|nsec|macaroon|preimage|authorization|cookie|credential)|token$/;
const norm = (k: string) => k.toLowerCase().replace(/[-_\s]/g, '');

/**
 * Copy of a target file (parsed JSON) with secrets replaced by "[redacted]": every value under a key
 * naming a secret (privateKey, apiKey, adminKeys, secret, password, mnemonic, authorization, cookie,
 * ...), request header values of such names, user:password in URLs, and issued keys recognised by
 * their shape ({@link SECRET_PATTERNS}) wherever they stand. Returns the JSON paths redacted.
 */
export function redactSecrets(value: unknown): { redacted: unknown; redactions: string[] } {
  const redactions: string[] = [];
  const walk = (v: unknown, at: string): unknown => {
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${at}[${i}]`));
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const p = at ? `${at}.${k}` : k;
        if (SECRET_KEY.test(norm(k)) && x !== null && x !== undefined && x !== '') {
          out[k] = REDACTED;
          redactions.push(p);
        } else out[k] = walk(x, p);
      }
      return out;
    }
    if (typeof v === 'string' && /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]+:[^/@\s]+@/i.test(v)) {
      redactions.push(at);
      return v.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+:[^/@\s]+@/i, `$1${REDACTED}@`);
    }
    if (typeof v === 'string' && SECRET_PATTERNS.some((p) => p.pattern.test(v))) {
      redactions.push(at);
      return SECRET_PATTERNS.reduce((s, p) => s.replace(new RegExp(p.pattern.source, 'gi'), REDACTED), v);
    }
    return v;
  };
  return { redacted: walk(value, ''), redactions };
}

/**
 * JSON members whose values are secrets wherever JSON appears in evidence text (an HTTP body, a
 * body quoted in a check's actual value): narrower than {@link SECRET_KEY}, since a payment's
 * `authorization`, an L402 `macaroon` or a `preimage` are protocol messages a report must show.
 */
const SECRET_MEMBER = /("[A-Za-z_-]*(?:secret|password|passphrase|private[-_]?key|api[-_]?key|mnemonic|seed[-_]?phrase|nsec|root[-_]?key)"\s*:\s*)"(?:[^"\\]|\\.)*"/gi;

/** `text` with the string values of secret-named JSON members replaced by "[redacted]" (any text: JSON, or JSON quoted in a sentence). */
export function redactSecretText(text: string): string {
  return text.replace(SECRET_MEMBER, `$1"${REDACTED}"`);
}

/** A secret the harness knows, and what it is (for findings). */
export interface KnownSecret {
  label: string;
  value: string;
}

/** Secrets known by shape rather than value: keys a server issues at run time. */
export const SECRET_PATTERNS: readonly { label: string; pattern: RegExp }[] = [
  { label: 'Agentripe API key (ak_…)', pattern: /\bak_[0-9a-f]{32,}\b/i },
  { label: 'AISP/Venice key (vn-admin-… / vn-scoped-…)', pattern: /\bvn-(admin|scoped)-[0-9a-f]{32,}\b/i },
];

/** Where a secret was found. */
export interface SecretFinding {
  where: string;
  secret: string;
  /** Text around the hit, with the secret itself shortened. */
  context: string;
}

/**
 * Every occurrence of a known secret (exact value; hex values also without 0x and in either case)
 * or of a secret pattern in `outputs` (name → text). Values shorter than 16 characters are ignored.
 */
export function scanForSecrets(outputs: Record<string, string>, secrets: readonly KnownSecret[]): SecretFinding[] {
  const needles: { label: string; value: string }[] = [];
  for (const s of secrets) {
    if (s.value.length < 16) continue;
    const bare = s.value.replace(/^0x/i, '');
    needles.push({ label: s.label, value: bare.toLowerCase() });
  }
  const out: SecretFinding[] = [];
  const around = (text: string, i: number, len: number) => `${text.slice(Math.max(0, i - 40), i)}<${text.slice(i, i + 6)}…>${text.slice(i + len, i + len + 40)}`.replace(/\s+/g, ' ');
  for (const [where, text] of Object.entries(outputs)) {
    const lower = text.toLowerCase();
    for (const n of needles) {
      const i = lower.indexOf(n.value);
      if (i >= 0) out.push({ where, secret: n.label, context: around(text, i, n.value.length) });
    }
    for (const p of SECRET_PATTERNS) {
      const m = p.pattern.exec(text);
      if (m) out.push({ where, secret: p.label, context: around(text, m.index, m[0].length) });
    }
  }
  return out;
}
