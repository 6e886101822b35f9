import { isMosaicError, unavailable } from '@mosaic/errors';
import {
  AlertHeaders,
  Streams,
  alertMsgId,
  leafAlertsConsumerConfig,
  leafCheckConsumerConfig,
  alertSubject,
  alertsConsumer,
  alertsConsumerConfig,
  alertKindOf,
  deliveredSubjectFilter,
  parseAlertSubject,
  reportLookupSubject,
  type AlertKind,
  type RelatedReport,
} from '@mosaic/protocol';
import type { RecipientReason } from '@mosaic/policy';
import { serviceJetStream } from '@mosaic/service';
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type StoredMsg,
} from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { reportOfStoredJws } from './payload.ts';

/** One alert to append. */
export interface Alert {
  recipient: string;
  kind: AlertKind;
  issuer: string;
  reportId: string;
  reportSeq: number;
  reason: RecipientReason;
  /** Report ids a retraction or supersede refers to. */
  refers: readonly string[];
  /** The originator's verbatim compact JWS. */
  jws: Uint8Array;
  /** Earlier reports this recipient holds that share a selector with this one. */
  related?: readonly RelatedReport[];
}

/** An ALERTS message that does not count as a delivery: not as the router writes alerts. */
export interface IgnoredAlert {
  subject: string;
  seq: number;
  reason: string;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

/** Why a stored alert is not one the router wrote for this report, or undefined when it is. */
function alertProblem(
  subject: string,
  alert: StoredMsg | null,
  report: { seq: number; data: Uint8Array } | undefined,
): string | undefined {
  const tokens = parseAlertSubject(subject);
  if (tokens === undefined) return 'not an alert subject';
  if (alert === null) return 'no message on the subject';
  if (report === undefined) return 'the report is not in REPORTS';
  const { recipient, kind, issuer, reportId } = tokens;
  const header = (name: string): string | undefined => alert.header?.get(name) || undefined;
  const expected: [string, string][] = [
    [AlertHeaders.MsgId, alertMsgId(issuer, reportId, recipient)],
    [AlertHeaders.Recipient, recipient],
    [AlertHeaders.Issuer, issuer],
    [AlertHeaders.ReportId, reportId],
    [AlertHeaders.Kind, kind],
    [AlertHeaders.ReportSeq, String(report.seq)],
  ];
  for (const [name, value] of expected)
    if (header(name) !== value) return `header ${name} is not ${value}`;
  if (!sameBytes(alert.data, report.data)) return 'its data is not the stored report';
  let signedKind: string;
  try {
    signedKind = alertKindOf(reportOfStoredJws(report.data));
  } catch (err) {
    if (isMosaicError(err)) return `the stored report cannot be read (${err.code})`;
    throw err;
  }
  return kind === signedKind ? undefined : `the report is no ${kind}`;
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

/**
 * The JetStream operations of the router, over the router identity's permissions: the
 * stream subject index of ALERTS is the only record of who received what.
 */
export class AlertStore {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;

  private constructor(js: JetStreamClient, jsm: JetStreamManager) {
    this.#js = js;
    this.#jsm = jsm;
  }

  static async open(nc: NatsConnection, timeoutMs: number): Promise<AlertStore> {
    const { js, jsm } = await serviceJetStream(nc, timeoutMs);
    return new AlertStore(js, jsm);
  }

  get jetstream(): JetStreamClient {
    return this.#js;
  }

  get manager(): JetStreamManager {
    return this.#jsm;
  }

  /**
   * The agencies holding an alert (of any kind) for the report, from the ALERTS subject
   * index (`mosaic.alerts.<recipient>.<kind>.<issuer>.<reportId>`) — counting only alerts as
   * the router writes them: each subject's alert must carry the router's message id and
   * headers for that recipient and report, the report's REPORTS sequence, a kind its lineage
   * gives, and exactly the signed bytes ingest verified and stored in REPORTS. Only the router
   * may write ALERTS; this keeps anything else found there (break-glass use, a restored
   * backup) from making an agency an earlier recipient of a follow-up. Others are `ignored`.
   */
  async recipientsOf(
    issuer: string,
    reportId: string,
  ): Promise<{ recipients: Map<string, string>; ignored: IgnoredAlert[] }> {
    let subjects: Record<string, number> | undefined;
    try {
      const info = await this.#jsm.streams.info(Streams.Alerts, {
        subjects_filter: deliveredSubjectFilter(issuer, reportId),
      });
      subjects = info.state.subjects;
    } catch (err) {
      throw unavailable('ALERTS lookup', err);
    }
    const recipients = new Map<string, string>();
    const ignored: IgnoredAlert[] = [];
    const names = Object.keys(subjects ?? {});
    if (names.length === 0) return { recipients, ignored };
    const report = await this.#storedReport(issuer, reportId);
    for (const subject of names) {
      let alert: StoredMsg | null;
      try {
        alert = await this.#jsm.direct.getMessage(Streams.Alerts, { last_by_subj: subject });
      } catch (err) {
        throw unavailable('ALERTS read', err);
      }
      const reason = alertProblem(subject, alert, report);
      const recipient = parseAlertSubject(subject)?.recipient;
      if (reason === undefined && recipient !== undefined) recipients.set(recipient, subject);
      else
        ignored.push({ subject, seq: alert?.seq ?? 0, reason: reason ?? 'not an alert subject' });
    }
    return { recipients, ignored };
  }

