/** Python `json` parity: float repr, key order, escapes, separators, number kinds (values checked against CPython 3 output). */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { codePointCompare, dumpsPy, parsePyJson, PyFloat, pyFloatRepr, pyStr, pyTruthy } from './pyjson.ts';

describe('repr(float)', () => {
  it.each([
    [0, '0.0'],
    [-0, '-0.0'],
    [0.4, '0.4'],
    [1, '1.0'],
    [0.1 + 0.2, '0.30000000000000004'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [1.5e-7, '1.5e-07'],
    [1e15, '1000000000000000.0'],
    [1e16, '1e+16'],
    [1.2345e17, '1.2345e+17'],
    [123.456, '123.456'],
    [1e22, '1e+22'],
    [-2.5, '-2.5'],
  ])('%s → %s', (x, want) => {
    expect(pyFloatRepr(x)).toBe(want);
  });
  test.prop([fc.double({ noNaN: true, noDefaultInfinity: true })])('round-trips through Number()', (x) => {
    expect(Number(pyFloatRepr(x))).toBe(x);
  });
});

describe('json.dumps(sort_keys=True, ensure_ascii=False)', () => {
  it('default separators, sorted keys, nested', () => {
    expect(dumpsPy({ b: 1, a: [1, 2, { d: null, c: true }] })).toBe('{"a": [1, 2, {"c": true, "d": null}], "b": 1}');
  });
  it('compact separators', () => {
    expect(dumpsPy({ b: 1, a: [1, 2] }, { compact: true })).toBe('{"a":[1,2],"b":1}');
  });
  it('non-ASCII as itself, control characters escaped like Python', () => {
    expect(dumpsPy('привет ✓ 😀')).toBe('"привет ✓ 😀"');
    expect(dumpsPy('a"b\\c\n\t\u0001\u001f\u007f')).toBe('"a\\"b\\\\c\\n\\t\\u0001\\u001f\u007f"');
    expect(dumpsPy('/')).toBe('"/"');
  });
  it('whole floats keep their .0 when marked, as parsed from a float lexeme', () => {
    expect(dumpsPy(parsePyJson('{"x": 0.0, "y": 1e2, "z": 3, "w": 0.5}'))).toBe('{"w": 0.5, "x": 0.0, "y": 100.0, "z": 3}');
    expect(dumpsPy(new PyFloat(2))).toBe('2.0');
  });
  it('big ints stay exact', () => {
    expect(dumpsPy(parsePyJson('123456789012345678901234567890'))).toBe('123456789012345678901234567890');
  });
  it('keys sort by code point, not UTF-16 unit', () => {
    const a = '\u{1F600}';
    const b = '\uFF01';
    expect(codePointCompare(a, b)).toBe(1);
    expect(dumpsPy({ [a]: 1, [b]: 2 }, { compact: true })).toBe(`{"${b}":2,"${a}":1}`);
  });
});

describe('parsePyJson', () => {
  it('refuses what json.loads refuses', () => {
    for (const bad of ['{', '[1,]', '01', '"\u0001"', '{"a":1}x', "{'a':1}", '1.', '.5']) expect(() => parsePyJson(bad)).toThrow();
  });
  it('unicode escapes decode, duplicate keys keep the last', () => {
    expect(parsePyJson('{"a":"\\u00e9","a":"\\u0041"}')).toEqual({ a: 'A' });
  });
  it('__proto__ is an ordinary key', () => {
    const v = parsePyJson('{"__proto__": 1}') as Record<string, unknown>;
    expect(Object.keys(v)).toEqual(['__proto__']);
  });
});

describe('str() and truthiness', () => {
  it('as f-strings interpolate them', () => {
    expect([pyStr(null), pyStr(true), pyStr(false), pyStr(5), pyStr(new PyFloat(5)), pyStr(0.4), pyStr('x')]).toEqual(['None', 'True', 'False', '5', '5.0', '0.4', 'x']);
    expect([pyTruthy(0), pyTruthy(''), pyTruthy([]), pyTruthy({}), pyTruthy(new PyFloat(0)), pyTruthy('0'), pyTruthy(1), pyTruthy(null)]).toEqual([
      false,
      false,
      false,
      false,
      false,
      true,
      true,
      false,
    ]);
  });
});
