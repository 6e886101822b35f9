import { Clause } from '@mosaic/policy';
import { describe, expect, it } from 'vitest';
import {
  BENELUX,
  NOW,
  ORIGIN,
  agency,
  federation,
  outcomeFor,
  rawReport,
  report,
  rule,
} from './support/fixtures.ts';

const fed = federation({
  groups: [BENELUX],
  agencies: [ORIGIN, agency('nl-a', ['NL'], [rule()]), agency('be-b', ['BE'], [rule()])],
});

function blockedBy(r: ReturnType<typeof report>, now = NOW) {
  const { result } = outcomeFor(fed, r, 'nl-a', {}, now);
  return result.blocked?.clause;
}

describe('a well-formed report', () => {
  it('is not blocked and reaches an interested agency', () => {
    const { result, recipient } = outcomeFor(fed, report(), 'nl-a');
    expect(result.blocked).toBeUndefined();
    expect(recipient?.reason).toEqual({
      clause: Clause.Green,
      via: 'community',
      rule: { index: 0 },
    });
  });
});

describe('P1-known-values', () => {
  const base = report();
  const cases: [string, unknown][] = [
    ['an unknown issuer', { ...base, issuer: 'ghost' }],
    ['an unknown origin group', { ...base, origin: 'ATLANTIS' }],
    ['a non-string origin', { ...base, origin: 42 }],
    ['an unknown jurisdiction', { ...base, jurisdictions: ['NL', 'ATLANTIS'] }],
    ['jurisdictions that are not a list', { ...base, jurisdictions: 'NL' }],
    ['an unknown TLP', { ...base, handling: { tlp: 'PURPLE' } }],
    ['a lower-case TLP', { ...base, handling: { tlp: 'green' } }],
    ['a missing handling', { ...base, handling: undefined }],
    [
      'an unknown group in releasableTo',
      { ...base, handling: { tlp: 'GREEN', releasableTo: { jurisdictions: ['ATLANTIS'] } } },
    ],
    [
      'an unknown agency in releasableTo',
      { ...base, handling: { tlp: 'GREEN', releasableTo: { agencies: ['ghost'] } } },
    ],
    [
      'an unknown group in notReleasableTo',
      { ...base, handling: { tlp: 'GREEN', notReleasableTo: { jurisdictions: ['ATLANTIS'] } } },
    ],
    [
      'an unknown agency in notReleasableTo',
      { ...base, handling: { tlp: 'GREEN', notReleasableTo: { agencies: ['ghost'] } } },
    ],
    ['an unknown category', { ...base, category: 'smuggling' }],
    ['an unknown indicator type', { ...base, indicators: [{ type: 'phone' }, { type: 'dna' }] }],
    ['an unknown reliability', { ...base, grading: { ...base.grading, sourceReliability: 'G' } }],
    ['a credibility of 0', { ...base, grading: { ...base.grading, informationCredibility: 0 } }],
    [
      'a credibility of 2.5',
      { ...base, grading: { ...base.grading, informationCredibility: 2.5 } },
    ],
    ['a confidence of 101', { ...base, grading: { ...base.grading, confidence: 101 } }],
    ['an unparseable validUntil', { ...base, handling: { tlp: 'GREEN', validUntil: 'soon' } }],
    ['an unparseable validFrom', { ...base, handling: { tlp: 'GREEN', validFrom: 'later' } }],
  ];
  it.each(cases)('stops the report for everyone on %s', (_name, value) => {
    const { result } = outcomeFor(fed, rawReport(value), 'nl-a');
    expect(result.blocked?.clause).toBe(Clause.KnownValues);
    expect(result.recipients).toEqual([]);
    expect(result.excluded.map((e) => e.clause)).toEqual(Array(3).fill(Clause.KnownValues));
  });

  it('stops the report when the routing instant is invalid', () => {
    expect(blockedBy(report(), Number.NaN)).toBe(Clause.KnownValues);
  });

  it('accepts a known group as origin', () => {
    expect(blockedBy(report({ origin: 'BENELUX' }))).toBeUndefined();
  });

  it('treats an issuer that is defined twice as unknown', () => {
    const twice = federation({ agencies: [ORIGIN, ORIGIN, agency('nl-a', ['NL'], [rule()])] });
    expect(outcomeFor(twice, report(), 'nl-a').result.blocked?.clause).toBe(Clause.KnownValues);
  });
});

describe('P2-not-expired', () => {
  it('does not route a report whose validUntil is now', () => {
    const r = report({ handling: { validUntil: new Date(NOW).toISOString() } });
    expect(blockedBy(r)).toBe(Clause.NotExpired);
  });

  it('does not route a report whose validUntil has passed', () => {
    expect(blockedBy(report({ handling: { validUntil: '2026-03-01T11:59:59Z' } }))).toBe(
      Clause.NotExpired,
    );
  });

  it('routes a report valid until a millisecond from now', () => {
    const r = report({ handling: { validUntil: new Date(NOW + 1).toISOString() } });
    expect(blockedBy(r)).toBeUndefined();
  });
});

describe('P3-already-valid', () => {
  it('does not route a report valid from a later instant', () => {
    const r = report({ handling: { validFrom: new Date(NOW + 1).toISOString() } });
    expect(blockedBy(r)).toBe(Clause.AlreadyValid);
  });

  it('routes a report valid from now', () => {
    const r = report({ handling: { validFrom: new Date(NOW).toISOString() } });
    expect(blockedBy(r)).toBeUndefined();
  });
});
