import { decodeEntry } from './decode-entry.ts';
import type { AuditLogItem } from './verify-log.ts';

/** What the entries of an audit log record as collected and disclosed. */
export interface AuditCoverage {
  /** Entries the auditor reconstructed after a crash (`recovered: true`). */
  readonly recovered: number;
  /** True when a `report.accepted` entry names sequence `seq` of `stream` in its refs. */
  collects(stream: string, seq: number): boolean;
  /** The highest sequence of `stream` a `report.accepted` entry names; 0 when none does. */
  lastCollected(stream: string): number;
  /**
   * True when an `alert.disclosed` or `report.retracted` entry of the report (`issuer`,
   * `reportId`) names `recipient` among its recipients.
   */
  discloses(alert: { recipient: string; issuer: string; reportId: string }): boolean;
  /**
   * True when a `holdings.hit` entry of the check `checkId`, asked by `asker`, names
   * `recipient` (the holder) among its recipients: the disclosure of a hit alert.
   */
  disclosesHit(hit: { recipient: string; asker: string; checkId: string }): boolean;
}

const disclosureKey = (recipient: string, issuer: string, reportId: string): string =>
  `${recipient}|${issuer}|${reportId}`;

/**
 * Indexes the collection and disclosure entries of a log (each entry decoded and
 * validated; ERR_AUDIT_ENTRY for one that is not an entry), so that every stored report and
 * alert can be checked against it.
 *
 * @example
 * ```ts
 * const coverage = auditCoverage(entries);
 * coverage.collects('REPORTS', 17); // true when report.accepted names REPORTS seq 17
 * ```
 */
export function auditCoverage(entries: Iterable<AuditLogItem>): AuditCoverage {
  const collected = new Map<string, Set<number>>();
  const last = new Map<string, number>();
  const disclosed = new Set<string>();
  const hits = new Set<string>();
  let recovered = 0;
  for (const item of entries) {
    const e = decodeEntry(item.data);
    if (e.recovered === true) recovered++;
    if (e.action === 'report.accepted')
      for (const ref of e.refs ?? []) {
        let seqs = collected.get(ref.stream);
        if (seqs === undefined) collected.set(ref.stream, (seqs = new Set()));
        seqs.add(ref.seq);
        last.set(ref.stream, Math.max(last.get(ref.stream) ?? 0, ref.seq));
      }
    if (e.action === 'alert.disclosed' || e.action === 'report.retracted')
      for (const r of e.recipients ?? [])
        disclosed.add(
          disclosureKey(r.agency, String(e.subject?.issuer), String(e.subject?.reportId)),
        );
    const checkId = e.details?.['checkId'];
    if (e.action === 'holdings.hit' && typeof checkId === 'string')
      for (const r of e.recipients ?? []) hits.add(disclosureKey(r.agency, e.actor.id, checkId));
  }
  return {
    recovered,
    collects: (stream, seq) => collected.get(stream)?.has(seq) ?? false,
    lastCollected: (stream) => last.get(stream) ?? 0,
    discloses: ({ recipient, issuer, reportId }) =>
      disclosed.has(disclosureKey(recipient, issuer, reportId)),
    disclosesHit: ({ recipient, asker, checkId }) =>
      hits.has(disclosureKey(recipient, asker, checkId)),
  };
}
