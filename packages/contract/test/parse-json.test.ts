import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_JSON_LIMITS, parseJson, reportSchema } from '../src/index.ts';
import { details, expectMosaicError } from './support/expect-error.ts';
import { minimalReport } from './support/reports.ts';

const utf8 = (text: string) => new TextEncoder().encode(text);

/** Deep copy with every string and key NFC-normalised (what parseJson promises). */
function normalised(value: unknown): unknown {
  if (typeof value === 'string') return value.normalize('NFC');
  if (Array.isArray(value)) return value.map(normalised);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k.normalize('NFC'), normalised(v)]),
    );
  return value;
}

/** True when some object repeats a key once normalised, or uses a forbidden key. */
function hasCollidingKeys(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasCollidingKeys);
  if (typeof value !== 'object' || value === null) return false;
  const keys = Object.keys(value).map((k) => k.normalize('NFC'));
  if (new Set(keys).size !== keys.length) return true;
  if (keys.some((k) => ['__proto__', 'constructor', 'prototype'].includes(k))) return true;
  return Object.values(value).some(hasCollidingKeys);
}

describe('parseJson: grammar', () => {
  it('parses every JSON value type, from bytes and from strings', () => {
    const text = '{"a":[1,-2.5e3,0,-0.25,true,false,null,"x"],"b":{},"c":[]}';
    const expected = { a: [1, -2500, 0, -0.25, true, false, null, 'x'], b: {}, c: [] };
    expect(parseJson(text)).toEqual(expected);
    expect(parseJson(utf8(text))).toEqual(expected);
    expect(parseJson(' \t\r\n 42 \n')).toBe(42);
    expect(parseJson('"s"')).toBe('s');
  });

  it('decodes every escape, including surrogate pairs', () => {
    expect(parseJson(String.raw`"\" \\ \/ \b \f \n \r \t \u0041 \ud83d\ude00 \u00e9"`)).toBe(
      '" \\ / \b \f \n \r \t A 😀 é',
    );
  });

  it.each([
    ['empty input', ''],
    ['white space only', '   '],
    ['trailing comma in array', '[1,2,]'],
    ['trailing comma in object', '{"a":1,}'],
    ['line comment', '{"a":1} // c'],
    ['block comment', '/* c */ {"a":1}'],
    ['leading zero', '[01]'],
    ['negative leading zero', '-01'],
    ['leading plus', '+1'],
    ['bare dot', '.5'],
    ['dot without digits', '1.'],
    ['exponent without digits', '1e'],
    ['exponent sign only', '1e+'],
    ['hex number', '0x10'],
    ['NaN', 'NaN'],
    ['Infinity', 'Infinity'],
    ['single quotes', "'a'"],
    ['unquoted key', '{a:1}'],
    ['missing colon', '{"a" 1}'],
    ['missing comma', '[1 2]'],
    ['unterminated string', '"abc'],
    ['unterminated array', '[1,2'],
    ['unterminated object', '{"a":1'],
    ['raw control character in string', '"a\u0001b"'],
    ['raw newline in string', '"a\nb"'],
    ['invalid escape', String.raw`"\x41"`],
    ['short unicode escape', String.raw`"\u12"`],
    ['non-hex unicode escape', String.raw`"\u12G4"`],
    ['lone high surrogate escape', String.raw`"\ud800"`],
    ['high surrogate followed by a letter', String.raw`"\ud800x"`],
    ['high surrogate followed by non-low escape', String.raw`"\ud800\u0041"`],
    ['lone low surrogate escape', String.raw`"\udc00"`],
    ['two values', '1 2'],
    ['truncated literal', 'tru'],
    ['literal with tail', 'nullx'],
    ['capitalised literal', 'True'],
    ['byte order mark', '\uFEFF{}'],
    ['non-breaking space as white space', '\u00A0{}'],
    ['mismatched brackets', '[1}'],
    ['number too large for a double', '1e400'],
    ['negative number too large for a double', '-1e400'],
  ])('rejects %s with ERR_JSON_SYNTAX and an offset', (_name, text) => {
    const error = expectMosaicError(() => parseJson(text), 'ERR_JSON_SYNTAX');
    expect(typeof details(error)['offset']).toBe('number');
  });

  it('reports the UTF-8 byte offset where parsing stopped', () => {
    const error = expectMosaicError(() => parseJson('{"é":1,}'), 'ERR_JSON_SYNTAX');
    // `{"é":1,` is 8 bytes (é takes two), so the offending `}` is at byte 8
    expect(details(error)['offset']).toBe(8);
  });

  it.each([
    ['underflow to 0', '1e-400', 0],
    ['negative underflow to -0', '-1e-400', -0],
    ['a fraction past a double’s precision', '75.0000000000000000001', 75],
    ['an integer past 2^53', '9007199254740993', 9007199254740992],
    ['more digits than the shortest form', '0.10000000000000000555', 0.1],
    ['a huge negative exponent', '5e-99999999999999999999', 0],
  ])(
    'refuses a number that does not read exactly (%s) with ERR_JSON_NUMBER',
    (_name, text, reads) => {
      const error = expectMosaicError(() => parseJson(`{"a":[1,${text}]}`), 'ERR_JSON_NUMBER');
      expect(details(error)).toMatchObject({ offset: 8, path: 'a.1', number: text, reads });
    },
  );

  it.each([
    ['0', 0],
    ['-0', -0],
    ['0.0', 0],
    ['0e5', 0],
    ['75', 75],
    ['75.0', 75],
    ['7.5e1', 75],
    ['750E-1', 75],
    ['0.1', 0.1],
    ['0.10', 0.1],
    ['1e-7', 1e-7],
    ['1E+21', 1e21],
    ['5e-324', 5e-324],
    ['1.7976931348623157e308', Number.MAX_VALUE],
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
    ['9007199254740992', 2 ** 53],
  ])('reads %s exactly', (text, value) => {
    expect(parseJson(text)).toBe(value);
  });

  it('shortens a very long number in the error', () => {
    const text = `1.${'0'.repeat(1000)}1`;
    const error = expectMosaicError(() => parseJson(text), 'ERR_JSON_NUMBER');
    expect(String(details(error)['number']).length).toBeLessThanOrEqual(64);
  });
});

