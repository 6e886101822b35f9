import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assertReportIdentifiersSafe,
  assertSafeIdentifier,
  assertSubjectToken,
  findUnsafeCharacter,
  findUnsafeTextCharacter,
  hasUnsafeCharacters,
  isSubjectToken,
  parseReport,
  validateReport,
} from '../src/index.ts';
import { details, expectMosaicError } from './support/expect-error.ts';
import { example, minimalReport } from './support/reports.ts';

const UNSAFE = [
  ...['\u0000', '\u0009', '\u000A', '\u001F', '\u007F', '\u0080', '\u009F'],
  ...['\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069'],
  ...['\u200E', '\u200F', '\u061C', '\u200B', '\u200C', '\u200D', '\uFEFF', '\u2060'],
  ...['\u00AD', '\u2028', '\u2029', '\u3164', '\u{E0041}', '\uD800'],
];

describe('unsafe characters in identifiers', () => {
  it.each(UNSAFE.map((c) => [`U+${c.codePointAt(0)!.toString(16).toUpperCase()}`, c]))(
    'finds %s',
    (_name, char) => {
      expect(hasUnsafeCharacters(`nl${char}police`)).toBe(true);
      expect(findUnsafeCharacter(`nl${char}police`)?.index).toBe(2);
    },
  );

  it('accepts ordinary identifiers, including non-Latin letters', () => {
    for (const id of [
      'nl-police',
      'NL91ABNA0417164300',
      '+31612345678',
      'Chișinău',
      'пример',
      'مثال',
    ])
      expect(hasUnsafeCharacters(id)).toBe(false);
  });

  it('names the code point and the path', () => {
    expect(findUnsafeCharacter('ab\u202Ec')).toEqual({ index: 2, codePoint: 'U+202E' });
    const error = expectMosaicError(() => {
      assertSafeIdentifier('de-bka\u200B', 'kid');
    }, 'ERR_UNSAFE_CHARACTERS');
    expect(details(error)).toMatchObject({ path: 'kid', codePoint: 'U+200B', index: 6 });
    expect(() => {
      assertSafeIdentifier('de-bka-2025', 'kid');
    }).not.toThrow();
  });

  it.each([
    ['reportId', 'reportId', '3f1c2a9e-5b7d-4e21-a6c3-8d9e0f1a2b3c\u200D', 'reportId'],
    ['issuer', 'issuer', '\u202Enl-police', 'issuer'],
    ['origin', 'origin', 'N\u200BL', 'origin'],
    ['jurisdictions', 'jurisdictions', ['NL', 'D\u2060E'], 'jurisdictions.1'],
    [
      'phone',
      'indicators',
      [{ type: 'phone', number: '+31\uFEFF612345678' }],
      'indicators.0.number',
    ],
    [
      'handle',
      'indicators',
      [{ type: 'online-handle', handle: 'ad\u200Bmin', platform: 'vk' }],
      'indicators.0.handle',
    ],
    [
      'place country',
      'indicators',
      [{ type: 'location', place: { name: 'x', country: 'N\u0000L' } }],
      'indicators.0.place.country',
    ],
    [
      'release agencies',
      'handling',
      { tlp: 'RED', releasableTo: { agencies: ['de-bka\u061C'] } },
      'handling.releasableTo.agencies.0',
    ],
    [
      'not-release jurisdictions',
      'handling',
      { tlp: 'RED', notReleasableTo: { jurisdictions: ['\u2066RU'] } },
      'handling.notReleasableTo.jurisdictions.0',
    ],
    ['lineage', 'lineage', { relatesTo: ['x\u200F'] }, 'lineage.relatesTo.0'],
  ] as const)(
    'refuses an unsafe character in %s before the schema runs',
    (_name, field, value, path) => {
      const report = minimalReport();
      report[field] = value;
      const error = expectMosaicError(() => validateReport(report), 'ERR_UNSAFE_CHARACTERS');
      expect(details(error)['path']).toBe(path);
    },
  );

  it('allows a RLM in a name (free text is checked by its own rule, below)', () => {
    const report = minimalReport({ type: 'person', name: 'سارة\u200F Example' });
    expect(() => validateReport(report)).not.toThrow();
  });

  it('ignores values that are not strings (the schema reports them)', () => {
    expect(() => {
      assertReportIdentifiersSafe({ issuer: 42, jurisdictions: 'NL', indicators: [null, 1] });
    }).not.toThrow();
    expect(() => {
      assertReportIdentifiersSafe(null);
    }).not.toThrow();
  });

  it('catches unsafe characters that arrive through JSON escapes', () => {
    const text = JSON.stringify(example('recruitment-advert')).replace(
      '"ro-dicot"',
      '"ro-dicot\\u202e"',
    );
    const error = expectMosaicError(() => parseReport(text), 'ERR_UNSAFE_CHARACTERS');
    expect(details(error)['path']).toBe('issuer');
  });
});

