import { isIsoCountry } from '@mosaic/contract';
import type { Federation, SubscriptionRule } from '@mosaic/federation';
import { expandJurisdictions, type Groups } from './jurisdictions.ts';
import { tlpRank } from './tlp.ts';
import {
  compareIds,
  isCategory,
  isIndicatorType,
  isIntegerIn,
  isKnownList,
  reliabilityRank,
} from './values.ts';

/** A subscription rule, checked and expanded once. */
export type IndexedRule =
  | { readonly index: number; readonly name?: string | undefined; readonly defect: string }
  | {
      readonly index: number;
      readonly name?: string | undefined;
      readonly defect?: undefined;
      readonly countries: ReadonlySet<string>;
      readonly categories: ReadonlySet<string>;
      readonly indicatorTypes?: ReadonlySet<string> | undefined;
      readonly minReliability?: number | undefined;
      readonly minCredibility?: number | undefined;
      readonly minConfidence?: number | undefined;
      readonly maxTlp: number;
    };

/** A well-defined agency. */
export interface IndexedAgency {
  readonly id: string;
  readonly countries: ReadonlySet<string>;
  readonly rules: readonly IndexedRule[];
}

/** A well-defined agreement, filed under (from, to). */
export interface IndexedAgreement {
  readonly index: number;
  readonly categories?: ReadonlySet<string> | undefined;
  readonly maxTlp?: number | undefined;
}

/**
 * The federation prepared for routing. Build it once per federation version
 * (`buildPolicyIndex`) and route many reports with it; it is immutable.
 */
export interface PolicyIndex {
  /** Every distinct agency id of the federation, well-defined or not, sorted. */
  readonly agencyIds: readonly string[];
  readonly agencies: ReadonlyMap<string, IndexedAgency>;
  /** Agency ids that are not well-defined, with why (P4-known-agency). */
  readonly defects: ReadonlyMap<string, string>;
  readonly groups: Groups;
  /** `country category` → ids of agencies with a well-defined rule that can match it. */
  readonly candidates: ReadonlyMap<string, readonly string[]>;
  /** from → to → covering candidates, lowest agreement index first. */
  readonly agreements: ReadonlyMap<string, ReadonlyMap<string, readonly IndexedAgreement[]>>;
  /** What the index refused (ill-defined groups, agencies, rules, agreements), for operators. */
  readonly problems: readonly string[];
}

export function candidateKey(country: string, category: string): string {
  return `${country} ${category}`;
}

function buildGroups(federation: Federation, problems: string[]): Groups {
  const definitions = new Map<string, unknown[]>();
  for (const group of federation.groups ?? []) {
    const list = definitions.get(group.id) ?? [];
    list.push(group.members);
    definitions.set(group.id, list);
  }
  const groups = new Map<string, ReadonlySet<string>>();
  for (const [id, members] of definitions) {
    const [only] = members;
    if (members.length > 1) problems.push(`group ${id} is defined ${members.length} times`);
    else if (isIsoCountry(id)) problems.push(`group ${id} has a country code as its id`);
    else if (!isKnownList(only, isIsoCountry))
      problems.push(`group ${id} has no members or a member that is not a country`);
    else groups.set(id, new Set(only));
  }
  return groups;
}

function indexRule(rule: SubscriptionRule, index: number, groups: Groups): IndexedRule {
  const name = typeof rule.name === 'string' ? rule.name : undefined;
  const defect = (why: string): IndexedRule => ({ index, name, defect: why });
  const countries = isKnownList(rule.jurisdictions, (j): j is string => typeof j === 'string')
    ? expandJurisdictions(rule.jurisdictions, groups)
    : undefined;
  if (countries === undefined) return defect('jurisdictions empty or unknown');
  if (!isKnownList(rule.categories, isCategory)) return defect('categories empty or unknown');
  if (rule.indicatorTypes !== undefined && !isKnownList(rule.indicatorTypes, isIndicatorType))
    return defect('indicatorTypes empty or unknown');
  const minReliability =
    rule.minSourceReliability === undefined
      ? undefined
      : reliabilityRank(rule.minSourceReliability);
  if (rule.minSourceReliability !== undefined && minReliability === undefined)
    return defect('minSourceReliability unknown');
  if (
    rule.minInformationCredibility !== undefined &&
    !isIntegerIn(rule.minInformationCredibility, 1, 6)
  )
    return defect('minInformationCredibility not an integer 1–6');
  if (rule.minConfidence !== undefined && !isIntegerIn(rule.minConfidence, 0, 100))
    return defect('minConfidence not an integer 0–100');
  const maxTlp = tlpRank(rule.maxTlp);
  if (maxTlp === undefined) return defect('maxTlp unknown');
  return {
    index,
    name,
    countries,
    categories: new Set(rule.categories),
    indicatorTypes: rule.indicatorTypes === undefined ? undefined : new Set(rule.indicatorTypes),
    minReliability,
    minCredibility: rule.minInformationCredibility,
    minConfidence: rule.minConfidence,
    maxTlp,
  };
}

