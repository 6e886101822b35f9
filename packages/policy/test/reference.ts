/**
 * A second reading of docs/policy.md, written without looking at src/: brute force over
 * every agency, every rule and every agreement, no index, no precomputed sets. The property
 * test compares `route` with it.
 */
import { isIsoCountry } from '@mosaic/contract';
import type { Agency, Federation } from '@mosaic/federation';
import type { RoutableReport } from '@mosaic/policy';

const TLPS = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'];
const GATES = ['P9-clear', 'P9-green', 'P9-amber', 'P9-amber-strict', 'P9-red'];
const GRADES = ['A', 'B', 'C', 'D', 'E', 'F'];
const CATEGORIES = [
  'recruitment',
  'transport',
  'exploitation',
  'financial-flow',
  'online-advertising',
  'document-fraud',
  'other',
];
const INDICATOR_TYPES = [
  'person',
  'phone',
  'email',
  'online-handle',
  'identity-document',
  'vehicle',
  'vessel',
  'financial-account',
  'crypto-wallet',
  'location',
  'organisation',
];

interface ReferenceReason {
  clause: string;
  via: string;
  agreement?: number;
  rule?: { index: number; name?: string };
  lineage?: true;
}

export interface ReferenceResult {
  blocked?: string;
  recipients: { agency: string; reason: ReferenceReason }[];
  excluded: { agency: string; clause: string }[];
}

const isInt = (v: unknown, lo: number, hi: number) =>
  typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
const nonEmptyOf = (v: unknown, ok: (x: unknown) => boolean) =>
  Array.isArray(v) && v.length > 0 && v.every(ok);
const time = (v: unknown) => (typeof v === 'string' ? Date.parse(v) : Number.NaN);

