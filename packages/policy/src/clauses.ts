/** Stable clause ids of docs/policy.md. An id never changes meaning. */
export const Clause = {
  KnownValues: 'P1-known-values',
  NotExpired: 'P2-not-expired',
  AlreadyValid: 'P3-already-valid',
  KnownAgency: 'P4-known-agency',
  NotOriginator: 'P5-not-originator',
  NotDeniedAgency: 'P6-not-denied-agency',
  NotDeniedJurisdiction: 'P7-not-denied-jurisdiction',
  ReleasableTo: 'P8-releasable-to',
  Clear: 'P9-clear',
  Green: 'P9-green',
  Amber: 'P9-amber',
  AmberStrict: 'P9-amber-strict',
  Red: 'P9-red',
  Interest: 'P10-interest',
} as const;
export type Clause = (typeof Clause)[keyof typeof Clause];

/** Clauses that stop a report for every agency. */
export type ReportClause =
  typeof Clause.KnownValues | typeof Clause.NotExpired | typeof Clause.AlreadyValid;

/** The TLP gate clauses (P9), one per label. */
export type ReleaseClause =
  | typeof Clause.Clear
  | typeof Clause.Green
  | typeof Clause.Amber
  | typeof Clause.AmberStrict
  | typeof Clause.Red;

/** The conditions of one subscription rule (P10-interest). */
export const InterestCondition = {
  WellDefined: 'I0-well-defined',
  Jurisdiction: 'I1-jurisdiction',
  Category: 'I2-category',
  IndicatorTypes: 'I3-indicator-types',
  SourceReliability: 'I4-source-reliability',
  InformationCredibility: 'I5-information-credibility',
  Confidence: 'I6-confidence',
  MaxTlp: 'I7-max-tlp',
} as const;
export type InterestCondition = (typeof InterestCondition)[keyof typeof InterestCondition];

/** How the TLP gate (P9) admitted a recipient. */
export const Via = {
  Community: 'community',
  Agreement: 'agreement',
  ReleasableTo: 'releasable-to',
  Lineage: 'lineage',
} as const;
export type Via = (typeof Via)[keyof typeof Via];
