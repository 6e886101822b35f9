/**
 * Routing cost per report with 10, 100 and 1,000 agencies of four rules each, over 30
 * countries and 3 groups, in a random federation and with fixed interest plus bystanders
 * (`npm run bench -- --only=policy`).
 */
import { Category, type IndicatorType, type Tlp } from '@mosaic/contract';
import type { Federation, JurisdictionGroup, SubscriptionRule } from '@mosaic/federation';
import { buildPolicyIndex, route, type RoutableReport } from '@mosaic/policy';
import type { PolicyScalingRow } from './stats.ts';

const COUNTRIES =
  'AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK NO CH GB'.split(
    ' ',
  );
const GROUPS: JurisdictionGroup[] = [
  { id: 'BENELUX', name: 'Benelux', members: ['BE', 'NL', 'LU'] },
  { id: 'NORDIC', name: 'Nordic', members: ['DK', 'FI', 'SE', 'NO'] },
  { id: 'BALTIC', name: 'Baltic', members: ['EE', 'LT', 'LV'] },
];
const CATEGORIES: Category[] = Object.values(Category);
const TYPES: IndicatorType[] = ['person', 'phone', 'email', 'vehicle', 'financial-account'];
const TLPS: Tlp[] = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'];
const RULES_PER_AGENCY = 4;

// Deterministic pseudo-random numbers (mulberry32) so runs are comparable.
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generators(seed: number): {
  federation: (size: number) => Federation;
  reports: (fed: Federation, n: number, places?: readonly string[]) => RoutableReport[];
  bystanders: (n: number) => Federation['agencies'];
  interested: (n: number, places: readonly string[]) => Federation['agencies'];
} {
  const rnd = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
  const some = <T>(items: readonly T[], n: number): T[] => [
    ...new Set(Array.from({ length: n }, () => pick(items))),
  ];
  const federation = (size: number): Federation => {
    const agencies = Array.from({ length: size }, (_, i) => {
      const home = pick(COUNTRIES);
      const subscriptions: SubscriptionRule[] = Array.from({ length: RULES_PER_AGENCY }, () => ({
        jurisdictions:
          rnd() < 0.2 ? [pick(GROUPS).id] : some(COUNTRIES, 1 + Math.floor(rnd() * 3)).concat(home),
        categories: some(CATEGORIES, 1 + Math.floor(rnd() * 3)),
        ...(rnd() < 0.3 ? { indicatorTypes: some(TYPES, 2) } : {}),
        ...(rnd() < 0.3 ? { minSourceReliability: pick(['B', 'C', 'D'] as const) } : {}),
        maxTlp: pick(TLPS),
      })).map((rule) => ({ ...rule, jurisdictions: [...new Set(rule.jurisdictions)] }));
      return {
        id: `agency-${String(i).padStart(4, '0')}`,
        name: `Agency ${i}`,
        kind: 'police' as const,
        jurisdictions: [home],
        contact: { email: `agency-${i}@example.org` },
        keys: [],
        subscriptions,
      };
    });
    const agreements = Array.from({ length: size }, () => ({
      from: pick(agencies).id,
      to: some(agencies, 5).map((a) => a.id),
    }))
      .map((a) => ({ ...a, to: a.to.filter((t) => t !== a.from) }))
      .filter((a) => a.to.length > 0);
    return { version: 1, groups: GROUPS, agencies, agreements };
  };
  const reports = (
    fed: Federation,
    n: number,
    places: readonly string[] = COUNTRIES,
  ): RoutableReport[] =>
    Array.from({ length: n }, () => {
      const issuer = pick(fed.agencies);
      const tlp = pick(TLPS);
      return {
        issuer: issuer.id,
        origin: issuer.jurisdictions[0]!,
        jurisdictions: some(places, 2),
        category: pick(CATEGORIES),
        indicators: some(TYPES, 2).map((type) => ({ type })),
        grading: {
          sourceReliability: pick(['A', 'B', 'C', 'D'] as const),
          informationCredibility: 2,
          confidence: 70,
        },
        handling: {
          tlp,
          ...(tlp === 'AMBER+STRICT' || tlp === 'RED' || rnd() < 0.2
            ? { releasableTo: { agencies: some(fed.agencies, 3).map((a) => a.id) } }
            : {}),
        },
      };
    });
  /** Agencies subscribed only to countries the fixed-interest reports never concern. */
  const bystanders = (n: number): Federation['agencies'] => {
    const elsewhere = COUNTRIES.slice(15);
    return Array.from({ length: n }, (_, i) => ({
      id: `bystander-${String(i).padStart(5, '0')}`,
      name: `Bystander ${i}`,
      kind: 'ngo' as const,
      jurisdictions: [pick(elsewhere)],
      contact: { email: `bystander-${i}@example.org` },
      keys: [],
      subscriptions: Array.from({ length: RULES_PER_AGENCY }, () => ({
        jurisdictions: some(elsewhere, 2),
        categories: some(CATEGORIES, 3),
        maxTlp: 'RED' as const,
      })),
    }));
  };
  /** Agencies at home in, and subscribed to, `places` only. */
  const interested = (n: number, places: readonly string[]): Federation['agencies'] =>
    federation(n).agencies.map((a) => ({
      ...a,
      jurisdictions: [pick(places)],
      subscriptions: a.subscriptions.map((r) => ({ ...r, jurisdictions: some(places, 2) })),
    }));
  return { federation, reports, bystanders, interested };
}

