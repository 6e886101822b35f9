import type { Federation, SubscriptionRule } from '@mosaic/federation';
import {
  Clause,
  buildPolicyIndex,
  route,
  type RoutableReport,
  type RouteResult,
} from '@mosaic/policy';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { referenceRoute } from './reference.ts';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const RUNS = 5000;

// Small pools so that generated values collide: overlaps, duplicates and unknowns are common.
const COUNTRIES = ['NL', 'BE', 'DE', 'FR', 'LU', 'PL'];
const GROUP_IDS = ['BENELUX', 'WEST', 'EAST'];
const UNKNOWN_GROUP = 'ATLANTIS'; // never defined
const AGENCY_IDS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
const GHOST = 'ghost'; // never defined
const CATEGORIES = ['recruitment', 'transport', 'exploitation'];
const TYPES = ['phone', 'email', 'person'];
const TLPS = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'];

/** Usually null, sometimes a value. */
const rarely = <T>(arbitrary: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 19, arbitrary: fc.constant(null) }, { weight: 1, arbitrary });

/** Present about a third of the time. */
const sometimes = <T>(arbitrary: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });

/** Mostly valid values, sometimes an unknown one. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, unknown: fc.Arbitrary<U>) =>
  fc.oneof({ weight: 79, arbitrary: valid }, { weight: 1, arbitrary: unknown });

const jurisdiction = mostly(
  fc.constantFrom(...COUNTRIES, ...GROUP_IDS),
  fc.constant(UNKNOWN_GROUP),
);
const jurisdictions = (min: number) =>
  fc.uniqueArray(jurisdiction, { minLength: min, maxLength: 3 });
const agencyId = mostly(fc.constantFrom(...AGENCY_IDS), fc.constant(GHOST));
const category = mostly(fc.constantFrom(...CATEGORIES), fc.constant('smuggling'));
const reportTlp = mostly(fc.constantFrom(...TLPS, 'AMBER'), fc.constant('PURPLE'));
// Subscribers mostly accept restricted reports, so that AMBER+STRICT and RED get through.
const ruleTlp = mostly(
  fc.constantFrom(...TLPS, 'RED', 'RED', 'AMBER+STRICT'),
  fc.constant('PURPLE'),
);

const groupWith = (id: string) =>
  fc.record({
    id: fc.constant(id),
    name: fc.constant('group'),
    members: fc.uniqueArray(mostly(fc.constantFrom(...COUNTRIES), fc.constant('XX')), {
      minLength: 1,
      maxLength: 4,
    }),
  });
// Every group id is usually defined once; sometimes one is missing or defined twice.
const groups = fc
  .tuple(
    ...GROUP_IDS.map((id) => fc.option(groupWith(id), { freq: 40 })),
    rarely(fc.constantFrom(...GROUP_IDS).chain(groupWith)),
  )
  .map((list) => list.filter((g) => g !== null));

const subscription = fc.record(
  {
    name: fc.constantFrom('r1', 'r2'),
    jurisdictions: jurisdictions(1),
    categories: fc.uniqueArray(category, { minLength: 1, maxLength: 3 }),
    indicatorTypes: fc.uniqueArray(fc.constantFrom(...TYPES), { minLength: 1, maxLength: 2 }),
    minSourceReliability: fc.constantFrom('B', 'C', 'D', 'E', 'F'),
    minInformationCredibility: fc.integer({ min: 2, max: 6 }),
    minConfidence: fc.constantFrom(0, 20, 50),
    maxTlp: ruleTlp,
  },
  { requiredKeys: ['jurisdictions', 'categories', 'maxTlp'] },
) as fc.Arbitrary<SubscriptionRule>;

const agencyDef = (id: string) =>
  fc.record({
    id: fc.constant(id),
    name: fc.constant(`agency ${id}`),
    kind: fc.constant('police' as const),
    // Rarely empty: such an agency is not well-defined.
    jurisdictions: mostly(jurisdictions(1), fc.constant([])),
    contact: fc.constant({ email: `${id}@example.org` }),
    keys: fc.constant([]),
    subscriptions: fc.array(subscription, { maxLength: 4 }),
  });

const agreement = (ids: string[]) =>
  fc.record(
    {
      from: mostly(fc.constantFrom(...ids), fc.constant(GHOST)),
      to: fc.oneof(
        agencyId,
        fc.uniqueArray(mostly(fc.constantFrom(...ids), fc.constant(GHOST)), {
          minLength: 1,
          maxLength: 5,
        }),
      ),
      categories: fc.uniqueArray(category, { minLength: 1, maxLength: 3 }),
      maxTlp: ruleTlp,
    },
    { requiredKeys: ['from', 'to'] },
  );

const federationArb: fc.Arbitrary<Federation> = fc
  .record({
    groups,
    ids: fc.uniqueArray(fc.constantFrom(...AGENCY_IDS), { minLength: 1, maxLength: 8 }),
    duplicate: rarely(fc.constantFrom(...AGENCY_IDS)),
  })
  .chain(({ groups, ids, duplicate }) =>
    fc
      .tuple(
        fc.tuple(...[...ids, ...(duplicate === null ? [] : [duplicate])].map(agencyDef)),
        fc.array(agreement(ids), { maxLength: 8 }),
      )
      .map(
        ([agencies, agreements]) =>
          ({ version: 1 as const, groups, agencies, agreements }) as unknown as Federation,
      ),
  );

const at = (offsetMinutes: number) => new Date(NOW + offsetMinutes * 60_000).toISOString();
const releaseList = (agency: fc.Arbitrary<string>) =>
  fc.record(
    {
      jurisdictions: jurisdictions(1),
      agencies: fc.uniqueArray(agency, { minLength: 0, maxLength: 4 }),
    },
    { requiredKeys: [] },
  );
const uuid = (n: number) => `00000000-0000-4000-8000-00000000000${n}`;

const reportFor = (fed: Federation): fc.Arbitrary<RoutableReport> => {
  const member = mostly(fc.constantFrom(...fed.agencies.map((a) => a.id)), fc.constant(GHOST));
  return fc
    .record(
      {
        issuer: member,
        origin: jurisdiction,
        jurisdictions: jurisdictions(1),
        category,
        indicators: fc.array(
          fc.record({ type: mostly(fc.constantFrom(...TYPES), fc.constant('dna')) }),
          { minLength: 1, maxLength: 3 },
        ),
        grading: fc.record({
          sourceReliability: mostly(
            fc.constantFrom('A', 'B', 'C', 'D', 'E', 'F'),
            fc.constant('Z'),
          ),
          informationCredibility: mostly(fc.integer({ min: 1, max: 6 }), fc.constant(0)),
          confidence: fc.integer({ min: 0, max: 100 }),
        }),
        handling: fc.record(
          {
            tlp: reportTlp,
            releasableTo: fc.option(releaseList(member), { freq: 2, nil: undefined }),
            notReleasableTo: sometimes(releaseList(member)),
            validFrom: fc.integer({ min: -60, max: 5 }).map(at),
            validUntil: fc.integer({ min: -5, max: 60 }).map(at),
          },
          { requiredKeys: ['tlp'] },
        ),
        lineage: fc.oneof(
          fc.record({ retracts: fc.constant(uuid(1)) }),
          fc.record({ supersedes: fc.constant([uuid(2)]) }),
          fc.record({ relatesTo: fc.constant([uuid(3)]) }),
        ),
      },
      {
        requiredKeys: [
          'issuer',
          'origin',
          'jurisdictions',
          'category',
          'indicators',
          'grading',
          'handling',
        ],
      },
    )
    .map((r) => r as unknown as RoutableReport);
};

const priorArb = fc.oneof(
  { weight: 2, arbitrary: fc.constant([]) },
  { weight: 1, arbitrary: fc.uniqueArray(agencyId, { minLength: 1, maxLength: 3 }) },
);

/** A federation, a report whose issuer is usually one of its agencies, and prior recipients. */
const caseArb = federationArb.chain((fed) =>
  fc.record({ fed: fc.constant(fed), report: reportFor(fed), prior: priorArb }),
);

