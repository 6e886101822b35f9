import { InterestCondition } from './clauses.ts';
import type { IndexedAgency, IndexedRule } from './index-build.ts';
import type { ReportContext } from './report.ts';

function overlaps(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const item of small) if (large.has(item)) return true;
  return false;
}

/** The first of I0–I7 (docs/policy.md, P10-interest) the rule fails, or undefined if it matches. */
function failedCondition(rule: IndexedRule, context: ReportContext): InterestCondition | undefined {
  if (rule.defect !== undefined) return InterestCondition.WellDefined;
  if (!overlaps(rule.countries, context.countries)) return InterestCondition.Jurisdiction;
  if (!rule.categories.has(context.category)) return InterestCondition.Category;
  if (rule.indicatorTypes !== undefined && !overlaps(rule.indicatorTypes, context.indicatorTypes))
    return InterestCondition.IndicatorTypes;
  if (rule.minReliability !== undefined && context.reliability > rule.minReliability)
    return InterestCondition.SourceReliability;
  if (rule.minCredibility !== undefined && context.credibility > rule.minCredibility)
    return InterestCondition.InformationCredibility;
  if (rule.minConfidence !== undefined && context.confidence < rule.minConfidence)
    return InterestCondition.Confidence;
  if (context.tlpRank > rule.maxTlp) return InterestCondition.MaxTlp;
  return undefined;
}

export type InterestOutcome =
  | { readonly matched: true; readonly rule: IndexedRule }
  | { readonly matched: false; readonly detail: string };

/** P10-interest: the agency's lowest-indexed matching rule, or why each rule failed. */
export function matchInterest(agency: IndexedAgency, context: ReportContext): InterestOutcome {
  const failures: string[] = [];
  for (const rule of agency.rules) {
    const failed = failedCondition(rule, context);
    if (failed === undefined) return { matched: true, rule };
    const label =
      rule.name === undefined ? `rule ${rule.index}` : `rule ${rule.index} (${rule.name})`;
    failures.push(`${label}: ${failed}`);
  }
  return {
    matched: false,
    detail: failures.length === 0 ? 'no subscription rules' : failures.join('; '),
  };
}
