import { ErrorCode, MosaicError, isMosaicError, unavailable } from '@mosaic/errors';
import {
  AlertHeaders,
  Streams,
  alertSubject,
  alertsSubjectFilter,
  isNoMessage,
  parseAlertSubject,
} from '@mosaic/protocol';
import type { JetStreamManager, StoredMsg } from '@nats-io/jetstream';

/** One alert as the gateway hands it out: the originator's JWS verbatim, and where it came from. */
export interface HttpAlert {
  seq: number;
  id: string;
  kind: string;
  issuer: string;
  reportId: string;
  reason?: unknown;
  storedAt: string;
  jws: string;
}

/** Where a read starts: an ALERTS sequence, or the first alert stored at or after a time. */
export type AlertsFrom = { seq: number } | { time: Date };

function alertOf(m: StoredMsg, agency: string): HttpAlert {
  const parts = parseAlertSubject(m.subject);
  if (parts?.recipient !== agency)
    throw new MosaicError(ErrorCode.Internal, 'an alert read for one agency named another', {
      details: { seq: m.seq },
    });
  const reason = m.header.get(AlertHeaders.Reason);
  let parsedReason: unknown;
  if (reason !== '') parsedReason = JSON.parse(reason) as unknown;
  return {
    seq: m.seq,
    id: m.header.get(AlertHeaders.MsgId),
    kind: parts.kind,
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
  const out: HttpAlert[] = [];
  let batch;
  try {
    batch = await jsm.direct.getBatch(
      Streams.Alerts,
      'seq' in start
        ? { seq: start.seq, batch: limit, next_by_subj: alertsSubjectFilter(agency) }
        : { start_time: start.time, batch: limit, next_by_subj: alertsSubjectFilter(agency) },
    );
  } catch (err) {
    if (isNoMessage(err)) return out;
    throw unavailable('ALERTS read', err);
  }
  try {
    for await (const m of batch) out.push(alertOf(m, agency));
  } catch (err) {
    if (isMosaicError(err)) throw err;
    if (isNoMessage(err)) return out;
    throw unavailable('ALERTS read', err);
  }
  return out;
}

/** The agency's alert that carried `issuer`'s report `reportId`, of any kind, if it has one. */
export async function alertOfReport(
  jsm: JetStreamManager,
  agency: string,
  issuer: string,
  reportId: string,
): Promise<HttpAlert | undefined> {
  for (const kind of ['report', 'supersede', 'retraction'] as const) {
    try {
      const m = await jsm.direct.getMessage(Streams.Alerts, {
        last_by_subj: alertSubject(agency, kind, issuer, reportId),
      });
      if (m !== null) return alertOf(m, agency);
    } catch (err) {
      if (isMosaicError(err)) throw err;
      if (!isNoMessage(err)) throw unavailable('ALERTS read', err);
    }
  }
  return undefined;
}