/** The parts of a result the reference predicts (details are prose). */
function comparable(result: RouteResult) {
  return {
    ...(result.blocked === undefined ? {} : { blocked: result.blocked.clause }),
    recipients: result.recipients,
    excluded: result.excluded.map(({ agency, clause }) => ({ agency, clause })),
  };
}

function tlpOrder(label: string): number {
  return TLPS.indexOf(label);
}

describe('route against the reference reading of docs/policy.md', () => {
  it('equals the brute-force reference for generated federations and reports', () => {
    const seen = new Set<string>();
    let withRecipients = 0;
    fc.assert(
      fc.property(caseArb, ({ fed, report, prior }) => {
        const result = route(report, buildPolicyIndex(fed), NOW, {
          explain: true,
          priorRecipients: prior,
        });
        expect(comparable(result)).toEqual(referenceRoute(fed, report, NOW, prior));
        for (const e of result.excluded) seen.add(e.clause);
        for (const r of result.recipients) seen.add(`${r.reason.clause} via ${r.reason.via}`);
        if (result.recipients.length > 0) withRecipients += 1;
      }),
      { numRuns: RUNS },
    );
    // The generators must reach every clause and every way in, or the comparison is vacuous.
    expect([...seen].sort()).toEqual(
      [
        // CLEAR and GREEN exclude nobody.
        ...Object.values(Clause).filter((c) => c !== Clause.Clear && c !== Clause.Green),
        ...['P9-clear', 'P9-green'].flatMap((c) => [`${c} via community`, `${c} via lineage`]),
        ...['releasable-to', 'lineage', 'agreement'].map((v) => `P9-amber via ${v}`),
        'P9-amber-strict via releasable-to',
        'P9-red via releasable-to',
      ].sort(),
    );
    expect(withRecipients).toBeGreaterThan(RUNS / 25);
  });

  it('never delivers to an agency excluded by TLP, deny lists, missing agreement, or the originator', () => {
    fc.assert(
      fc.property(caseArb, ({ fed, report }) => {
        const { recipients } = route(report, buildPolicyIndex(fed), NOW);
        const h = report.handling;
        const denied = new Set<string>(h.notReleasableTo?.agencies ?? []);
        const named = new Set<string>(h.releasableTo?.agencies ?? []);
        const expand = (j: string) =>
          fed.groups.find((g) => g.id === j)?.members ?? (j.length === 2 ? [j] : []);
        const deniedCountries = new Set((h.notReleasableTo?.jurisdictions ?? []).flatMap(expand));
        for (const { agency, reason } of recipients) {
          const def = fed.agencies.find((a) => a.id === agency)!;
          expect(agency).not.toBe(report.issuer);
          expect(denied.has(agency)).toBe(false);
          expect(def.jurisdictions.flatMap(expand).some((c) => deniedCountries.has(c))).toBe(false);
          // TLP: some rule of the recipient accepts the report's TLP.
          expect(def.subscriptions.some((r) => tlpOrder(r.maxTlp) >= tlpOrder(h.tlp))).toBe(true);
          if (h.tlp === 'AMBER')
            expect(
              named.has(agency) ||
                fed.agreements.some(
                  (a) =>
                    a.from === report.issuer &&
                    (typeof a.to === 'string' ? [a.to] : a.to).includes(agency) &&
                    (a.categories === undefined || a.categories.includes(report.category)) &&
                    (a.maxTlp === undefined || tlpOrder(a.maxTlp) >= tlpOrder('AMBER')),
                ),
            ).toBe(true);
          if (h.tlp === 'AMBER+STRICT' || h.tlp === 'RED') expect(named.has(agency)).toBe(true);
          expect(reason.lineage).toBeUndefined();
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('gives the same recipients without explain, and the same clause for every listed agency', () => {
    fc.assert(
      fc.property(caseArb, ({ fed, report, prior }) => {
        const index = buildPolicyIndex(fed);
        const options = { priorRecipients: prior };
        const lean = route(report, index, NOW, options);
        const full = route(report, index, NOW, { ...options, explain: true });
        expect(lean.recipients).toEqual(full.recipients);
        expect(lean.blocked).toEqual(full.blocked);
        for (const e of lean.excluded) expect(full.excluded).toContainEqual(e);
        const members = new Set(index.agencyIds);
        const listed = [...lean.recipients, ...lean.excluded].filter((x) => members.has(x.agency));
        expect(listed.length + lean.unconsidered).toBe(members.size);
      }),
      { numRuns: 1000 },
    );
  });

  it('is deterministic: same input, any order of agencies and groups, same output', () => {
    fc.assert(
      fc.property(
        caseArb.chain(({ fed, report }) =>
          fc.record({
            fed: fc.constant(fed),
            report: fc.constant(report),
            agencies: fc.shuffledSubarray(fed.agencies, { minLength: fed.agencies.length }),
            groups: fc.shuffledSubarray(fed.groups, { minLength: fed.groups.length }),
          }),
        ),
        fc.boolean(),
        ({ fed, report, agencies, groups }, explain) => {
          const first = route(report, buildPolicyIndex(fed), NOW, { explain });
          expect(route(report, buildPolicyIndex(fed), NOW, { explain })).toEqual(first);
          const shuffled = { ...fed, agencies, groups };
          expect(route(report, buildPolicyIndex(shuffled), NOW, { explain })).toEqual(first);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
