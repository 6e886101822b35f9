import { Clause, buildPolicyIndex, route } from '@mosaic/policy';
import { describe, expect, it } from 'vitest';
import { NOW, ORIGIN, group, agency, federation, report, rule } from './support/fixtures.ts';

describe('route output', () => {
  const fed = federation({
    agencies: [
      agency('zz', ['NL'], [rule()]),
      ORIGIN,
      agency('b', ['NL'], [rule({ maxTlp: 'CLEAR' })]),
      agency('a-b', ['NL'], [rule()]),
      agency('a', ['NL'], [rule()]),
      agency('fr', ['FR'], [rule({ jurisdictions: ['FR'] })]),
    ],
  });
  const index = buildPolicyIndex(fed);

  it('sorts recipients and exclusions by agency id in code-unit order', () => {
    const result = route(report(), index, NOW);
    expect(result.recipients.map((r) => r.agency)).toEqual(['a', 'a-b', 'zz']);
    expect(result.excluded.map((e) => [e.agency, e.clause])).toEqual([
      ['b', Clause.Interest],
      ['origin', Clause.NotOriginator],
    ]);
  });

  it('by default does not evaluate agencies whose rules cannot match, and counts them', () => {
    const result = route(report(), index, NOW);
    expect(result.excluded.some((e) => e.agency === 'fr')).toBe(false);
    expect(result.unconsidered).toBe(1);
  });

  it('with explain lists every agency, the same recipients and the same clauses', () => {
    const lean = route(report(), index, NOW);
    const full = route(report(), index, NOW, { explain: true });
    expect(full.recipients).toEqual(lean.recipients);
    expect(full.unconsidered).toBe(0);
    expect(full.excluded.map((e) => e.agency)).toEqual(['b', 'fr', 'origin']);
    for (const e of lean.excluded) expect(full.excluded).toContainEqual(e);
  });

  it('lists agencies named by the report even when their rules cannot match', () => {
    const r = report({ handling: { notReleasableTo: { agencies: ['fr'] } } });
    expect(route(r, index, NOW).excluded).toContainEqual({
      agency: 'fr',
      clause: Clause.NotDeniedAgency,
      detail: 'named in handling.notReleasableTo.agencies',
    });
  });

  it('reports a blocked report once, not per agency, unless explaining', () => {
    const expired = report({ handling: { validUntil: '2020-01-01T00:00:00Z' } });
    const lean = route(expired, index, NOW);
    expect(lean).toMatchObject({ recipients: [], excluded: [], unconsidered: 6 });
    expect(lean.blocked?.clause).toBe(Clause.NotExpired);
    const full = route(expired, index, NOW, { explain: true });
    expect(full.excluded).toHaveLength(6);
    expect(new Set(full.excluded.map((e) => e.clause))).toEqual(new Set([Clause.NotExpired]));
  });

  it('accepts a Date as well as epoch milliseconds', () => {
    expect(route(report(), index, new Date(NOW))).toEqual(route(report(), index, NOW));
  });

  it('does not mutate its inputs', () => {
    const r = report({ handling: { tlp: 'AMBER', releasableTo: { agencies: ['a'] } } });
    const before = structuredClone({ r, fed });
    route(r, buildPolicyIndex(fed), NOW, { explain: true, priorRecipients: ['b'] });
    expect({ r, fed }).toEqual(before);
  });
});

describe('cost per report', () => {
  it('evaluates only the agencies indexed under the report’s countries and category', () => {
    const many = Array.from({ length: 2000 }, (_, i) =>
      agency(`fr-${String(i).padStart(4, '0')}`, ['FR'], [rule({ jurisdictions: ['FR'] })]),
    );
    const index = buildPolicyIndex(
      federation({ agencies: [ORIGIN, agency('nl', ['NL'], [rule()]), ...many] }),
    );
    const result = route(report(), index, NOW);
    expect(result.recipients.map((r) => r.agency)).toEqual(['nl']);
    expect(result.excluded.map((e) => e.agency)).toEqual(['origin']);
    expect(result.unconsidered).toBe(2000);
  });
});

describe('buildPolicyIndex', () => {
  it('lists what it refused without throwing', () => {
    const index = buildPolicyIndex(
      federation({
        groups: [group('DUP', ['NL']), group('DUP', ['BE']), group('NL', ['BE'])],
        agencies: [
          ORIGIN,
          agency('x', ['DUP']),
          agency('y', ['NL'], [rule({ maxTlp: 'PURPLE' as 'RED' })]),
        ],
        agreements: [{ from: 'origin', to: 'ghost' }],
      }),
    );
    expect(index.problems).toEqual([
      'group DUP is defined 2 times',
      'group NL has a country code as its id',
      'agency x has no jurisdictions or an unknown one',
      'agency y subscription 0: maxTlp unknown',
      'agreement 0 names an unknown agency, category or TLP',
    ]);
    expect(index.agencyIds).toEqual(['origin', 'x', 'y']);
  });
});
