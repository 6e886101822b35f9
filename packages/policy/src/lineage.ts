import type { RoutableReport } from './report.ts';

/**
 * The report ids a follow-up retracts or supersedes (L1 of docs/policy.md), in report
 * order without repeats. The router looks up who received them and passes those agencies
 * to `route` as `priorRecipients`. `relatesTo` is a link, not a follow-up, and is not listed.
 *
 * @example
 * const prior = lineageReferences(report).flatMap((id) => deliveries.recipientsOf(id));
 * route(report, index, now, { priorRecipients: prior });
 */
export function lineageReferences(report: Pick<RoutableReport, 'lineage'>): string[] {
  const lineage = report.lineage;
  if (lineage === undefined) return [];
  const ids = [
    ...(lineage.retracts === undefined ? [] : [lineage.retracts]),
    ...(lineage.supersedes ?? []),
  ];
  return [...new Set(ids)];
}