/** Mean ms of `fn` over `rounds`, after 3 warm-up rounds; the best of 3 such means (JIT, GC). */
function measure(fn: () => void, rounds: number): number {
  for (let i = 0; i < 3; i += 1) fn();
  let best = Infinity;
  for (let repeat = 0; repeat < 3; repeat += 1) {
    const start = performance.now();
    for (let i = 0; i < rounds; i += 1) fn();
    best = Math.min(best, (performance.now() - start) / rounds);
  }
  return best;
}

const NOW = Date.parse('2026-03-01T12:00:00Z');

function measureFederation(
  fed: Federation,
  batch: RoutableReport[],
  rounds: number,
  scenario: PolicyScalingRow['scenario'],
): PolicyScalingRow {
  const now = NOW;
  const size = fed.agencies.length;
  {
    const index = buildPolicyIndex(fed);
    let evaluated = 0;
    let recipients = 0;
    for (const r of batch) {
      const result = route(r, index, now);
      evaluated += result.recipients.length + result.excluded.length;
      recipients += result.recipients.length;
    }
    const lean = measure(() => {
      for (const r of batch) route(r, index, now);
    }, rounds);
    const full = measure(() => {
      for (const r of batch) route(r, index, now, { explain: true });
    }, rounds);
    const us = (ms: number): number => (ms * 1000) / batch.length;
    return {
      scenario,
      agencies: size,
      rules: size * RULES_PER_AGENCY,
      usPerReport: us(lean),
      usPerReportExplain: us(full),
      evaluatedPerReport: evaluated / batch.length,
      recipientsPerReport: recipients / batch.length,
    };
  }
}

/**
 * µs per report of `route` (candidates only) and of `route(..., { explain: true })`:
 * `random` — `sizes` agencies with random rules over 30 countries (interest grows with the
 * federation: more agencies want each report); `fixed-interest` — the same 10 interested
 * agencies plus `size - 10` bystanders subscribed only to countries the reports never
 * concern (what the index should make free).
 */
export function policyScaling(
  sizes: readonly number[] = [10, 100, 1_000],
  reportsPerSize = 2_000,
  rounds = 5,
): PolicyScalingRow[] {
  const gen = generators(42);
  // JIT warm-up, so the first size measured is not the one paying for it.
  const warm = gen.federation(100);
  measureFederation(warm, gen.reports(warm, reportsPerSize), rounds, 'random');
  const random = sizes.map((size) => {
    const fed = gen.federation(size);
    return measureFederation(fed, gen.reports(fed, reportsPerSize), rounds, 'random');
  });
  const near = COUNTRIES.slice(0, 15);
  const interested = gen.interested(10, near);
  const base: Federation = { version: 1, groups: GROUPS, agencies: interested, agreements: [] };
  const batch = gen.reports(base, reportsPerSize, near);
  const fixed = sizes.map((size) =>
    measureFederation(
      { ...base, agencies: [...interested, ...gen.bystanders(Math.max(0, size - 10))] },
      batch,
      rounds,
      'fixed-interest',
    ),
  );
  return [...random, ...fixed];
}
