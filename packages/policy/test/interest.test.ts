import type { SubscriptionRule } from '@mosaic/federation';
import { Clause, InterestCondition } from '@mosaic/policy';
import { describe, expect, it } from 'vitest';
import {
  BENELUX,
  ORIGIN,
  agency,
  federation,
  outcomeFor,
  report,
  rule,
} from './support/fixtures.ts';

/** Routes `r` to one agency holding exactly `rules`. */
function withRules(rules: SubscriptionRule[], r = report()) {
  const fed = federation({ groups: [BENELUX], agencies: [ORIGIN, agency('x', ['DE'], rules)] });
  return outcomeFor(fed, r, 'x');
}

function fails(overrides: Partial<SubscriptionRule>, r = report()): string | undefined {
  const { exclusion, recipient } = withRules([rule(overrides)], r);
  if (recipient !== undefined) return undefined;
  expect(exclusion?.clause).toBe(Clause.Interest);
  return exclusion?.detail;
}

describe('P10-interest', () => {
  it('excludes an agency without rules', () => {
    expect(withRules([]).exclusion).toMatchObject({
      clause: Clause.Interest,
      detail: 'no subscription rules',
    });
  });

  it('names the lowest-indexed matching rule and its name', () => {
    const { recipient } = withRules([
      rule({ jurisdictions: ['FR'] }),
      rule({ name: 'NL all' }),
      rule({ name: 'also' }),
    ]);
    expect(recipient?.reason.rule).toEqual({ index: 1, name: 'NL all' });
  });

  it('lists why each rule failed', () => {
    const { exclusion } = withRules([
      rule({ jurisdictions: ['FR'], name: 'France' }),
      rule({ categories: ['transport'] }),
    ]);
    expect(exclusion?.detail).toBe(
      `rule 0 (France): ${InterestCondition.Jurisdiction}; rule 1: ${InterestCondition.Category}`,
    );
  });
});

describe('I0-well-defined', () => {
  it.each<[string, Partial<SubscriptionRule>]>([
    ['an unknown group', { jurisdictions: ['NL', 'ATLANTIS'] }],
    ['no jurisdictions', { jurisdictions: [] }],
    ['an unknown category', { categories: ['recruitment', 'smuggling' as 'other'] }],
    ['no categories', { categories: [] }],
    ['an unknown indicator type', { indicatorTypes: ['phone', 'dna' as 'phone'] }],
    ['an empty indicatorTypes', { indicatorTypes: [] }],
    ['an unknown reliability', { minSourceReliability: 'G' as 'A' }],
    ['a credibility of 7', { minInformationCredibility: 7 }],
    ['a fractional confidence', { minConfidence: 50.5 }],
    ['an unknown maxTlp', { maxTlp: 'PURPLE' as 'RED' }],
  ])('voids a rule with %s', (_name, overrides) => {
    expect(fails(overrides)).toContain(InterestCondition.WellDefined);
  });

  it('voids only that rule: another rule still matches', () => {
    const { recipient } = withRules([rule({ maxTlp: 'PURPLE' as 'RED' }), rule()]);
    expect(recipient?.reason.rule).toEqual({ index: 1 });
  });
});

describe('I1-jurisdiction', () => {
  it('matches the origin', () => {
    expect(fails({ jurisdictions: ['NL'] }, report({ origin: 'NL', jurisdictions: ['DE'] }))).toBe(
      undefined,
    );
  });
  it('matches a concerned jurisdiction', () => {
    expect(fails({ jurisdictions: ['DE'] }, report({ jurisdictions: ['FR', 'DE'] }))).toBe(
      undefined,
    );
  });
  it('expands a group in the rule', () => {
    expect(fails({ jurisdictions: ['BENELUX'] })).toBeUndefined();
  });
  it('expands a group in the report', () => {
    expect(
      fails({ jurisdictions: ['LU'] }, report({ origin: 'BENELUX', jurisdictions: ['BENELUX'] })),
    ).toBeUndefined();
  });
  it('fails without overlap', () => {
    expect(fails({ jurisdictions: ['FR', 'DE'] })).toContain(InterestCondition.Jurisdiction);
  });
});

describe('I2-category', () => {
  it('matches a listed category', () => {
    expect(fails({ categories: ['transport', 'recruitment'] })).toBeUndefined();
  });
  it('fails an unlisted category', () => {
    expect(fails({ categories: ['transport'] })).toContain(InterestCondition.Category);
  });
});

describe('I3-indicator-types', () => {
  it('matches when any indicator has a listed type', () => {
    const r = report({ indicators: [{ type: 'email' }, { type: 'vessel' }] });
    expect(fails({ indicatorTypes: ['vessel'] }, r)).toBeUndefined();
  });
  it('fails when none has', () => {
    expect(fails({ indicatorTypes: ['vessel', 'email'] })).toContain(
      InterestCondition.IndicatorTypes,
    );
  });
  it('fails a report without indicators', () => {
    expect(fails({ indicatorTypes: ['phone'] }, report({ indicators: [] }))).toContain(
      InterestCondition.IndicatorTypes,
    );
  });
  it('is not checked when the rule has none', () => {
    expect(fails({}, report({ indicators: [] }))).toBeUndefined();
  });
});

describe('I4-source-reliability (A best … F worst)', () => {
  it.each([
    ['A', 'A', true],
    ['B', 'C', true],
    ['C', 'C', true],
    ['D', 'C', false],
    ['F', 'E', false],
    ['F', 'F', true],
  ] as const)('report %s against minimum %s → %s', (grade, min, passes) => {
    const d = fails(
      { minSourceReliability: min },
      report({ grading: { sourceReliability: grade } }),
    );
    if (passes) expect(d).toBeUndefined();
    else expect(d).toContain(InterestCondition.SourceReliability);
  });
});

describe('I5-information-credibility (1 best … 6 worst)', () => {
  it.each([
    [1, 3, true],
    [3, 3, true],
    [4, 3, false],
    [6, 5, false],
    [6, 6, true],
  ] as const)('report %i against minimum %i → %s', (value, min, passes) => {
    const d = fails(
      { minInformationCredibility: min },
      report({ grading: { informationCredibility: value } }),
    );
    if (passes) expect(d).toBeUndefined();
    else expect(d).toContain(InterestCondition.InformationCredibility);
  });
});

describe('I6-confidence', () => {
  it.each([
    [80, 80, true],
    [100, 0, true],
    [79, 80, false],
    [0, 1, false],
  ] as const)('report %i against minimum %i → %s', (value, min, passes) => {
    const d = fails({ minConfidence: min }, report({ grading: { confidence: value } }));
    if (passes) expect(d).toBeUndefined();
    else expect(d).toContain(InterestCondition.Confidence);
  });
});

describe('I7-max-tlp', () => {
  const labels = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'] as const;
  for (const [r, tlp] of labels.entries())
    for (const [m, max] of labels.entries())
      it(`a ${tlp} report against maxTlp ${max} → ${String(r <= m)}`, () => {
        const named = { tlp, releasableTo: { agencies: ['x'] } };
        const d = fails({ maxTlp: max }, report({ handling: named }));
        if (r <= m) expect(d).toBeUndefined();
        else expect(d).toContain(InterestCondition.MaxTlp);
      });
});
