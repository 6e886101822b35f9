/**
 * The wire contract of ALERTS, shared by the router (writer) and the agency SDK (reader).
 * An alert's data is the originator's verbatim compact JWS, so the recipient verifies the
 * originator end to end; the headers carry the routing metadata.
 */

/** What an alert announces. */
export const AlertKind = {
  /** A report the recipient is entitled to under the rules in force when it was routed. */
  Report: 'report',
  /** A retraction of a report the recipient received. */
  Retraction: 'retraction',
  /** A report superseding one the recipient received. */
  Supersede: 'supersede',
} as const;
export type AlertKind = (typeof AlertKind)[keyof typeof AlertKind];

/**
 * Subject of an alert: `mosaic.alerts.<recipient>.<kind>.<issuer>.<reportId>`. The recipient
 * token keeps each agency's alerts under its own filter (`mosaic.alerts.<agency>.>`); the
 * issuer and report id let the router find every recipient of a report from the stream
 * itself (subjects filter `deliveredSubjectFilter`) without a second record of deliveries.
 */
export function alertSubject(
  recipient: string,
  kind: AlertKind,
  issuer: string,
  reportId: string,
): string {
  return `mosaic.alerts.${recipient}.${kind}.${issuer}.${reportId}`;
}

/** Matches every alert, of any kind, that carried the given report to any recipient. */
export function deliveredSubjectFilter(issuer: string, reportId: string): string {
  return `mosaic.alerts.*.*.${issuer}.${reportId}`;
}

/** The JetStream message id of an alert: one per report and recipient, so redelivery is idempotent. */
export function alertMsgId(issuer: string, reportId: string, recipient: string): string {
  return `${issuer}/${reportId}/${recipient}`;
}

/** Header names on an alert message. */
export const AlertHeaders = {
  MsgId: 'Nats-Msg-Id',
  Kind: 'Mosaic-Alert-Kind',
  Recipient: 'Mosaic-Recipient',
  Issuer: 'Mosaic-Issuer',
  ReportId: 'Mosaic-Report-Id',
  /** Sequence of the report in REPORTS. */
  ReportSeq: 'Mosaic-Report-Seq',
  /** JSON `{ clause, via, rule? }`: why the recipient was entitled (docs/policy.md). */
  Reason: 'Mosaic-Route-Reason',
  /** For retractions and supersedes: the report id that was retracted or superseded. */
  Refers: 'Mosaic-Refers-To',
  /**
   * JSON array of earlier reports the recipient also holds (received, or issued itself)
   * that share a selector with this one (`relatedHeaderSchema`); absent when there are none.
   */
  Related: 'Mosaic-Related',
} as const;

/** The part of a report that decides what its alerts announce. */
interface LineageOf {
  lineage?:
    { retracts?: string | undefined; supersedes?: readonly string[] | undefined } | undefined;
}

/**
 * What every alert of this report announces: a retraction, a supersede, or a report. The
 * router writes it into the alert's subject and `Mosaic-Alert-Kind`; a recipient recomputes
 * it from the signed report, so the headers cannot say otherwise.
 */
export function alertKindOf(report: LineageOf): AlertKind {
  if (report.lineage?.retracts !== undefined) return AlertKind.Retraction;
  if ((report.lineage?.supersedes?.length ?? 0) > 0) return AlertKind.Supersede;
  return AlertKind.Report;
}

/**
 * The report ids an alert of this report refers to (`Mosaic-Refers-To`, comma-separated):
 * what it retracts, then what it supersedes, without repeats.
 *
 * @example
 * ```ts
 * alertRefersTo({ lineage: { supersedes: ['a', 'b', 'a'] } }); // ['a', 'b']
 * ```
 */
export function alertRefersTo(report: LineageOf): string[] {
  const lineage = report.lineage;
  if (lineage === undefined) return [];
  return [
    ...new Set([
      ...(lineage.retracts === undefined ? [] : [lineage.retracts]),
      ...(lineage.supersedes ?? []),
    ]),
  ];
}

/**
 * The tokens of an alert subject (`mosaic.alerts.<recipient>.<kind>.<issuer>.<reportId>`), or
 * undefined when the subject is not one.
 */
export function parseAlertSubject(
  subject: string,
): { recipient: string; kind: string; issuer: string; reportId: string } | undefined {
  const [mosaic, alerts, recipient, kind, issuer, reportId, ...rest] = subject.split('.');
  if (mosaic !== 'mosaic' || alerts !== 'alerts' || rest.length > 0) return undefined;
  if (recipient === undefined || kind === undefined || issuer === undefined) return undefined;
  if (reportId === undefined) return undefined;
  return { recipient, kind, issuer, reportId };
}