  /** The stored report (REPORTS sequence and verbatim JWS), by (issuer, report id). */
  async #storedReport(
    issuer: string,
    reportId: string,
  ): Promise<{ seq: number; data: Uint8Array } | undefined> {
    try {
      const m = await this.#jsm.streams.getMessage(Streams.Reports, {
        last_by_subj: reportLookupSubject(issuer, reportId),
      });
      return m === null ? undefined : { seq: m.seq, data: m.data };
    } catch (err) {
      throw unavailable('REPORTS lookup', err);
    }
  }

  /** The REPORTS sequence of a stored report, by (issuer, report id). */
  async reportSeq(issuer: string, reportId: string): Promise<number | undefined> {
    try {
      const m = await this.#jsm.streams.getMessage(Streams.Reports, {
        last_by_subj: reportLookupSubject(issuer, reportId),
      });
      return m?.seq;
    } catch (err) {
      throw unavailable('REPORTS lookup', err);
    }
  }

  /** Appends an alert; resolves once JetStream stored it (or already held its msg id). */
  async append(alert: Alert): Promise<{ seq: number; duplicate: boolean }> {
    const h = headers();
    h.set(AlertHeaders.Kind, alert.kind);
    h.set(AlertHeaders.Recipient, alert.recipient);
    h.set(AlertHeaders.Issuer, alert.issuer);
    h.set(AlertHeaders.ReportId, alert.reportId);
    h.set(AlertHeaders.ReportSeq, String(alert.reportSeq));
    h.set(AlertHeaders.Reason, JSON.stringify(alert.reason));
    if (alert.refers.length > 0) h.set(AlertHeaders.Refers, alert.refers.join(','));
    if (alert.related !== undefined && alert.related.length > 0)
      h.set(AlertHeaders.Related, JSON.stringify(alert.related));
    try {
      const ack = await this.#js.publish(
        alertSubject(alert.recipient, alert.kind, alert.issuer, alert.reportId),
        alert.jws,
        {
          msgID: alertMsgId(alert.issuer, alert.reportId, alert.recipient),
          headers: h,
          expect: { streamName: Streams.Alerts },
        },
      );
      return { seq: ack.seq, duplicate: ack.duplicate };
    } catch (err) {
      throw unavailable('ALERTS append', err);
    }
  }

  /**
   * Creates the agency's `alerts-<agency>` consumer unless it exists. True when created.
   * An existing one created before acks were sampled (consultations) gets `sample_freq`.
   */
  async ensureAlertsConsumer(agency: string): Promise<boolean> {
    const wanted = alertsConsumerConfig(agency);
    try {
      const info = await this.#jsm.consumers.info(Streams.Alerts, alertsConsumer(agency));
      if (info.config.sample_freq !== wanted.sample_freq)
        await this.#jsm.consumers.update(Streams.Alerts, alertsConsumer(agency), {
          sample_freq: wanted.sample_freq,
        });
      return false;
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
    }
    await this.#jsm.consumers.add(Streams.Alerts, wanted);
    return true;
  }

  /**
   * Creates the agency's leaf consumers unless they exist: `leaf-<agency>`, through which a
   * leaf node of the agency sources its alerts (the deliver subject is fixed here, never
   * chosen by the agency), and `leafcheck-<agency>`, which its SDK walks to find gaps in
   * the leaf copy. True when one was created.
   */
  async ensureLeafConsumers(agency: string): Promise<boolean> {
    let created = false;
    for (const config of [leafAlertsConsumerConfig(agency), leafCheckConsumerConfig(agency)]) {
      if (await this.consumerExists(Streams.Alerts, config.durable_name)) continue;
      await this.#jsm.consumers.add(Streams.Alerts, config);
      created = true;
    }
    return created;
  }

  /** Whether the durable consumer exists on the stream. */
  async consumerExists(stream: string, name: string): Promise<boolean> {
    try {
      await this.#jsm.consumers.info(stream, name);
      return true;
    } catch (err) {
      if (isApiError(err, JetStreamApiCodes.ConsumerNotFound)) return false;
      throw err;
    }
  }
}
