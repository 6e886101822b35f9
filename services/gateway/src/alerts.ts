import { ErrorCode, MosaicError, isMosaicError, unavailable } from '@mosaic/errors';
import {
  AlertHeaders,
  HIT_ALERT_KIND,
  Streams,
  alertSubject,
  alertsSubjectFilter,
  directBatch,
  isNoMessage,
  hitAlertSchema,
  parseAlertSubject,
  type HitAlert,
} from '@mosaic/protocol';
import type { JetStreamManager, StoredMsg } from '@nats-io/jetstream';

/** One report alert as the gateway hands it out: the originator's JWS verbatim, and where it came from. */
export interface HttpReportAlert {
  seq: number;
  id: string;
  kind: 'report' | 'supersede' | 'retraction';
  issuer: string;
  reportId: string;
  reason?: unknown;
  storedAt: string;
  jws: string;
}

/**
 * One hit alert: another agency's check matched the agency's own holdings. Its body is the
 * holdings service's JSON (validated), not a report: it carries no JWS and no STIX content.
 */
interface HttpHitAlert {
  seq: number;
  id: string;
  kind: typeof HIT_ALERT_KIND;
  storedAt: string;
  hit: HitAlert;
}

/** One of the agency's alerts: a released report (or its supersede/retraction), or a hit. */
export type HttpAlert = HttpReportAlert | HttpHitAlert;

const REPORT_KINDS = new Set<string>(['report', 'supersede', 'retraction']);

function hitAlertOf(m: StoredMsg): HttpHitAlert {
  let body: unknown;
  try {
    body = JSON.parse(m.string()) as unknown;
  } catch {
    body = undefined;
  }
  const hit = hitAlertSchema.safeParse(body);
  if (!hit.success)
    throw new MosaicError(ErrorCode.Internal, 'a hit alert in ALERTS is not a valid hit body', {
      details: { seq: m.seq },
    });
  return {
    seq: m.seq,
    id: m.header.get(AlertHeaders.MsgId),
    kind: HIT_ALERT_KIND,
    storedAt: m.time.toISOString(),
    hit: hit.data,
  };
}

/** Where a read starts: an ALERTS sequence, or the first alert stored at or after a time. */
export type AlertsFrom = { seq: number } | { time: Date };

function alertOf(m: StoredMsg, agency: string): HttpAlert {
  const parts = parseAlertSubject(m.subject);
  if (parts?.recipient !== agency)
    throw new MosaicError(ErrorCode.Internal, 'an alert read for one agency named another', {
      details: { seq: m.seq },
    });
  if (parts.kind === HIT_ALERT_KIND) return hitAlertOf(m);
  if (!REPORT_KINDS.has(parts.kind))
    throw new MosaicError(ErrorCode.Internal, 'an alert of an unknown kind in ALERTS', {
      details: { seq: m.seq, kind: parts.kind },
    });
  const reason = m.header.get(AlertHeaders.Reason);
  let parsedReason: unknown;
  if (reason !== '') parsedReason = JSON.parse(reason) as unknown;
  return {
    seq: m.seq,
    id: m.header.get(AlertHeaders.MsgId),
    kind: parts.kind as HttpReportAlert['kind'],
    issuer: parts.issuer,
    reportId: parts.reportId,
    ...(parsedReason === undefined ? {} : { reason: parsedReason }),
    storedAt: m.time.toISOString(),
    jws: m.string(),
  };
}

/**
 * Up to `limit` of the agency's alerts from `from` on, in stream order. The subject filter is
 * built from the authenticated agency alone; each message's subject is checked against it
 * again before it is handed out.
 */
export async function readAlerts(
  jsm: JetStreamManager,
  agency: string,
  from: AlertsFrom | number,
  limit: number,
): Promise<HttpAlert[]> {
  const start = typeof from === 'number' ? { seq: from } : from;
  let batch;
  try {
    batch = await directBatch(
      jsm,
      Streams.Alerts,
      'seq' in start
        ? { seq: start.seq, batch: limit, next_by_subj: alertsSubjectFilter(agency) }
        : { start_time: start.time, batch: limit, next_by_subj: alertsSubjectFilter(agency) },
    );
  } catch (err) {
    throw unavailable('ALERTS read', err);
  }
  return batch.map((m) => alertOf(m, agency));
}

/** The agency's alert that carried `issuer`'s report `reportId`, of any kind, if it has one. */
export async function alertOfReport(
  jsm: JetStreamManager,
  agency: string,
  issuer: string,
  reportId: string,
): Promise<HttpReportAlert | undefined> {
  for (const kind of ['report', 'supersede', 'retraction'] as const) {
    try {
      const m = await jsm.direct.getMessage(Streams.Alerts, {
        last_by_subj: alertSubject(agency, kind, issuer, reportId),
      });
      if (m === null) continue;
      const alert = alertOf(m, agency);
      if (alert.kind !== HIT_ALERT_KIND) return alert;
    } catch (err) {
      if (isMosaicError(err)) throw err;
      if (!isNoMessage(err)) throw unavailable('ALERTS read', err);
    }
  }
  return undefined;
}
