import type { Report, Tlp } from '@mosaic/contract';
import { Clause, type ReleaseClause, type ReportClause } from './clauses.ts';
import type { PolicyIndex } from './index-build.ts';
import { expandJurisdiction, expandJurisdictions } from './jurisdictions.ts';
import { releaseClause, tlpRank } from './tlp.ts';
import { instant, isCategory, isIndicatorType, isIntegerIn, reliabilityRank } from './values.ts';

/** The fields of a report the policy reads. Every `Report` is one. */
export type RoutableReport = Pick<
  Report,
  'issuer' | 'origin' | 'jurisdictions' | 'category' | 'grading' | 'handling' | 'lineage'
> & { readonly indicators: readonly { readonly type: Report['indicators'][number]['type'] }[] };

/** A report that passed P1–P3, with every set the agency clauses need. */
export interface ReportContext {
  readonly issuer: string;
  readonly tlp: Tlp;
  readonly tlpRank: number;
  readonly gate: ReleaseClause;
  readonly category: string;
  /** expand(origin + jurisdictions). */
  readonly countries: ReadonlySet<string>;
  readonly indicatorTypes: ReadonlySet<string>;
  readonly reliability: number;
  readonly credibility: number;
  readonly confidence: number;
  readonly deniedAgencies: ReadonlySet<string>;
  readonly deniedCountries: ReadonlySet<string>;
  /** Present when `handling.releasableTo` is. */
  readonly releasable?: {
    readonly agencies: ReadonlySet<string>;
    readonly countries: ReadonlySet<string>;
  };
  /** `releasableTo.agencies`: the agencies the report names. */
  readonly named: ReadonlySet<string>;
  /** The report retracts or supersedes earlier reports (L1). */
  readonly followUp: boolean;
}

export type ReportCheck =
  | { readonly ok: true; readonly context: ReportContext }
  | { readonly ok: false; readonly clause: ReportClause; readonly detail: string };

type ReleaseList = { jurisdictions?: unknown; agencies?: unknown } | undefined;

function unknownValue(detail: string): ReportCheck {
  return { ok: false, clause: Clause.KnownValues, detail };
}

/** Checks a release list; returns its expanded form or the P1 detail. */
function releaseList(
  list: ReleaseList,
  path: string,
  index: PolicyIndex,
): { agencies: Set<string>; countries: Set<string> } | string {
  if (list === undefined) return { agencies: new Set(), countries: new Set() };
  if (typeof list !== 'object' || list === null) return `${path} is not an object`;
  let countries = new Set<string>();
  if (list.jurisdictions !== undefined) {
    const expanded = expandJurisdictions(list.jurisdictions, index.groups);
    if (expanded === undefined) return `${path}.jurisdictions has an unknown jurisdiction`;
    countries = expanded;
  }
  const agencies = new Set<string>();
  if (list.agencies !== undefined) {
    if (!Array.isArray(list.agencies)) return `${path}.agencies is not a list`;
    for (const agency of list.agencies as unknown[]) {
      if (typeof agency !== 'string' || !index.agencies.has(agency))
        return `${path}.agencies names ${String(agency)}, not a well-defined agency`;
      agencies.add(agency);
    }
  }
  return { agencies, countries };
}

/**
 * The report clauses P1–P3 of docs/policy.md. On success, the report's sets are expanded
 * once for all agencies.
 */
export function checkReport(report: RoutableReport, index: PolicyIndex, now: number): ReportCheck {
  if (!Number.isFinite(now)) return unknownValue('the routing instant is not a valid time');
  if (!index.agencies.has(report.issuer))
    return unknownValue(`issuer ${report.issuer} is not a well-defined agency`);
  const origin = expandJurisdiction(report.origin, index.groups);
  if (origin === undefined) return unknownValue(`origin ${report.origin} is unknown`);
  const concerned = expandJurisdictions(report.jurisdictions, index.groups);
  if (concerned === undefined) return unknownValue('jurisdictions has an unknown jurisdiction');
  const handling = report.handling as Partial<Report['handling']> | undefined;
  if (handling === undefined || typeof handling !== 'object' || handling === null)
    return unknownValue('handling is missing');
  const rank = tlpRank(handling.tlp);
  if (rank === undefined || handling.tlp === undefined)
    return unknownValue(`TLP ${String(handling.tlp)} is not a TLP 2.0 label`);
  const releasable = releaseList(handling.releasableTo, 'handling.releasableTo', index);
  if (typeof releasable === 'string') return unknownValue(releasable);
  const denied = releaseList(handling.notReleasableTo, 'handling.notReleasableTo', index);
  if (typeof denied === 'string') return unknownValue(denied);
  if (!isCategory(report.category))
    return unknownValue(`category ${String(report.category)} is unknown`);
  if (!Array.isArray(report.indicators)) return unknownValue('indicators is not a list');
  const indicatorTypes = new Set<string>();
  for (const indicator of report.indicators) {
    const type: unknown = (indicator as { type?: unknown } | null)?.type;
    if (!isIndicatorType(type)) return unknownValue(`indicator type ${String(type)} is unknown`);
    indicatorTypes.add(type);
  }
  const grading = report.grading as Partial<Report['grading']> | undefined;
  const reliability = reliabilityRank(grading?.sourceReliability);
  if (reliability === undefined) return unknownValue('source reliability is unknown');
  const credibility = grading?.informationCredibility;
  if (!isIntegerIn(credibility, 1, 6)) return unknownValue('information credibility is unknown');
  const confidence = grading?.confidence;
  if (!isIntegerIn(confidence, 0, 100)) return unknownValue('confidence is unknown');
  const validFrom = handling.validFrom === undefined ? undefined : instant(handling.validFrom);
  if (handling.validFrom !== undefined && validFrom === undefined)
    return unknownValue('validFrom is not a valid time');
  const validUntil = handling.validUntil === undefined ? undefined : instant(handling.validUntil);
  if (handling.validUntil !== undefined && validUntil === undefined)
    return unknownValue('validUntil is not a valid time');

  if (validUntil !== undefined && validUntil <= now)
    return {
      ok: false,
      clause: Clause.NotExpired,
      detail: `valid until ${String(handling.validUntil)}`,
    };
  if (validFrom !== undefined && validFrom > now)
    return {
      ok: false,
      clause: Clause.AlreadyValid,
      detail: `valid from ${String(handling.validFrom)}`,
    };

  const lineage = report.lineage;
  return {
    ok: true,
    context: {
      issuer: report.issuer,
      tlp: handling.tlp,
      tlpRank: rank,
      gate: releaseClause(handling.tlp),
      category: report.category,
      countries: new Set([...origin, ...concerned]),
      indicatorTypes,
      reliability,
      credibility,
      confidence,
      deniedAgencies: denied.agencies,
      deniedCountries: denied.countries,
      ...(handling.releasableTo === undefined ? {} : { releasable }),
      named: releasable.agencies,
      followUp: lineage?.retracts !== undefined || (lineage?.supersedes ?? []).length > 0,
    },
  };
}
