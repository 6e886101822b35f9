import { Clause } from '@mosaic/policy';
import { describe, expect, it } from 'vitest';
import {
  BENELUX,
  ORIGIN,
  group,
  agency,
  federation,
  outcomeFor,
  report,
  rule,
} from './support/fixtures.ts';

const WIDE = rule({ jurisdictions: ['BENELUX', 'DE', 'FR'] });

describe('P4-known-agency', () => {
  it('excludes an agency whose id is defined twice', () => {
    const fed = federation({
      agencies: [ORIGIN, agency('twin', ['NL'], [rule()]), agency('twin', ['NL'], [rule()])],
    });
    const { clause, result } = outcomeFor(fed, report(), 'twin');
    expect(clause).toBe(Clause.KnownAgency);
    expect(result.excluded.filter((e) => e.agency === 'twin')).toHaveLength(1);
  });

  it('excludes an agency with an unknown jurisdiction', () => {
    const fed = federation({ agencies: [ORIGIN, agency('x', ['NL', 'ATLANTIS'], [rule()])] });
    expect(outcomeFor(fed, report(), 'x').clause).toBe(Clause.KnownAgency);
  });

  it('excludes an agency with no jurisdictions (it would be within everything)', () => {
    const fed = federation({ agencies: [ORIGIN, agency('x', [], [rule()])] });
    const r = report({ handling: { releasableTo: { jurisdictions: ['NL'] } } });
    expect(outcomeFor(fed, r, 'x').clause).toBe(Clause.KnownAgency);
  });

  it('excludes an agency of a group with a member that is not a country', () => {
    const fed = federation({
      groups: [group('BAD', ['NL', 'XX'])],
      agencies: [ORIGIN, agency('x', ['BAD'], [rule()])],
    });
    expect(outcomeFor(fed, report(), 'x').clause).toBe(Clause.KnownAgency);
  });

  it('excludes an agency of a group defined twice', () => {
    const fed = federation({
      groups: [BENELUX, group('BENELUX', ['NL'])],
      agencies: [ORIGIN, agency('x', ['BENELUX'], [rule()])],
    });
    expect(outcomeFor(fed, report(), 'x').clause).toBe(Clause.KnownAgency);
  });

  it('excludes a prior recipient that is no longer in the federation', () => {
    const fed = federation({ agencies: [ORIGIN] });
    const r = report({ lineage: { retracts: '00000000-0000-4000-8000-000000000001' } });
    expect(outcomeFor(fed, r, 'gone', { priorRecipients: ['gone'] }).clause).toBe(
      Clause.KnownAgency,
    );
  });
});

describe('P5-not-originator', () => {
  it('never delivers a report to its issuer, even when it subscribes and is named', () => {
    const fed = federation({ agencies: [agency('origin', ['NL'], [rule()])] });
    const r = report({ handling: { tlp: 'RED', releasableTo: { agencies: ['origin'] } } });
    expect(outcomeFor(fed, r, 'origin').clause).toBe(Clause.NotOriginator);
  });
});

describe('P6-not-denied-agency', () => {
  const fed = federation({ agencies: [ORIGIN, agency('nl-a', ['NL'], [rule()])] });

  it('excludes an agency named in notReleasableTo.agencies', () => {
    const r = report({ handling: { notReleasableTo: { agencies: ['nl-a'] } } });
    expect(outcomeFor(fed, r, 'nl-a').clause).toBe(Clause.NotDeniedAgency);
  });

  it('wins over an agreement', () => {
    const withAgreement = { ...fed, agreements: [{ from: 'origin', to: 'nl-a' }] };
    const r = report({ handling: { tlp: 'AMBER', notReleasableTo: { agencies: ['nl-a'] } } });
    expect(outcomeFor(withAgreement, r, 'nl-a').clause).toBe(Clause.NotDeniedAgency);
  });

  it('leaves other agencies alone', () => {
    const r = report({ handling: { notReleasableTo: { agencies: ['origin'] } } });
    expect(outcomeFor(fed, r, 'nl-a').recipient).toBeDefined();
  });
});

