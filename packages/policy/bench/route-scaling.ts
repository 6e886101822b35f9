/**
 * Routing cost per report as the federation grows: 10, 100 and 1,000 agencies, each with
 * several subscription rules, spread over 30 countries and 3 groups. Not a test; run with
 * `npx tsx packages/policy/bench/route-scaling.ts`. Prints one line per size: microseconds
 * per report for `route` (default: candidates only) and with `explain: true` (every agency),
 * and how many agencies a report evaluated on average.
 */
import type { Category, IndicatorType, Tlp } from '@mosaic/contract';
import type { Federation, JurisdictionGroup, SubscriptionRule } from '@mosaic/federation';
import { buildPolicyIndex, route, type RoutableReport } from '@mosaic/policy';

const COUNTRIES =
  'AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK NO CH GB'.split(
    ' ',
  );
const GROUPS: JurisdictionGroup[] = [
  { id: 'BENELUX', name: 'Benelux', members: ['BE', 'NL', 'LU'] },
  { id: 'NORDIC', name: 'Nordic', members: ['DK', 'FI', 'SE', 'NO'] },
  { id: 'BALTIC', name: 'Baltic', members: ['EE', 'LT', 'LV'] },
];
const CATEGORIES: Category[] = [
  'recruitment',
  'transport',
  'exploitation',
  'financial-flow',
  'online-advertising',
  'document-fraud',
  'other',
];
const TYPES: IndicatorType[] = ['person', 'phone', 'email', 'vehicle', 'financial-account'];
const TLPS: Tlp[] = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'];
const RULES_PER_AGENCY = 4;
const REPORTS = 2_000;

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
const rnd = random(42);
const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
const some = <T>(items: readonly T[], n: number): T[] => [
  ...new Set(Array.from({ length: n }, () => pick(items))),
];

function federation(size: number): Federation {
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
}

function reports(fed: Federation, reportCountries = COUNTRIES): RoutableReport[] {
  return Array.from({ length: REPORTS }, () => {
    const issuer = pick(fed.agencies);
    const tlp = pick(TLPS);
    return {
      issuer: issuer.id,
      origin: reportCountries.includes(issuer.jurisdictions[0]!)
        ? issuer.jurisdictions[0]!
        : reportCountries[0]!,
      jurisdictions: some(reportCountries, 2),
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
}

function measure(fn: () => void): number {
  for (let i = 0; i < 3; i += 1) fn(); // warm up
  const rounds = 5;
  const start = performance.now();
  for (let i = 0; i < rounds; i += 1) fn();
  return (performance.now() - start) / rounds;
}

/** `size` agencies subscribed only to countries the reports never concern. */
function bystanders(size: number): Federation['agencies'] {
  const elsewhere = COUNTRIES.slice(15);
  return Array.from({ length: size }, (_, i) => ({
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
}

const now = Date.parse('2026-03-01T12:00:00Z');
process.stdout.write(
  `agencies  rules  µs/report (route)  µs/report (explain)  evaluated/report  recipients/report  build ms\n`,
);
for (const size of [10, 100, 1_000]) {
  const fed = federation(size);
  const buildStart = performance.now();
  const index = buildPolicyIndex(fed);
  const buildMs = performance.now() - buildStart;
  const batch = reports(fed);
  let evaluated = 0;
  let recipients = 0;
  for (const r of batch) {
    const result = route(r, index, now);
    evaluated += result.recipients.length + result.excluded.length;
    recipients += result.recipients.length;
  }
  const lean = measure(() => {
    for (const r of batch) route(r, index, now);
  });
  const full = measure(() => {
    for (const r of batch) route(r, index, now, { explain: true });
  });
  const perReport = (ms: number) => ((ms * 1000) / batch.length).toFixed(1);
  process.stdout.write(
    `${String(size).padStart(8)}  ${String(size * RULES_PER_AGENCY).padStart(5)}  ${perReport(lean).padStart(17)}  ${perReport(full).padStart(19)}  ${(evaluated / batch.length).toFixed(1).padStart(16)}  ${(recipients / batch.length).toFixed(1).padStart(17)}  ${buildMs.toFixed(1).padStart(8)}\n`,
  );
}

// The index at work: 100 agencies that may want the reports, plus agencies that cannot.
process.stdout.write(
  `\n100 interested agencies (reports concern their 15 countries) + bystanders subscribed elsewhere\n`,
);
process.stdout.write(`bystanders  µs/report (route)  µs/report (explain)  evaluated/report\n`);
const interested = federation(100).agencies.map((a) => ({
  ...a,
  jurisdictions: [pick(COUNTRIES.slice(0, 15))],
  subscriptions: a.subscriptions.map((r) => ({
    ...r,
    jurisdictions: some(COUNTRIES.slice(0, 15), 2),
  })),
}));
const interestedBatch = reports(
  { version: 1, groups: GROUPS, agencies: interested, agreements: [] },
  COUNTRIES.slice(0, 15),
);
for (const padding of [0, 1_000, 10_000]) {
  const index = buildPolicyIndex({
    version: 1,
    groups: GROUPS,
    agencies: [...interested, ...bystanders(padding)],
    agreements: [],
  });
  let evaluated = 0;
  for (const r of interestedBatch) {
    const result = route(r, index, now);
    evaluated += result.recipients.length + result.excluded.length;
  }
  const lean = measure(() => {
    for (const r of interestedBatch) route(r, index, now);
  });
  const full = measure(() => {
    for (const r of interestedBatch) route(r, index, now, { explain: true });
  });
  const perReport = (ms: number) => ((ms * 1000) / interestedBatch.length).toFixed(1);
  process.stdout.write(
    `${String(padding).padStart(10)}  ${perReport(lean).padStart(17)}  ${perReport(full).padStart(19)}  ${(evaluated / interestedBatch.length).toFixed(1).padStart(16)}\n`,
  );
}
