import {
  Clause,
  type Clause as ClauseId,
  type ReleaseClause,
  type ReportClause,
  type Via,
} from './clauses.ts';
import { candidateKey, type PolicyIndex } from './index-build.ts';
import { matchInterest } from './interest.ts';
import { release } from './release.ts';
import { checkReport, type ReportContext, type RoutableReport } from './report.ts';
import { compareIds } from './values.ts';

/** Why an agency receives the report. */
export interface RecipientReason {
  /** The TLP gate (P9) the agency passed. */
  readonly clause: ReleaseClause;
  readonly via: Via;
  /** Index in the federation's `agreements`, when `via` is `agreement`. */
  readonly agreement?: number;
  /** The lowest-indexed matching subscription rule (P10); absent when `lineage` is set. */
  readonly rule?: { readonly index: number; readonly name?: string };
  /** A follow-up delivered to a prior recipient: P10-interest was waived (L1). */
  readonly lineage?: true;
}

export interface Recipient {
  readonly agency: string;
  readonly reason: RecipientReason;
}

export interface Exclusion {
  readonly agency: string;
  /** The first clause of docs/policy.md the agency fails. */
  readonly clause: ClauseId;
  readonly detail: string;
}

export interface RouteResult {
  /** Sorted by agency id. */
  readonly recipients: readonly Recipient[];
  /** Sorted by agency id: every agency evaluated and not chosen (all of them with `explain`). */
  readonly excluded: readonly Exclusion[];
  /** Agencies of the federation not evaluated one by one (0 with `explain`); none can match. */
  readonly unconsidered: number;
  /** The report clause (P1–P3) that stopped the report for every agency. */
  readonly blocked?: { readonly clause: ReportClause; readonly detail: string };
}

export interface RouteOptions {
  /** Evaluate and list every agency of the federation (audit, "why not X"). */
  readonly explain?: boolean;
  /** Agencies that received a report this one retracts or supersedes (L1); see `lineageReferences`. */
  readonly priorRecipients?: Iterable<string>;
}

function evaluate(
  id: string,
  context: ReportContext,
  index: PolicyIndex,
  prior: boolean,
): Recipient | Exclusion {
  const excluded = (clause: ClauseId, detail: string): Exclusion => ({
    agency: id,
    clause,
    detail,
  });
  const agency = index.agencies.get(id);
  if (agency === undefined)
    return excluded(Clause.KnownAgency, index.defects.get(id) ?? 'not an agency of the federation');
  if (id === context.issuer) return excluded(Clause.NotOriginator, 'the originator');
  const released = release(context, agency, index, prior);
  if (!released.admitted) return excluded(released.clause, released.detail);
  const reason = {
    clause: context.gate,
    via: released.via,
    ...(released.agreement === undefined ? {} : { agreement: released.agreement }),
  };
  if (prior) return { agency: id, reason: { ...reason, lineage: true } };
  const interest = matchInterest(agency, context);
  if (!interest.matched) return excluded(Clause.Interest, interest.detail);
  const rule = interest.rule;
  return {
    agency: id,
    reason: {
      ...reason,
      rule:
        rule.name === undefined ? { index: rule.index } : { index: rule.index, name: rule.name },
    },
  };
}

/** Agencies that can pass P10 (index hits) plus those the audit wants to see by name. */
function candidates(
  context: ReportContext,
  index: PolicyIndex,
  prior: ReadonlySet<string>,
): Set<string> {
  const ids = new Set<string>([
    context.issuer,
    ...context.named,
    ...context.deniedAgencies,
    ...prior,
  ]);
  for (const country of context.countries)
    for (const id of index.candidates.get(candidateKey(country, context.category)) ?? [])
      ids.add(id);
  return ids;
}

/**
 * Routes a report under docs/policy.md: who receives it and why, and for the others the
 * first clause that excluded them. Pure and deterministic: same report, index and `now`,
 * same result, whatever the order of agencies in the federation. Never throws on unknown
 * values; they deny (P1-known-values, P4-known-agency, I0-well-defined).
 *
 * @example
 * const index = buildPolicyIndex(federation);
 * const { recipients, excluded } = route(report, index, new Date());
 * for (const { agency, reason } of recipients) publishAlert(agency, reason);
 */
export function route(
  report: RoutableReport,
  index: PolicyIndex,
  now: Date | number,
  options: RouteOptions = {},
): RouteResult {
  const explain = options.explain === true;
  const checked = checkReport(report, index, typeof now === 'number' ? now : now.getTime());
  if (!checked.ok) {
    const blocked = { clause: checked.clause, detail: checked.detail };
    return explain
      ? {
          recipients: [],
          excluded: index.agencyIds.map((agency) => ({ agency, ...blocked })),
          unconsidered: 0,
          blocked,
        }
      : { recipients: [], excluded: [], unconsidered: index.agencyIds.length, blocked };
  }
  const context = checked.context;
  const prior = new Set<string>(context.followUp ? (options.priorRecipients ?? []) : []);
  const ids = explain ? new Set([...index.agencyIds, ...prior]) : candidates(context, index, prior);

  const recipients: Recipient[] = [];
  const excluded: Exclusion[] = [];
  let evaluatedMembers = 0;
  for (const id of [...ids].sort(compareIds)) {
    if (index.agencies.has(id) || index.defects.has(id)) evaluatedMembers += 1;
    const outcome = evaluate(id, context, index, prior.has(id));
    if ('reason' in outcome) recipients.push(outcome);
    else excluded.push(outcome);
  }
  return { recipients, excluded, unconsidered: index.agencyIds.length - evaluatedMembers };
}
