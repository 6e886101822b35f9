import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assertReportIdentifiersSafe,
  assertSafeIdentifier,
  assertSubjectToken,
  findUnsafeCharacter,
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

  it('leaves free text to the schema: a RLM in a name is allowed, a bidi override in a narrative too', () => {
    const report = minimalReport({ type: 'person', name: 'سارة\u200F Example' });
    report['narrative'] = 'quoted text: \u202Eevil\u202C';
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