/**
 * Prepares a federation for `route`: expands groups, checks every agency, rule and
 * agreement (ill-defined ones deny, see docs/policy.md), and indexes the rules by
 * (country, category) so that routing a report only looks at agencies that can want it.
 * Never throws on unknown values; what it refused is listed in `problems`.
 *
 * @example
 * const index = buildPolicyIndex(federation);
 * const { recipients } = route(report, index, new Date());
 */
export function buildPolicyIndex(federation: Federation): PolicyIndex {
  const problems: string[] = [];
  const groups = buildGroups(federation, problems);

  const definitions = new Map<string, Federation['agencies']>();
  for (const agency of federation.agencies ?? []) {
    const list = definitions.get(agency.id) ?? [];
    list.push(agency);
    definitions.set(agency.id, list);
  }

  const agencies = new Map<string, IndexedAgency>();
  const defects = new Map<string, string>();
  const candidateSets = new Map<string, Set<string>>();
  for (const [id, list] of definitions) {
    const [agency] = list;
    if (agency === undefined) continue;
    const countries =
      Array.isArray(agency.jurisdictions) && agency.jurisdictions.length > 0
        ? expandJurisdictions(agency.jurisdictions, groups)
        : undefined;
    const defect =
      list.length > 1
        ? `agency ${id} is defined ${list.length} times`
        : countries === undefined
          ? `agency ${id} has no jurisdictions or an unknown one`
          : undefined;
    if (defect !== undefined || countries === undefined) {
      defects.set(id, defect ?? `agency ${id} is not well-defined`);
      problems.push(defect ?? `agency ${id} is not well-defined`);
      continue;
    }
    const rules = (agency.subscriptions ?? []).map((rule, r) => indexRule(rule, r, groups));
    for (const rule of rules) {
      if (rule.defect !== undefined) {
        problems.push(`agency ${id} subscription ${rule.index}: ${rule.defect}`);
        continue;
      }
      for (const country of rule.countries)
        for (const category of rule.categories) {
          const key = candidateKey(country, category);
          const set = candidateSets.get(key) ?? new Set<string>();
          set.add(id);
          candidateSets.set(key, set);
        }
    }
    agencies.set(id, { id, countries, rules });
  }

  const agreements = new Map<string, Map<string, IndexedAgreement[]>>();
  (federation.agreements ?? []).forEach((agreement, index) => {
    const to: unknown[] = typeof agreement.to === 'string' ? [agreement.to] : agreement.to;
    const wellDefined =
      agencies.has(agreement.from) &&
      isKnownList(to, (a): a is string => typeof a === 'string' && agencies.has(a)) &&
      (agreement.categories === undefined || isKnownList(agreement.categories, isCategory)) &&
      (agreement.maxTlp === undefined || tlpRank(agreement.maxTlp) !== undefined);
    if (!wellDefined) {
      problems.push(`agreement ${index} names an unknown agency, category or TLP`);
      return;
    }
    const byTo = agreements.get(agreement.from) ?? new Map<string, IndexedAgreement[]>();
    agreements.set(agreement.from, byTo);
    const entry: IndexedAgreement = {
      index,
      categories: agreement.categories === undefined ? undefined : new Set(agreement.categories),
      maxTlp: tlpRank(agreement.maxTlp),
    };
    for (const recipient of new Set(to)) {
      const list = byTo.get(recipient) ?? [];
      list.push(entry);
      byTo.set(recipient, list);
    }
  });

  return {
    agencyIds: [...definitions.keys()].sort(compareIds),
    agencies,
    defects,
    groups,
    candidates: new Map([...candidateSets].map(([key, set]) => [key, [...set]])),
    agreements,
    problems,
  };
}