describe('parseJson: input and limits', () => {
  it('rejects invalid UTF-8 with the offset of the bad byte', () => {
    const bytes = Uint8Array.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]);
    const error = expectMosaicError(() => parseJson(bytes), 'ERR_JSON_SYNTAX');
    expect(details(error)['offset']).toBe(6);
  });

  it.each([
    ['overlong encoding', [0x22, 0xc0, 0xaf, 0x22]],
    ['encoded surrogate', [0x22, 0xed, 0xa0, 0x80, 0x22]],
    ['truncated sequence at the end', [0x22, 0xe2, 0x82]],
    ['stray continuation byte', [0x22, 0x80, 0x22]],
  ])('rejects %s as ERR_JSON_SYNTAX', (_name, bytes) => {
    expectMosaicError(() => parseJson(Uint8Array.from(bytes)), 'ERR_JSON_SYNTAX');
  });

  it('rejects a string input holding a lone surrogate', () => {
    const error = expectMosaicError(() => parseJson('"ab\uD800"'), 'ERR_JSON_SYNTAX');
    expect(details(error)['offset']).toBe(3);
  });

  it('checks the byte limit first, counting UTF-8 bytes of strings', () => {
    expect(DEFAULT_JSON_LIMITS).toEqual({ maxBytes: 262_144, maxDepth: 32 });
    // 3 code units but 7 bytes: over a 6-byte limit
    const error = expectMosaicError(
      () => parseJson('"é€"', { maxBytes: 6 }),
      'ERR_PAYLOAD_TOO_LARGE',
    );
    expect(details(error)).toMatchObject({ limit: 6, size: 7 });
    expect(parseJson('"é€"', { maxBytes: 7 })).toBe('é€');
    // size is checked before syntax, depth or UTF-8 validity
    expectMosaicError(
      () => parseJson(Uint8Array.from([0xff, 0xff]), { maxBytes: 1 }),
      'ERR_PAYLOAD_TOO_LARGE',
    );
    expectMosaicError(
      () => parseJson('[[[[', { maxBytes: 3, maxDepth: 1 }),
      'ERR_PAYLOAD_TOO_LARGE',
    );
  });

  it('applies the default 256 KiB limit', () => {
    const at = `"${'a'.repeat(262_142)}"`;
    expect(parseJson(at)).toHaveLength(262_142);
    expectMosaicError(() => parseJson(`${at} `), 'ERR_PAYLOAD_TOO_LARGE');
    expectMosaicError(() => parseJson(utf8(`${at} `)), 'ERR_PAYLOAD_TOO_LARGE');
  });

  it('rejects nonsensical limits with ERR_USAGE', () => {
    expectMosaicError(() => parseJson('1', { maxBytes: -1 }), 'ERR_USAGE');
    expectMosaicError(() => parseJson('1', { maxDepth: Number.NaN }), 'ERR_USAGE');
  });

  it('accepts nesting up to maxDepth and rejects one more level with the path', () => {
    const nested = (n: number) => '['.repeat(n) + ']'.repeat(n);
    expect(() => parseJson(nested(32))).not.toThrow();
    const error = expectMosaicError(() => parseJson(nested(33)), 'ERR_JSON_DEPTH');
    expect(details(error)).toMatchObject({ limit: 32 });
    expectMosaicError(() => parseJson('{"a":{"b":[{}]}}', { maxDepth: 3 }), 'ERR_JSON_DEPTH');
    expect(parseJson('{"a":{"b":[{}]}}', { maxDepth: 4 })).toEqual({ a: { b: [{}] } });
    const withPath = expectMosaicError(
      () => parseJson('{"a":[0,{"b":[]}]}', { maxDepth: 3 }),
      'ERR_JSON_DEPTH',
    );
    expect(details(withPath)['path']).toBe('a.1.b');
    expectMosaicError(() => parseJson('[]', { maxDepth: 0 }), 'ERR_JSON_DEPTH');
  });

  it('never exhausts the stack: 10,000 levels and 1 MB of [ ', () => {
    expectMosaicError(() => parseJson('['.repeat(10_000) + ']'.repeat(10_000)), 'ERR_JSON_DEPTH');
    expectMosaicError(
      () => parseJson('['.repeat(1_048_576), { maxBytes: 2_000_000 }),
      'ERR_JSON_DEPTH',
    );
    // even without a depth limit the iterative parser only runs out of input
    expectMosaicError(
      () => parseJson('['.repeat(1_048_576), { maxBytes: 2_000_000, maxDepth: Infinity }),
      'ERR_JSON_SYNTAX',
    );
    const deep = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000);
    expect(parseJson(deep, { maxBytes: 1e6, maxDepth: Infinity })).toBeTypeOf('object');
  });
});