describe('P7-not-denied-jurisdiction (touches)', () => {
  const fed = federation({
    groups: [BENELUX],
    agencies: [
      ORIGIN,
      agency('nl-a', ['NL'], [WIDE]),
      agency('de-a', ['DE'], [WIDE]),
      agency('regional', ['BENELUX'], [WIDE]),
      agency('nl-de', ['NL', 'DE'], [WIDE]),
    ],
  });

  it('excludes an agency of a denied country', () => {
    const r = report({ handling: { notReleasableTo: { jurisdictions: ['NL'] } } });
    expect(outcomeFor(fed, r, 'nl-a').clause).toBe(Clause.NotDeniedJurisdiction);
    expect(outcomeFor(fed, r, 'de-a').recipient).toBeDefined();
  });

  it('excludes an agency of a member country of a denied group', () => {
    const r = report({ handling: { notReleasableTo: { jurisdictions: ['BENELUX'] } } });
    expect(outcomeFor(fed, r, 'nl-a').clause).toBe(Clause.NotDeniedJurisdiction);
  });

  it('excludes a regional agency whose group contains a denied country', () => {
    const r = report({ handling: { notReleasableTo: { jurisdictions: ['LU'] } } });
    expect(outcomeFor(fed, r, 'regional').clause).toBe(Clause.NotDeniedJurisdiction);
  });

  it('excludes an agency with one denied jurisdiction among several', () => {
    const r = report({ handling: { notReleasableTo: { jurisdictions: ['DE'] } } });
    expect(outcomeFor(fed, r, 'nl-de').clause).toBe(Clause.NotDeniedJurisdiction);
  });

  it('wins over being named', () => {
    const r = report({
      handling: {
        tlp: 'RED',
        releasableTo: { agencies: ['nl-a'] },
        notReleasableTo: { jurisdictions: ['NL'] },
      },
    });
    expect(outcomeFor(fed, r, 'nl-a').clause).toBe(Clause.NotDeniedJurisdiction);
  });
});

describe('P8-releasable-to (within, or named)', () => {
  const fed = federation({
    groups: [BENELUX],
    agencies: [
      ORIGIN,
      agency('nl-a', ['NL'], [WIDE]),
      agency('de-a', ['DE'], [WIDE]),
      agency('regional', ['BENELUX'], [WIDE]),
      agency('nl-de', ['NL', 'DE'], [WIDE]),
    ],
  });
  const relTo = (releasableTo: { jurisdictions?: string[]; agencies?: string[] }) =>
    report({ handling: { releasableTo } });

  it('admits an agency within a released country and excludes one outside', () => {
    const r = relTo({ jurisdictions: ['NL'] });
    expect(outcomeFor(fed, r, 'nl-a').recipient).toBeDefined();
    expect(outcomeFor(fed, r, 'de-a').clause).toBe(Clause.ReleasableTo);
  });

  it('admits an agency of a member country of a released group', () => {
    expect(outcomeFor(fed, relTo({ jurisdictions: ['BENELUX'] }), 'nl-a').recipient).toBeDefined();
  });

  it('does not admit a regional agency when only one member country is released', () => {
    expect(outcomeFor(fed, relTo({ jurisdictions: ['NL'] }), 'regional').clause).toBe(
      Clause.ReleasableTo,
    );
  });

  it('admits a regional agency when all its countries are released, listed one by one', () => {
    const r = relTo({ jurisdictions: ['BE', 'NL', 'LU'] });
    expect(outcomeFor(fed, r, 'regional').recipient).toBeDefined();
  });

  it('does not admit an agency with a jurisdiction outside the released ones', () => {
    expect(outcomeFor(fed, relTo({ jurisdictions: ['NL'] }), 'nl-de').clause).toBe(
      Clause.ReleasableTo,
    );
  });

  it('admits a named agency outside the released jurisdictions (the lists are alternatives)', () => {
    const r = relTo({ jurisdictions: ['NL'], agencies: ['de-a'] });
    expect(outcomeFor(fed, r, 'de-a').recipient?.reason.via).toBe('community');
  });

  it('releases to nobody when present but empty', () => {
    expect(outcomeFor(fed, relTo({}), 'nl-a').clause).toBe(Clause.ReleasableTo);
  });

  it('bounds an agreement under AMBER', () => {
    const withAgreement = { ...fed, agreements: [{ from: 'origin', to: ['de-a', 'nl-a'] }] };
    const r = report({ handling: { tlp: 'AMBER', releasableTo: { jurisdictions: ['NL'] } } });
    expect(outcomeFor(withAgreement, r, 'de-a').clause).toBe(Clause.ReleasableTo);
    expect(outcomeFor(withAgreement, r, 'nl-a').recipient?.reason).toEqual({
      clause: Clause.Amber,
      via: 'agreement',
      agreement: 0,
      rule: { index: 0 },
    });
  });
});

