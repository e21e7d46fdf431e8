/**
 * L402 (formerly LSAT) headers in every generation a server or client meets:
 * - challenge `WWW-Authenticate: L402 macaroon="<b64>", invoice="<bolt11>"` (bLIP-26, the A5 PR,
 *   aperture), `L402 version="0", token="<b64>", invoice="<bolt11>"` (the 2026 protocol
 *   specification), and `LSAT` in place of `L402`; several challenges may arrive in several headers
 *   or folded into one comma-joined value; values quoted or not, in any order; unknown parameters
 *   ignored.
 * - credential `Authorization: L402 <b64 macaroon>[,<b64>…]:<hex preimage>` (or `LSAT`), matched as
 *   aperture does: `(LSAT|L402) (.*?):([a-f0-9]{64})`.
 */

export type Scheme = 'L402' | 'LSAT';
export interface Challenge {
  scheme: Scheme;
  /** The macaroon, from `macaroon=` or `token=`. */
  macaroon: string;
  invoice: string;
  /** `version` when given (the 2026 generation). */
  version?: string;
  /** Which parameter carried the macaroon. */
  param: 'macaroon' | 'token';
}

/** Format a challenge in one generation. */
export function formatChallenge(o: { macaroon: string; invoice: string; generation?: 'macaroon' | 'token'; scheme?: Scheme }): string {
  const scheme = o.scheme ?? 'L402';
  return o.generation === 'token' ? `${scheme} version="0", token="${o.macaroon}", invoice="${o.invoice}"` : `${scheme} macaroon="${o.macaroon}", invoice="${o.invoice}"`;
}

/** Split `key="v", key2=v2` pairs (quoted values may hold commas). */
function params(s: string): { pairs: [string, string][]; rest: string } {
  const pairs: [string, string][] = [];
  const re = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"([^"]*)"|([^\s,"]*))\s*,?/y;
  let last = 0;
  re.lastIndex = 0;
  while (last < s.length) {
    const m = re.exec(s);
    if (!m) break;
    pairs.push([m[1]!.toLowerCase(), m[2] ?? m[3] ?? '']);
    last = re.lastIndex;
    if (m[0].length === 0) break;
  }
  return { pairs, rest: s.slice(last) };
}

/**
 * Every L402/LSAT challenge in the given `WWW-Authenticate` values (one value may fold several
 * challenges). Challenges of other schemes (Bearer, Payment…) are skipped; a challenge without
 * both a macaroon/token and an invoice is skipped too.
 */
export function parseChallenges(values: string | readonly string[]): Challenge[] {
  const out: Challenge[] = [];
  for (const value of typeof values === 'string' ? [values] : values) {
    // Find every "<scheme> " start and parse the parameters that follow it.
    const re = /(?:^|,)\s*([A-Za-z][A-Za-z0-9_-]*)\s+(?=[A-Za-z0-9_-]+\s*=)/g;
    const starts: { scheme: string; at: number; end: number }[] = [];
    for (const m of value.matchAll(re)) starts.push({ scheme: m[1]!, at: m.index, end: m.index + m[0].length });
    for (const [i, st] of starts.entries()) {
      const body = value.slice(st.end, starts[i + 1]?.at ?? value.length);
      const scheme = st.scheme.toUpperCase();
      if (scheme !== 'L402' && scheme !== 'LSAT') continue;
      const map = new Map(params(body).pairs);
      const mac = map.get('macaroon') ?? map.get('token');
      const invoice = map.get('invoice');
      if (!mac || !invoice) continue;
      out.push({ scheme: scheme as Scheme, macaroon: mac, invoice: invoice.replace(/^lightning:/i, ''), version: map.get('version'), param: map.has('macaroon') ? 'macaroon' : 'token' });
    }
  }
  return out;
}

export interface Credential {
  scheme: Scheme;
  macaroons: string[];
  preimage: string;
}

/** `L402 <mac>[,<mac>]:<preimage>`. */
export function formatCredential(c: { macaroons: readonly string[]; preimage: string; scheme?: Scheme }): string {
  return `${c.scheme ?? 'L402'} ${c.macaroons.join(',')}:${c.preimage}`;
}

/** Parse one Authorization value; null when it is not an L402/LSAT credential (aperture's rule). */
export function parseCredential(value: string | null | undefined): Credential | null {
  if (!value) return null;
  const m = /^(LSAT|L402) (.*?):([a-f0-9]{64})$/.exec(value.trim());
  if (!m?.[2]) return null;
  const macaroons = m[2].split(',').map((s) => s.trim());
  if (macaroons.some((s) => !/^[A-Za-z0-9+/_-]+={0,2}$/.test(s))) return null;
  return { scheme: m[1] as Scheme, macaroons, preimage: m[3]! };
}