describe('parseJson: keys and objects', () => {
  it('rejects a duplicate key with its key and path', () => {
    const error = expectMosaicError(
      () => parseJson('{"a":{"list":[{"x":1,"y":2,"x":3}]}}'),
      'ERR_JSON_DUPLICATE_KEY',
    );
    expect(details(error)).toMatchObject({ key: 'x', path: 'a.list.0.x' });
  });

  it('compares keys after NFC normalisation', () => {
    const error = expectMosaicError(
      () => parseJson('{"é":1,"e\u0301":2}'),
      'ERR_JSON_DUPLICATE_KEY',
    );
    expect(details(error)['key']).toBe('é');
    // the same through an escape
    expectMosaicError(() => parseJson(String.raw`{"\u00e9":1,"é":2}`), 'ERR_JSON_DUPLICATE_KEY');
  });

  it.each(['__proto__', 'constructor', 'prototype'])('rejects the key %s', (key) => {
    const error = expectMosaicError(
      () => parseJson(`{"ok":{"${key}":{"polluted":true}}}`),
      'ERR_JSON_FORBIDDEN_KEY',
    );
    expect(details(error)).toMatchObject({ key, path: `ok.${key}` });
  });

  it('rejects a forbidden key written with escapes', () => {
    expectMosaicError(() => parseJson(String.raw`{"\u005f_proto__":{}}`), 'ERR_JSON_FORBIDDEN_KEY');
  });

  it('builds objects without a prototype and never touches Object.prototype', () => {
    const value = parseJson('{"a":{"b":1}}') as Record<string, Record<string, unknown>>;
    expect(Object.getPrototypeOf(value)).toBeNull();
    expect(Object.getPrototypeOf(value['a'])).toBeNull();
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Array.isArray(parseJson('[1]'))).toBe(true);
  });

  it('yields objects that zod strict schemas still accept', () => {
    const text = JSON.stringify(minimalReport());
    const value = parseJson(text);
    expect(Object.getPrototypeOf(value)).toBeNull();
    expect(reportSchema.safeParse(value).success).toBe(true);
  });

  it('NFC-normalises keys and values', () => {
    const value = parseJson('{"cafe\u0301":"Chis\u0326ina\u0306u"}') as Record<string, string>;
    expect(Object.keys(value)).toEqual(['café']);
    expect(value['café']).toBe('Chi\u0219in\u0103u');
  });
});