describe('Trojan Source in free text', () => {
  const withNarrative = (narrative: string) => ({ ...minimalReport(), narrative });

  it.each([
    ['LRE', '\u202A'],
    ['RLE', '\u202B'],
    ['PDF', '\u202C'],
    ['LRO', '\u202D'],
    ['RLO', '\u202E'],
  ])('refuses the bidi embedding or override %s, even when closed', (_name, char) => {
    const error = expectMosaicError(
      () => validateReport(withNarrative(`Paid ${char}0051 EUR\u202C in cash.`)),
      'ERR_UNSAFE_CHARACTERS',
    );
    expect(details(error)).toMatchObject({ path: 'narrative', index: 5, reason: 'bidi-override' });
  });

  it.each([
    ['an isolate never closed', 'a \u2067שלום b', 2],
    ['an isolate closed only on the next line', 'a \u2068שלום\n\u2069 b', 2],
    ['a closing PDI without an isolate', 'a \u2069 b', 2],
    ['one of two nested isolates left open', '\u2066a \u2067b\u2069', 0],
  ])('refuses %s', (_name, text, index) => {
    const error = expectMosaicError(
      () => validateReport(withNarrative(text)),
      'ERR_UNSAFE_CHARACTERS',
    );
    expect(details(error)).toMatchObject({
      path: 'narrative',
      index,
      reason: 'unbalanced-isolate',
    });
  });

  it.each([
    ['zero-width space', 'pass\u200Bport'],
    ['word joiner', 'pass\u2060port'],
    ['BOM / zero-width no-break space', '\uFEFFpassport'],
    ['soft hyphen', 'pass\u00ADport'],
    ['tag character (hidden ASCII)', 'passport\u{E0041}\u{E0042}'],
    ['invisible times', 'a\u2062b'],
    ['Hangul filler', 'pass\u3164port'],
    ['ZWJ inside ASCII', 'pay\u200Dpal'],
    ['ZWNJ at the start', '\u200Cpassport'],
    ['ZWNJ before a digit', 'رقم\u200C5'],
  ])('refuses the invisible %s', (_name, text) => {
    const error = expectMosaicError(
      () => validateReport(withNarrative(text)),
      'ERR_UNSAFE_CHARACTERS',
    );
    expect(details(error)).toMatchObject({ path: 'narrative', reason: 'invisible' });
  });

  it.each([
    ['Arabic', 'أعلن المجند عن عمل في هولندا مقابل 1800 يورو شهريًا.'],
    ['Hebrew', 'המגייס ביקש את הדרכונים "לצורך החוזה".'],
    ['mixed with RLM, LRM and ALM', 'Name: سارة\u200F (age 19), ref \u200E+40 723\u061C.'],
    ['Persian with ZWNJ', 'می\u200Cخواهم کار کنم'],
    ['Devanagari with ZWJ and ZWNJ', 'क्\u200Dष क्\u200Cष'],
    ['an emoji ZWJ sequence', 'Profile picture 👩\u200D👩\u200D👧 and 🏳️\u200D🌈'],
    [
      'balanced isolates, nested, on several lines',
      'a \u2067שלום \u2066ok\u2069\u2069\nb \u2068x\u2069',
    ],
    ['an Arabic number sign', '\u0600١٢٣'],
  ])('accepts legitimate text: %s', (_name, text) => {
    expect(validateReport(withNarrative(text)).narrative).toBe(text);
  });

  it.each([
    [
      'an indicator note',
      { type: 'phone', number: '+31612345678', note: 'x\u202Ey' },
      'indicators.0.note',
    ],
    ['a person name', { type: 'person', name: 'Ann\u2067a' }, 'indicators.0.name'],
    [
      'a vehicle make',
      { type: 'vehicle', plate: 'AB123', make: 'Fo\u200Brd' },
      'indicators.0.make',
    ],
    [
      'a place name',
      { type: 'location', place: { name: 'Cons\u202Etanta', country: 'RO' } },
      'indicators.0.place.name',
    ],
  ] as const)('checks every free-text field: %s', (_name, indicator, path) => {
    const error = expectMosaicError(
      () => validateReport(minimalReport(indicator)),
      'ERR_UNSAFE_CHARACTERS',
    );
    expect(details(error)['path']).toBe(path);
  });

  it('catches controls that arrive through JSON escapes, and names them', () => {
    const text = JSON.stringify(minimalReport()).replace('"Test report."', '"Test \\u202ereport."');
    const error = expectMosaicError(() => parseReport(text), 'ERR_UNSAFE_CHARACTERS');
    expect(error.message).toContain('U+202E');
    expect(details(error)).toMatchObject({ path: 'narrative', codePoint: 'U+202E' });
  });

  it('holds for every string: text without format characters passes; an override anywhere fails', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme' }),
        fc.nat(),
        fc.constantFrom('\u202A', '\u202B', '\u202C', '\u202D', '\u202E'),
        (text, at, override) => {
          const plain = text.replace(/[\p{Cf}\p{Cs}\u034F\u115F\u1160\u3164\uFFA0]/gu, '');
          expect(findUnsafeTextCharacter(plain)).toBeUndefined();
          let cut = at % (plain.length + 1);
          // Never between the two halves of a surrogate pair.
          if (/[\uDC00-\uDFFF]/.test(plain.charAt(cut))) cut--;
          const spoiled = plain.slice(0, cut) + override + plain.slice(cut);
          expect(findUnsafeTextCharacter(spoiled)).toMatchObject({
            index: cut,
            reason: 'bidi-override',
          });
        },
      ),
    );
  });
});

