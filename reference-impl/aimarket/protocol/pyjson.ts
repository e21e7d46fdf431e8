/**
 * Python `json` parity for AI Market digests and canonical strings (spec §7.3.1).
 *
 * The spec's digests are `sha256(json.dumps(v, sort_keys=True, ensure_ascii=False))` with Python's
 * default separators (manifest) or compact ones (receipt v2), and its canonical strings interpolate
 * values with Python's `str()`. Two things a JavaScript `JSON.stringify` gets wrong: a float whose
 * value is whole (`0.0`, `1.0`) is printed as `0`/`1`, and Python chooses exponent notation at other
 * thresholds (`1e-05`, `1e+16`). So numbers must keep their JSON kind: {@link parsePyJson} reads a
 * document as Python's `json.loads` does (a number lexeme with `.`, `e` or `E` is a float, any
 * other an int of any size) and marks whole floats as {@link PyFloat}; {@link dumpsPy} prints as
 * `json.dumps` does. Keys sort by code point (Python string order), not by UTF-16 unit.
 */

/** A Python float whose value is whole (`1.0`, `-0.0`, `1e+16`): kept apart from an int of the same value. */
export class PyFloat {
  constructor(readonly value: number) {}
  toJSON(): number {
    return this.value;
  }
}

/** A JSON value as Python sees it: whole floats are {@link PyFloat}, big ints are bigint. */
export type PyValue = null | boolean | string | number | bigint | PyFloat | PyValue[] | { [k: string]: PyValue };

/** A float marker for values a producer means as Python floats (`pyFloat(0)` prints `0.0`). */
export const pyFloat = (x: number): PyValue => (Number.isInteger(x) ? new PyFloat(x) : x);

/** Python's `repr(float)`: shortest round-trip digits, `.0` on whole values, exponent below 1e-4 and from 1e16. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expStr] = x.toExponential().split('e') as [string, string];
  const exp = Number(expStr);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  let out: string;
  if (exp >= -4 && exp < 16) {
    if (exp < 0) out = `0.${'0'.repeat(-exp - 1)}${digits}`;
    else if (digits.length <= exp + 1) out = `${digits}${'0'.repeat(exp + 1 - digits.length)}.0`;
    else out = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  } else {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    out = `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return neg ? `-${out}` : out;
}

/** Python's `str()` of a JSON value read by {@link parsePyJson} (what an f-string interpolates). */
export function pyStr(v: PyValue | undefined): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof PyFloat) return pyFloatRepr(v.value);
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : pyFloatRepr(v);
  throw new TypeError('pyStr: containers are not interpolated by any canonical string');
}

/** Python truthiness (`1 if r.get('success') else 0`). */
export function pyTruthy(v: PyValue | undefined): boolean {
  if (v === null || v === undefined || v === false) return false;
  if (v === true) return true;
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'bigint') return v !== 0n;
  if (v instanceof PyFloat) return v.value !== 0;
  if (typeof v === 'number') return v !== 0;
  if (Array.isArray(v)) return v.length > 0;
  return Object.keys(v).length > 0;
}

/** Compare strings by code point, as Python sorts `str` keys. */
export function codePointCompare(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

function dumpString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/**
 * `json.dumps(v, sort_keys=True, ensure_ascii=False)`; `compact` = `separators=(",", ":")`.
 * Plain JS numbers print as ints when whole, as Python floats otherwise; wrap whole floats in {@link PyFloat}.
 */
export function dumpsPy(v: PyValue | undefined, opts: { compact?: boolean } = {}): string {
  const item = opts.compact ? ',' : ', ';
  const kv = opts.compact ? ':' : ': ';
  const go = (x: PyValue | undefined): string => {
    if (x === null || x === undefined) return 'null';
    if (x === true) return 'true';
    if (x === false) return 'false';
    if (typeof x === 'string') return dumpString(x);
    if (typeof x === 'bigint') return x.toString();
    if (x instanceof PyFloat) return pyFloatRepr(x.value);
    if (typeof x === 'number') return Number.isInteger(x) && Math.abs(x) < 2 ** 53 ? String(x) : pyFloatRepr(x);
    if (Array.isArray(x)) return `[${x.map(go).join(item)}]`;
    const keys = Object.keys(x).sort(codePointCompare);
    return `{${keys.map((k) => `${dumpString(k)}${kv}${go(x[k])}`).join(item)}}`;
  };
  return go(v);
}

/** Thrown by {@link parsePyJson} on text Python's `json.loads` would refuse. */
export class PyJsonError extends Error {}

/**
 * `json.loads` with number kinds kept: whole floats become {@link PyFloat}, ints beyond 2^53 bigint.
 * Accepts what Python accepts (NaN/Infinity literals included); duplicate keys keep the last value.
 */
export function parsePyJson(text: string): PyValue {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const fail = (why: string): never => {
    throw new PyJsonError(`${why} at offset ${i}`);
  };
  const value = (): PyValue => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const o: Record<string, PyValue> = {};
      ws();
      if (text[i] === '}') {
        i++;
        return o;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a key');
        const k = str();
        ws();
        if (text[i] !== ':') fail("expected ':'");
        i++;
        Object.defineProperty(o, k, { value: value(), enumerable: true, writable: true, configurable: true });
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return o;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      const a: PyValue[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return a;
      }
      for (;;) {
        a.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return a;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    for (const [lit, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
      ['NaN', Number.NaN],
      ['Infinity', Infinity],
      ['-Infinity', -Infinity],
    ] as const) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return v;
      }
    }
    const m = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) return fail('unexpected character');
    i += m[0].length;
    if (m[1] === undefined && m[2] === undefined) {
      const big = BigInt(m[0]);
      return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
    }
    const f = Number(m[0]);
    return Number.isInteger(f) || !Number.isFinite(f) ? new PyFloat(f) : f;
  };
  const str = (): string => {
    i++;
    let out = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) fail('unterminated string');
      if (c === '"') {
        i++;
        return out;
      }
      if (c === '\\') {
        const e = text[i + 1];
        const map: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e === 'u') {
          const h = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(h)) fail('bad \\u escape');
          out += String.fromCharCode(Number.parseInt(h, 16));
          i += 6;
        } else if (e !== undefined && map[e] !== undefined) {
          out += map[e];
          i += 2;
        } else fail('bad escape');
      } else {
        if (c.charCodeAt(0) < 0x20) fail('control character in string');
        out += c;
        i++;
      }
    }
  };
  const v = value();
  ws();
  if (i !== text.length) fail('extra data');
  return v;
}