describe('parseJson: properties', () => {
  it('reads every safe integer', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        expect(parseJson(String(n))).toBe(n);
      }),
      { numRuns: 1000 },
    );
  });

  it('reads every double from its shortest form, and from any other spelling of that decimal', () => {
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.nat({ max: 5 }),
        fc.boolean(),
        (d, zeros, upper) => {
          const text = JSON.stringify(d);
          expect(parseJson(text)).toBe(d === 0 ? 0 : d);
          // The same decimal with trailing zeros and a shifted exponent.
          const [mantissa = '', exponent = '0'] = text.split(/e/i);
          const padded = `${mantissa.includes('.') ? mantissa : `${mantissa}.`}${'0'.repeat(zeros)}`;
          const respelled = `${padded.replace(/\.$/, '.0')}${upper ? 'E' : 'e'}${Number(exponent)}`;
          expect(parseJson(respelled)).toBe(d === 0 ? 0 : d);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuses a double’s shortest form with a digit past its precision', () => {
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => d !== 0),
        fc.integer({ min: 1, max: 9 }),
        (d, digit) => {
          // 18 or more significant digits, the last one non-zero: never a double's shortest form.
          const [mantissa = '', exponent] = JSON.stringify(d).split(/e/i);
          const fraction = mantissa.includes('.') ? '' : '.';
          const text = `${mantissa}${fraction}${'0'.repeat(20)}${digit}${exponent === undefined ? '' : `e${exponent}`}`;
          expectMosaicError(() => parseJson(text), 'ERR_JSON_NUMBER');
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuses every integer between 2^53 and 2^54 that a double cannot hold', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 2n ** 53n, max: 2n ** 54n - 1n }), (b) => {
        const odd = b | 1n;
        expectMosaicError(() => parseJson(String(odd)), 'ERR_JSON_NUMBER');
        expect(parseJson(String(odd - 1n))).toBe(Number(odd - 1n));
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses underflow of any non-zero decimal below the smallest double', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 325, max: 100_000 }),
        (digit, exp) => {
          expectMosaicError(() => parseJson(`${digit}e-${exp}`), 'ERR_JSON_NUMBER');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('agrees with JSON.parse on JSON without duplicate or forbidden keys', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), (value) => {
        fc.pre(!hasCollidingKeys(value));
        const text = JSON.stringify(value);
        expect(parseJson(text)).toEqual(JSON.parse(text));
        expect(parseJson(utf8(text))).toEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  it('agrees with JSON.parse up to NFC on full Unicode, and is idempotent', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5, stringUnit: 'grapheme' }), (value) => {
        fc.pre(!hasCollidingKeys(value));
        const text = JSON.stringify(value);
        const parsed = parseJson(text);
        expect(parsed).toEqual(normalised(JSON.parse(text)));
        expect(parseJson(JSON.stringify(parsed))).toEqual(parsed);
      }),
      { numRuns: 300 },
    );
  });

  it('agrees with JSON.stringify output formatted with indentation', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        fc.pre(!hasCollidingKeys(value));
        const text = JSON.stringify(value, null, '\t');
        expect(parseJson(text)).toEqual(JSON.parse(text));
      }),
      { numRuns: 100 },
    );
  });

  it('never throws anything but a MosaicError on arbitrary input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          parseJson(bytes);
        } catch (err) {
          expect((err as { name?: unknown }).name).toBe('MosaicError');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('rejects every JSON text with a duplicated key', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 8 }),
        fc.jsonValue({ maxDepth: 1 }),
        (key, v) => {
          fc.pre(!['__proto__', 'constructor', 'prototype'].includes(key.normalize('NFC')));
          // A forbidden key inside the value would be refused first, with its own code.
          fc.pre(!/"(?:__proto__|constructor|prototype)":/.test(JSON.stringify(v)));
          const k = JSON.stringify(key);
          const text = `{${k}:${JSON.stringify(v)},${k}:1}`;
          expectMosaicError(() => parseJson(text), 'ERR_JSON_DUPLICATE_KEY');
        },
      ),
    );
  });
});