describe('subject tokens', () => {
  it('accepts ordinary tokens', () => {
    for (const token of [
      'nl-police',
      'NL',
      'SCHENGEN',
      'financial-flow',
      'AMBER+STRICT',
      'a_b',
      'ü',
    ])
      expect(isSubjectToken(token)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['dot', 'nl.police'],
    ['star', '*'],
    ['greater-than', 'nl>'],
    ['space', 'nl police'],
    ['tab', 'nl\tpolice'],
    ['newline', 'nl\n'],
    ['no-break space', 'nl\u00A0police'],
    ['ideographic space', 'nl\u3000police'],
    ['line separator', 'nl\u2028'],
    ['next line (NEL)', 'nl\u0085'],
    ['NUL', 'nl\u0000'],
    ['DEL', 'nl\u007F'],
    ['bidi override', '\u202Enl'],
    ['zero-width space', 'nl\u200B'],
    ['lone surrogate', 'nl\uD800'],
  ])('rejects %s', (_name, token) => {
    expect(isSubjectToken(token)).toBe(false);
    const error = expectMosaicError(() => {
      assertSubjectToken(token, 'agency');
    }, 'ERR_SUBJECT_TOKEN');
    expect(error.message).toContain('agency');
    expect(details(error)['what']).toBe('agency');
  });

  it('rejects values that are not strings', () => {
    for (const value of [undefined, null, 1, {}, ['nl']]) {
      expect(isSubjectToken(value)).toBe(false);
      expectMosaicError(() => {
        assertSubjectToken(value, 'x');
      }, 'ERR_SUBJECT_TOKEN');
    }
    expect(() => {
      assertSubjectToken('nl-police', 'agency');
    }).not.toThrow();
  });

  it('holds for every string: a token has no forbidden character, and a forbidden character spoils any token', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const ok = isSubjectToken(s);
        if (ok) expect(/[.*>\s\p{Cc}\p{Cf}\p{Cs}]/u.test(s) || s === '').toBe(false);
        for (const bad of ['.', '*', '>', ' ', '\u2003', '\u0000'])
          expect(isSubjectToken(s + bad)).toBe(false);
      }),
    );
  });

  it('accepts every agency id and jurisdiction code the schema accepts', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/), (id) => {
        expect(isSubjectToken(id)).toBe(true);
      }),
    );
  });
});
