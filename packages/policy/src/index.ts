export { route } from './route.ts';
export type { RouteOptions, RouteResult, Recipient, RecipientReason, Exclusion } from './route.ts';
export { buildPolicyIndex } from './index-build.ts';
export type { PolicyIndex, IndexedAgency, IndexedRule, IndexedAgreement } from './index-build.ts';
export type { RoutableReport } from './report.ts';
export { lineageReferences } from './lineage.ts';
export { Clause, InterestCondition, Via } from './clauses.ts';
export type { ReportClause, ReleaseClause } from './clauses.ts';
export { tlpRank } from './tlp.ts';