export function referenceRoute(
  fed: Federation,
  report: RoutableReport,
  now: number,
  priorRecipients: readonly string[] = [],
): ReferenceResult {
  // Definitions.
  const groupMembers = (id: string): string[] | undefined => {
    const defs = fed.groups.filter((g) => g.id === id);
    if (defs.length !== 1 || isIsoCountry(id)) return undefined;
    const members = defs[0]!.members as unknown[];
    return nonEmptyOf(members, (m) => typeof m === 'string' && isIsoCountry(m))
      ? (members as string[])
      : undefined;
  };
  const expand = (list: unknown): string[] | undefined => {
    if (!Array.isArray(list)) return undefined;
    const out: string[] = [];
    for (const j of list as unknown[]) {
      if (typeof j !== 'string') return undefined;
      if (isIsoCountry(j)) out.push(j);
      else {
        const members = groupMembers(j);
        if (members === undefined) return undefined;
        out.push(...members);
      }
    }
    return out;
  };
  const definition = (id: string): Agency | undefined => {
    const defs = fed.agencies.filter((a) => a.id === id);
    return defs.length === 1 ? defs[0] : undefined;
  };
  const countriesOf = (id: string): string[] | undefined => {
    const a = definition(id);
    if (a === undefined || a.jurisdictions.length === 0) return undefined;
    return expand(a.jurisdictions);
  };
  const wellDefined = (id: unknown) => typeof id === 'string' && countriesOf(id) !== undefined;
  const tlpIndex = (t: unknown) => TLPS.indexOf(t as string);

  // Report clauses.
  const h = report.handling as Record<string, unknown> | undefined;
  const rel = h?.['releasableTo'] as { jurisdictions?: unknown; agencies?: unknown } | undefined;
  const deny = h?.['notReleasableTo'] as typeof rel;
  const listOk = (l: typeof rel) =>
    l === undefined ||
    ((l.jurisdictions === undefined || expand(l.jurisdictions) !== undefined) &&
      (l.agencies === undefined ||
        (Array.isArray(l.agencies) && (l.agencies as unknown[]).every(wellDefined))));
  const g = report.grading as Record<string, unknown> | undefined;
  const indicators: readonly { type: unknown }[] = report.indicators;
  const known =
    Number.isFinite(now) &&
    wellDefined(report.issuer) &&
    expand([report.origin]) !== undefined &&
    expand(report.jurisdictions) !== undefined &&
    h !== undefined &&
    tlpIndex(h['tlp']) >= 0 &&
    listOk(rel) &&
    listOk(deny) &&
    CATEGORIES.includes(report.category) &&
    indicators.every((i) => INDICATOR_TYPES.includes(i.type as string)) &&
    GRADES.includes(g?.['sourceReliability'] as string) &&
    isInt(g?.['informationCredibility'], 1, 6) &&
    isInt(g?.['confidence'], 0, 100) &&
    (h['validFrom'] === undefined || !Number.isNaN(time(h['validFrom']))) &&
    (h['validUntil'] === undefined || !Number.isNaN(time(h['validUntil'])));

  const allIds = [...new Set(fed.agencies.map((a) => a.id))];
  const blockAll = (clause: string): ReferenceResult => ({
    blocked: clause,
    recipients: [],
    excluded: allIds.sort().map((agency) => ({ agency, clause })),
  });
  if (!known) return blockAll('P1-known-values');
  if (h['validUntil'] !== undefined && time(h['validUntil']) <= now)
    return blockAll('P2-not-expired');
  if (h['validFrom'] !== undefined && time(h['validFrom']) > now)
    return blockAll('P3-already-valid');

  const tlp = tlpIndex(h['tlp']);
  const lineage = report.lineage;
  const followUp =
    lineage !== undefined &&
    (lineage.retracts !== undefined ||
      (lineage.supersedes !== undefined && lineage.supersedes.length > 0));
  const prior = followUp ? priorRecipients : [];
  const reportCountries = [...expand([report.origin])!, ...expand(report.jurisdictions)!];
  const types = indicators.map((i) => i.type as string);

  const recipients: ReferenceResult['recipients'] = [];
  const excluded: ReferenceResult['excluded'] = [];
  for (const id of [...new Set([...allIds, ...prior])].sort()) {
    const out = (clause: string) => excluded.push({ agency: id, clause });
    const countries = countriesOf(id);
    if (countries === undefined) {
      out('P4-known-agency');
      continue;
    }
    if (id === report.issuer) {
      out('P5-not-originator');
      continue;
    }
    if (((deny?.agencies ?? []) as string[]).includes(id)) {
      out('P6-not-denied-agency');
      continue;
    }
    const denied = expand(deny?.jurisdictions ?? [])!;
    if (countries.some((c) => denied.includes(c))) {
      out('P7-not-denied-jurisdiction');
      continue;
    }
    const named = ((rel?.agencies ?? []) as string[]).includes(id);
    if (rel !== undefined) {
      const released = expand(rel.jurisdictions ?? [])!;
      const isWithin = countries.length > 0 && countries.every((c) => released.includes(c));
      if (!named && !isWithin) {
        out('P8-releasable-to');
        continue;
      }
    }
    const isPrior = prior.includes(id);
    const gate = GATES[tlp]!;
    let via: string | undefined;
    let agreement: number | undefined;
    if (tlp <= 1) via = isPrior ? 'lineage' : 'community';
    else if (tlp === 2) {
      if (named) via = 'releasable-to';
      else if (isPrior) via = 'lineage';
      else {
        agreement = fed.agreements.findIndex((a) => {
          const to = (typeof a.to === 'string' ? [a.to] : a.to) as unknown[];
          const ok =
            wellDefined(a.from) &&
            to.length > 0 &&
            to.every(wellDefined) &&
            (a.categories === undefined ||
              nonEmptyOf(a.categories, (c) => CATEGORIES.includes(c as string))) &&
            (a.maxTlp === undefined || tlpIndex(a.maxTlp) >= 0);
          return (
            ok &&
            a.from === report.issuer &&
            to.includes(id) &&
            (a.categories === undefined || (a.categories as string[]).includes(report.category)) &&
            (a.maxTlp === undefined || tlp <= tlpIndex(a.maxTlp))
          );
        });
        if (agreement >= 0) via = 'agreement';
        else agreement = undefined;
      }
    } else if (named) via = 'releasable-to';
    if (via === undefined) {
      out(gate);
      continue;
    }
    const reason: ReferenceReason = { clause: gate, via };
    if (agreement !== undefined) reason.agreement = agreement;
    if (isPrior) {
      reason.lineage = true;
      recipients.push({ agency: id, reason });
      continue;
    }
    const rules = definition(id)!.subscriptions;
    const matching = rules.findIndex((r) => {
      const rc = nonEmptyOf(r.jurisdictions, () => true) ? expand(r.jurisdictions) : undefined;
      const defined =
        rc !== undefined &&
        nonEmptyOf(r.categories, (c) => CATEGORIES.includes(c as string)) &&
        (r.indicatorTypes === undefined ||
          nonEmptyOf(r.indicatorTypes, (t) => INDICATOR_TYPES.includes(t as string))) &&
        (r.minSourceReliability === undefined || GRADES.includes(r.minSourceReliability)) &&
        (r.minInformationCredibility === undefined || isInt(r.minInformationCredibility, 1, 6)) &&
        (r.minConfidence === undefined || isInt(r.minConfidence, 0, 100)) &&
        tlpIndex(r.maxTlp) >= 0;
      return (
        defined &&
        reportCountries.some((c) => rc.includes(c)) &&
        (r.categories as string[]).includes(report.category) &&
        (r.indicatorTypes === undefined ||
          types.some((t) => (r.indicatorTypes as string[]).includes(t))) &&
        (r.minSourceReliability === undefined ||
          GRADES.indexOf(report.grading.sourceReliability) <=
            GRADES.indexOf(r.minSourceReliability)) &&
        (r.minInformationCredibility === undefined ||
          report.grading.informationCredibility <= r.minInformationCredibility) &&
        (r.minConfidence === undefined || report.grading.confidence >= r.minConfidence) &&
        tlp <= tlpIndex(r.maxTlp)
      );
    });
    if (matching < 0) {
      out('P10-interest');
      continue;
    }
    const name = rules[matching]!.name;
    reason.rule = name === undefined ? { index: matching } : { index: matching, name };
    recipients.push({ agency: id, reason });
  }
  return { recipients, excluded };
}
