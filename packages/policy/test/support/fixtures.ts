import { Category } from '@mosaic/contract';
import type { Federation, JurisdictionGroup, SubscriptionRule } from '@mosaic/federation';
import { buildPolicyIndex, route, type RoutableReport, type RouteOptions } from '@mosaic/policy';

export const NOW = Date.parse('2026-03-01T12:00:00Z');

const ALL_CATEGORIES = Object.values(Category);

export function rule(overrides: Partial<SubscriptionRule> = {}): SubscriptionRule {
  return { jurisdictions: ['NL'], categories: [...ALL_CATEGORIES], maxTlp: 'RED', ...overrides };
}

export function agency(
  id: string,
  jurisdictions: string[],
  subscriptions: SubscriptionRule[] = [],
): Federation['agencies'][number] {
  return {
    id,
    name: `Agency ${id}`,
    kind: 'police',
    jurisdictions,
    contact: { email: `${id}@example.org` },
    keys: [],
    subscriptions,
  };
}

export function federation(overrides: Partial<Federation> = {}): Federation {
  return { version: 1, groups: [], agencies: [], agreements: [], ...overrides };
}

type ReportOverrides = Partial<Omit<RoutableReport, 'handling' | 'grading'>> & {
  handling?: Partial<RoutableReport['handling']>;
  grading?: Partial<RoutableReport['grading']>;
};

export function report(overrides: ReportOverrides = {}): RoutableReport {
  const { handling, grading, ...rest } = overrides;
  return {
    issuer: 'origin',
    origin: 'NL',
    jurisdictions: ['NL'],
    category: 'recruitment',
    indicators: [{ type: 'phone' }],
    ...rest,
    grading: { sourceReliability: 'B', informationCredibility: 2, confidence: 80, ...grading },
    handling: { tlp: 'GREEN', ...handling },
  };
}

/** A loosely typed report for unknown-value cases. */
export function rawReport(value: unknown): RoutableReport {
  return value as RoutableReport;
}

/** The outcome for one agency, routed with `explain: true`. */
export function outcomeFor(
  fed: Federation,
  r: RoutableReport,
  agencyId: string,
  options: RouteOptions = {},
  now: number = NOW,
) {
  const result = route(r, buildPolicyIndex(fed), now, { ...options, explain: true });
  const recipient = result.recipients.find((x) => x.agency === agencyId);
  const exclusion = result.excluded.find((x) => x.agency === agencyId);
  return { result, recipient, exclusion, clause: exclusion?.clause };
}

/** The issuer used by `report()`, subscribed to nothing. */
export const ORIGIN = agency('origin', ['NL']);

/** A group; members are loosely typed so that tests can hold non-countries. */
export function group(id: string, members: string[]): JurisdictionGroup {
  return { id, name: id, members } as JurisdictionGroup;
}

export const BENELUX = group('BENELUX', ['BE', 'NL', 'LU']);