describe('P9 — the TLP gate', () => {
  const fed = federation({
    agencies: [
      ORIGIN,
      agency('a', ['NL'], [rule()]),
      agency('b', ['NL'], [rule()]),
      agency('c', ['NL'], [rule()]),
    ],
    agreements: [
      { from: 'origin', to: 'a', categories: ['transport'] },
      { from: 'origin', to: ['a', 'b'] },
      { from: 'b', to: 'c' },
      { from: 'origin', to: 'c', maxTlp: 'GREEN' },
    ],
  });
  const tlp = (label: string, agencies?: string[]) =>
    report({
      handling: {
        tlp: label as 'RED',
        ...(agencies === undefined ? {} : { releasableTo: { agencies } }),
      },
    });

  it.each(['CLEAR', 'GREEN'] as const)('%s reaches every interested agency', (label) => {
    const clause = label === 'CLEAR' ? Clause.Clear : Clause.Green;
    for (const id of ['a', 'b', 'c'])
      expect(outcomeFor(fed, tlp(label), id).recipient?.reason).toEqual({
        clause,
        via: 'community',
        rule: { index: 0 },
      });
  });

  it('AMBER reaches agencies covered by an agreement, naming the lowest covering one', () => {
    expect(outcomeFor(fed, tlp('AMBER'), 'a').recipient?.reason).toMatchObject({
      clause: Clause.Amber,
      via: 'agreement',
      agreement: 1,
    });
    expect(outcomeFor(fed, tlp('AMBER'), 'b').recipient?.reason.agreement).toBe(1);
  });

  it('AMBER respects agreement categories', () => {
    const transport = report({ category: 'transport', handling: { tlp: 'AMBER' } });
    expect(outcomeFor(fed, transport, 'a').recipient?.reason.agreement).toBe(0);
  });

  it('AMBER is not carried by an agreement capped below AMBER, nor by another pair', () => {
    expect(outcomeFor(fed, tlp('AMBER'), 'c').clause).toBe(Clause.Amber);
  });

  it('AMBER reaches a named agency without an agreement', () => {
    expect(outcomeFor(fed, tlp('AMBER', ['c']), 'c').recipient?.reason.via).toBe('releasable-to');
  });

  it('AMBER is not admitted by being within releasable jurisdictions alone', () => {
    const r = report({ handling: { tlp: 'AMBER', releasableTo: { jurisdictions: ['NL'] } } });
    expect(outcomeFor(fed, r, 'c').clause).toBe(Clause.Amber);
  });

  it('AMBER ignores an agreement that names an unknown agency', () => {
    const broken = { ...fed, agreements: [{ from: 'origin', to: ['a', 'ghost'] }] };
    expect(outcomeFor(broken, tlp('AMBER'), 'a').clause).toBe(Clause.Amber);
  });

  it('AMBER ignores an agreement with an unknown maxTlp or category', () => {
    const badTlp = { ...fed, agreements: [{ from: 'origin', to: 'a', maxTlp: 'PURPLE' as 'RED' }] };
    expect(outcomeFor(badTlp, tlp('AMBER'), 'a').clause).toBe(Clause.Amber);
    const badCategory = {
      ...fed,
      agreements: [{ from: 'origin', to: 'a', categories: ['smuggling' as 'other'] }],
    };
    expect(outcomeFor(badCategory, tlp('AMBER'), 'a').clause).toBe(Clause.Amber);
  });

  it.each([
    ['AMBER+STRICT', Clause.AmberStrict],
    ['RED', Clause.Red],
  ] as const)('%s reaches only named agencies; agreements do not count', (label, clause) => {
    // 'a' is within the released NL and covered by an agreement, but not named.
    const r = report({
      handling: { tlp: label, releasableTo: { jurisdictions: ['NL'], agencies: ['b'] } },
    });
    expect(outcomeFor(fed, r, 'a').clause).toBe(clause);
    expect(outcomeFor(fed, r, 'b').recipient?.reason).toEqual({
      clause,
      via: 'releasable-to',
      rule: { index: 0 },
    });
    expect(outcomeFor(fed, tlp(label), 'a').clause).toBe(clause);
  });

  it('RED still requires interest (the stricter reading)', () => {
    const picky = {
      ...fed,
      agencies: [...fed.agencies, agency('d', ['NL'], [rule({ maxTlp: 'AMBER' })])],
    };
    expect(outcomeFor(picky, tlp('RED', ['d']), 'd').clause).toBe(Clause.Interest);
  });
});
