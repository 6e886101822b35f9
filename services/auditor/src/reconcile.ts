import { createHash } from 'node:crypto';
import type { AuditEntry } from '@mosaic/audit-log';
import {
  AlertHeaders,
  AlertKind,
  HIT_ALERT_KIND,
  ReportHeaders,
  Streams,
  parseAlertSubject,
  readSequences,
} from '@mosaic/protocol';
import type { Logger } from '@mosaic/log';
import type { JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import type { AuditRequest } from '@mosaic/protocol';

/** Sequences seen, as the largest n with 1…n all seen plus the few seen above it. */
class SeqSet {
  #prefix = 0;
  readonly #above = new Set<number>();

  get prefix(): number {
    return this.#prefix;
  }

  add(seq: number): void {
    if (seq <= this.#prefix) return;
    this.#above.add(seq);
    while (this.#above.delete(this.#prefix + 1)) this.#prefix++;
  }

  has(seq: number): boolean {
    return seq <= this.#prefix || this.#above.has(seq);
  }
}

const disclosureKey = (recipient: string, issuer: string, reportId: string): string =>
  `${recipient}|${issuer}|${reportId}`;

/**
 * What the audit log already covers, read from its entries as the auditor rebuilds its tree:
 * the REPORTS sequences with a collection entry, the ALERTS sequences named by a disclosure
 * entry, and every (recipient, issuer, report id) disclosed. The contiguous prefixes tell
 * the reconciliation where to start reading REPORTS and ALERTS.
 */
export class Coverage {
  readonly #collected = new SeqSet();
  readonly #alerts = new SeqSet();
  readonly #disclosed = new Set<string>();

  add(entry: AuditEntry): void {
    if (entry.action === 'report.accepted') {
      for (const ref of entry.refs ?? [])
        if (ref.stream === Streams.Reports) this.#collected.add(ref.seq);
    } else if (entry.action === 'holdings.hit') {
      for (const ref of entry.refs ?? [])
        if (ref.stream === Streams.Alerts) this.#alerts.add(ref.seq);
    } else if (entry.action === 'alert.disclosed' || entry.action === 'report.retracted') {
      for (const ref of entry.refs ?? [])
        if (ref.stream === Streams.Alerts) this.#alerts.add(ref.seq);
      const { issuer, reportId } = entry.subject ?? {};
      if (issuer !== undefined && reportId !== undefined)
        for (const r of entry.recipients ?? [])
          this.#disclosed.add(disclosureKey(r.agency, issuer, reportId));
    }
  }

  get collectedThrough(): number {
    return this.#collected.prefix;
  }

  get alertsThrough(): number {
    return this.#alerts.prefix;
  }

  /** True when an entry names this ALERTS sequence (a disclosure, retraction or hit). */
  alerted(seq: number): boolean {
    return this.#alerts.has(seq);
  }

  collected(seq: number): boolean {
    return this.#collected.has(seq);
  }

  disclosed(recipient: string, issuer: string, reportId: string): boolean {
    return this.#disclosed.has(disclosureKey(recipient, issuer, reportId));
  }
}

export interface ReconcileResult {
  /** Collection entries written for reports stored without one. */
  collected: number;
  /** Disclosure entries written for alerts stored without one. */
  disclosed: number;
  /** Sequences REPORTS / ALERTS count but cannot return (nothing can be recovered for them). */
  unreadable: { stream: string; seq: number }[];
}

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** `<issuer>/<reportId>`, the msg id ingest stores every report under. */
function reportIdentity(m: StoredMsg): { issuer: string; reportId: string } | undefined {
  const id = m.header.get(ReportHeaders.MsgId);
  const slash = id.indexOf('/');
  if (slash <= 0 || slash === id.length - 1) return undefined;
  return { issuer: id.slice(0, slash), reportId: id.slice(slash + 1) };
}

function routeReason(m: StoredMsg): unknown {
  const text = m.header.get(AlertHeaders.Reason);
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/**
 * Restores, after a crash, "every stored decision has its entry": each REPORTS message
 * without a collection entry gets a `report.accepted` entry, and the alerts of each report
 * stored in ALERTS without a disclosure entry naming their recipient get one
 * `alert.disclosed` / `report.retracted` entry — all marked `recovered: true`. Reads only
 * from the first sequence the log does not cover contiguously, so a clean restart reads
 * nothing. Run before ingest and the router start; when one of several auditors restarts,
 * the others serve meanwhile, and an entry recovered here may also arrive from its service
 * (recorded twice, once `recovered`; `audit verify` accepts both).
 */
export async function reconcile(
  jsm: JetStreamManager,
  coverage: Coverage,
  append: (request: AuditRequest) => Promise<number>,
  log: Logger,
): Promise<ReconcileResult> {
  const result: ReconcileResult = { collected: 0, disclosed: 0, unreadable: [] };
  const writes: Promise<number>[] = [];

  for await (const { seq, msg } of readSequences(jsm, Streams.Reports, {
    from: coverage.collectedThrough + 1,
  })) {
    if (coverage.collected(seq)) continue;
    if (msg === undefined) {
      result.unreadable.push({ stream: Streams.Reports, seq });
      continue;
    }
    const identity = reportIdentity(msg);
    const agency = msg.header.get(ReportHeaders.Agency);
    writes.push(
      append({
        actor: { kind: 'agency', id: agency === '' ? (identity?.issuer ?? 'unknown') : agency },
        action: 'report.accepted',
        subject: { ...(identity ?? {}), contentHash: sha256(msg.data) },
        refs: [{ stream: Streams.Reports, seq }],
      }),
    );
    result.collected++;
  }

  interface Group {
    issuer: string;
    reportId: string;
    kind: string;
    reportSeq: number;
    refers: string;
    contentHash: string;
    recipients: { agency: string; reason?: unknown }[];
    alertSeqs: number[];
  }
  const groups = new Map<string, Group>();
  for await (const { seq, msg } of readSequences(jsm, Streams.Alerts, {
    from: coverage.alertsThrough + 1,
  })) {
    if (msg === undefined) {
      result.unreadable.push({ stream: Streams.Alerts, seq });
      continue;
    }
    if (coverage.alerted(seq)) continue;
    if (msg.header.get(AlertHeaders.Kind) === HIT_ALERT_KIND) {
      // A hit alert of the holdings service: its asker is the subject's fourth token.
      const tokens = parseAlertSubject(msg.subject);
      writes.push(
        append({
          actor: { kind: 'agency', id: tokens?.issuer ?? 'unknown' },
          action: 'holdings.hit',
          recipients: [{ agency: msg.header.get(AlertHeaders.Recipient) }],
          refs: [{ stream: Streams.Alerts, seq }],
          ...(tokens === undefined ? {} : { details: { checkId: tokens.reportId } }),
        }),
      );
      result.disclosed++;
      continue;
    }
    const recipient = msg.header.get(AlertHeaders.Recipient);
    const issuer = msg.header.get(AlertHeaders.Issuer);
    const reportId = msg.header.get(AlertHeaders.ReportId);
    if (coverage.disclosed(recipient, issuer, reportId)) continue;
    const key = `${issuer}|${reportId}`;
    let group = groups.get(key);
    if (group === undefined) {
      group = {
        issuer,
        reportId,
        kind: msg.header.get(AlertHeaders.Kind),
        reportSeq: Number(msg.header.get(AlertHeaders.ReportSeq)),
        refers: msg.header.get(AlertHeaders.Refers),
        contentHash: sha256(msg.data),
        recipients: [],
        alertSeqs: [],
      };
      groups.set(key, group);
    }
    const reason = routeReason(msg);
    group.recipients.push(
      reason === undefined ? { agency: recipient } : { agency: recipient, reason },
    );
    group.alertSeqs.push(seq);
  }
  for (const g of groups.values()) {
    writes.push(
      append({
        actor: { kind: 'service', id: 'router' },
        action: g.kind === AlertKind.Retraction ? 'report.retracted' : 'alert.disclosed',
        subject: { reportId: g.reportId, issuer: g.issuer, contentHash: g.contentHash },
        recipients: g.recipients,
        refs: [
          ...(Number.isSafeInteger(g.reportSeq) && g.reportSeq > 0
            ? [{ stream: Streams.Reports, seq: g.reportSeq }]
            : []),
          ...g.alertSeqs.map((seq) => ({ stream: Streams.Alerts, seq })),
        ],
        ...(g.refers === '' ? {} : { details: { refers: g.refers.split(',') } }),
      }),
    );
    result.disclosed++;
  }
  await Promise.all(writes);
  if (result.collected + result.disclosed > 0 || result.unreadable.length > 0)
    log.warn(
      {
        ...result,
        reportsFrom: coverage.collectedThrough + 1,
        alertsFrom: coverage.alertsThrough + 1,
      },
      'audit reconciled after an unclean stop: entries recovered',
    );
  return result;
}
