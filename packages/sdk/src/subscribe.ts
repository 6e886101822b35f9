import type { Report } from '@mosaic/contract';
import {
  ErrorClass,
  ErrorCode,
  MosaicError,
  errorClass,
  isMosaicError,
  unavailable,
} from '@mosaic/errors';
import {
  AlertHeaders,
  AlertKind,
  Streams,
  alertKindOf,
  alertMsgId,
  alertRefersTo,
  alertSubject,
  alertsConsumer,
  HIT_ALERT_KIND,
  HUB_API_PREFIX,
  hitAlertMsgId,
  hitAlertSchema,
  hitAlertSubject,
  type HitAlert,
  relatedHeaderSchema,
  type RelatedReport,
} from '@mosaic/protocol';
import { verifyReport, type KeyLookup } from '@mosaic/signing';
import {
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  type Consumer,
  type ConsumerMessages,
  type JsMsg,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { keysFromHub } from './keys.ts';

/** Why the hub's router routed the alert to this agency (docs/policy.md): `clause`, `via`, … */
export type AlertReason = { readonly clause?: string; readonly via?: string } & Readonly<
  Record<string, unknown>
>;

/** A verified alert, as handed to a `subscribe` handler. */
export interface Alert {
  /** `<issuer>/<reportId>/<recipient>`: the same on every redelivery — dedupe on it. */
  readonly id: string;
  readonly kind: AlertKind;
  /** The report, parsed from the exact bytes the originator signed. */
  readonly report: Report;
  /** Those signed bytes. */
  readonly payload: Uint8Array;
  /** The originator's compact JWS, as it travelled. */
  readonly jws: string;
  /** The agency whose key signed the report (= `report.issuer`). */
  readonly originator: string;
  /** The key that signed it, `<agency>/<keyId>`. */
  readonly kid: string;
  readonly reason: AlertReason;
  /** Retractions and supersedes: the report ids they refer to. */
  readonly refersTo?: readonly string[];
  /**
   * Earlier reports this agency holds (received, or issued itself) that share a selector
   * with this one, as the hub's selector index found them: issuer, report id, REPORTS
   * sequence and the kinds of the shared selectors. Empty when there are none.
   */
  readonly related: readonly RelatedReport[];
  /** Sequence of the alert in ALERTS. */
  readonly seq: number;
  /** Sequence of the report in REPORTS. */
  readonly reportSeq: number;
  /** When the hub stored the alert. */
  readonly storedAt: Date;
  /** True when the broker delivered it before without an acknowledgement. */
  readonly redelivered: boolean;
}

/**
 * A `hit` alert: another agency checked a selector the agency registered as a private
 * holding. It names the asker and the agency's own references of the matching holdings; the
 * follow-up is an exchange between the two agencies.
 */
export interface HitNotice {
  /** `hit/<checkId>/<agency>`: the same on every redelivery — dedupe on it. */
  readonly id: string;
  readonly kind: 'hit';
  /** The agency that checked. */
  readonly asker: string;
  readonly checkId: string;
  readonly checkedAt: Date;
  /** The matching holdings: kind, the agency's own reference, and whether the asker was told its name. */
  readonly holdings: HitAlert['holdings'];
  /** Sequence of the alert in ALERTS. */
  readonly seq: number;
  readonly storedAt: Date;
  readonly redelivered: boolean;
}

/** An alert that failed verification: terminated, never handed to the handler. */
export interface InvalidAlert {
  readonly seq: number;
  readonly subject: string;
  readonly code: string;
  readonly message: string;
  readonly details?: unknown;
}

export interface SubscribeOptions {
  /** Keep waiting for new alerts until `signal` aborts; default false: return when none is pending. */
  follow?: boolean;
  /** Return after handing over this many alerts. */
  max?: number;
  /**
   * Alerts the hub stored before this time are acknowledged without being handed over
   * (counted as `skipped`): the consumer is durable, so "since" can only move forward —
   * it never replays alerts acknowledged earlier.
   */
  since?: Date;
  /** Keys to verify originators with; default `keysFromHub(agency)`. */
  keys?: KeyLookup;
  /** Stops the subscription after the alert being handled is acknowledged. */
  signal?: AbortSignal;
  /**
   * Handed every `hit` alert (acknowledged once it resolved). Without it, hit alerts stay
   * on the hub unacknowledged for a later reader that takes them (counted as `hitsWaiting`).
   */
  onHit?: (hit: HitNotice) => Promise<void> | void;
  /** Told about every alert that failed verification (after it was terminated). */
  onInvalid?: (alert: InvalidAlert) => void;
  /** Alerts pulled per request; default 100. */
  batch?: number;
  /**
   * With `follow`: how long the hub may stay unreachable or unable to serve the consumer (a
   * node restart, a leadership change of the stream or the consumer, a network cut) before
   * `subscribe` gives up with ERR_UNAVAILABLE; default 60 000 ms. Within it the connection
   * reconnects and the subscription resumes where it was, asking again with a growing pause
   * (unacknowledged alerts come back; one the handler already took whose acknowledgement the
   * hub did not confirm is acknowledged again, not handed over twice).
   */
  reconnectTimeoutMs?: number;
}

export interface SubscribeSummary {
  /** Alerts handed to the handler and acknowledged. */
  delivered: number;
  /** Alerts that failed verification, terminated. */
  invalid: number;
  /** Alerts stored before `since`, acknowledged unseen. */
  skipped: number;
  /** Hit alerts handed to `onHit` and acknowledged. */
  hits: number;
  /** Hit alerts left unacknowledged because no `onHit` was given. */
  hitsWaiting: number;
  /** ALERTS sequence of the last alert delivered. */
  lastSeq?: number;
  stopped: 'drained' | 'max' | 'aborted';
}

const KINDS: ReadonlySet<string> = new Set(Object.values(AlertKind));
/** How long a hit alert nobody takes stays away before it is offered again. */
const HIT_WAIT_MS = 60_000;
const DRAIN_EXPIRES_MS = 2_000;
const FOLLOW_EXPIRES_MS = 10_000;
/** Pauses between asks while the hub fails over: doubling from the first to the last. */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 2_000;
const RECONNECT_TIMEOUT_MS = 60_000;

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function invalid(message: string, details: Record<string, unknown>): MosaicError {
  return new MosaicError(ErrorCode.AlertInvalid, message, { details });
}

/** The `Mosaic-Related` header: absent is none; anything but a valid list refuses the alert. */
function parseRelated(value: string, where: Record<string, unknown>): RelatedReport[] {
  if (value === '') return [];
  let data: unknown;
  try {
    data = JSON.parse(value);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    throw invalid('alert related reports are not JSON', where);
  }
  const parsed = relatedHeaderSchema.safeParse(data);
  if (!parsed.success) throw invalid('alert related reports are malformed', where);
  return parsed.data;
}

async function toAlert(m: JsMsg, agency: string, keys: KeyLookup, storedAt: Date): Promise<Alert> {
  const header = (name: string): string => m.headers?.get(name) ?? '';
  const kind = header(AlertHeaders.Kind);
  const issuer = header(AlertHeaders.Issuer);
  const reportId = header(AlertHeaders.ReportId);
  const recipient = header(AlertHeaders.Recipient);
  const where = { seq: m.seq, subject: m.subject };
  if (!KINDS.has(kind)) throw invalid(`unknown alert kind ${JSON.stringify(kind)}`, where);
  if (recipient !== agency)
    throw invalid(`alert for ${JSON.stringify(recipient)} delivered to ${agency}`, where);
  if (m.subject !== alertSubject(agency, kind as AlertKind, issuer, reportId))
    throw invalid('alert subject does not match its headers', where);
  const verified = await verifyReport(m.data, keys, { acceptRevokedBefore: storedAt });
  if (verified.report.issuer !== issuer || verified.report.reportId !== reportId)
    throw invalid('alert headers name another report than the signed one', {
      ...where,
      issuer: verified.report.issuer,
      reportId: verified.report.reportId,
    });
  // The routing headers are the router's; what they claim about the report must be what the
  // signed report says, so a doctored alert cannot pass a report off as another kind of alert.
  if (header(AlertHeaders.MsgId) !== alertMsgId(issuer, reportId, agency))
    throw invalid('alert message id does not name this report and recipient', where);
  const signedKind = alertKindOf(verified.report);
  if (kind !== signedKind)
    throw invalid(`alert says ${kind}, the signed report makes it a ${signedKind}`, {
      ...where,
      kind,
      signedKind,
    });
  const refers = header(AlertHeaders.Refers)
    .split(',')
    .filter((id) => id !== '');
  const signedRefers = alertRefersTo(verified.report);
  if (refers.join(',') !== signedRefers.join(','))
    throw invalid('alert refers to other reports than the signed report', {
      ...where,
      refers,
      signedRefers,
    });
  const reportSeq = Number(header(AlertHeaders.ReportSeq));
  if (!Number.isSafeInteger(reportSeq) || reportSeq < 1)
    throw invalid('alert has no valid report sequence', where);
  let reason: unknown;
  try {
    reason = JSON.parse(header(AlertHeaders.Reason));
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    throw invalid('alert routing reason is not JSON', where);
  }
  if (typeof reason !== 'object' || reason === null || Array.isArray(reason))
    throw invalid('alert routing reason is not an object', where);
  const related = parseRelated(header(AlertHeaders.Related), where);
  return {
    id: alertMsgId(issuer, reportId, agency),
    kind,
    report: verified.report,
    payload: verified.payload,
    jws: m.string(),
    originator: verified.agency,
    kid: verified.kid,
    reason: reason as AlertReason,
    ...(refers.length > 0 ? { refersTo: refers } : {}),
    related,
    seq: m.seq,
    reportSeq,
    storedAt,
    redelivered: m.redelivered,
  };
}

function toHitNotice(m: JsMsg, agency: string, storedAt: Date): HitNotice {
  const where = { seq: m.seq, subject: m.subject };
  if ((m.headers?.get(AlertHeaders.Recipient) ?? '') !== agency)
    throw invalid(`hit alert not for ${agency}`, where);
  let body: unknown;
  try {
    body = m.json();
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    throw invalid('hit alert is not JSON', where);
  }
  const parsed = hitAlertSchema.safeParse(body);
  if (!parsed.success) throw invalid('hit alert is malformed', where);
  const hit = parsed.data;
  if (m.subject !== hitAlertSubject(agency, hit.asker, hit.checkId))
    throw invalid('hit alert subject does not match its content', where);
  if ((m.headers?.get(AlertHeaders.MsgId) ?? '') !== hitAlertMsgId(hit.checkId, agency))
    throw invalid('hit alert message id does not name this check and holder', where);
  return {
    id: hitAlertMsgId(hit.checkId, agency),
    kind: HIT_ALERT_KIND,
    asker: hit.asker,
    checkId: hit.checkId,
    checkedAt: new Date(hit.checkedAt),
    holdings: hit.holdings,
    seq: m.seq,
    storedAt,
    redelivered: m.redelivered,
  };
}

async function openConsumer(nc: NatsConnection, agency: string): Promise<Consumer> {
  const name = alertsConsumer(agency);
  try {
    return await jetstream(nc, { apiPrefix: HUB_API_PREFIX }).consumers.get(Streams.Alerts, name);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)
      throw new MosaicError(
        ErrorCode.Unavailable,
        `the hub has not created the alerts consumer ${name} yet (is its router running?)`,
        { details: { consumer: name }, cause: err },
      );
    throw unavailable(`opening ${name}`, err);
  }
}

/**
 * Reads the agency's alerts from its durable consumer, verifies each one end to end and
 * hands it to `handler`, acknowledging (and waiting for the broker to confirm) only after
 * the handler resolved. See `AgencyClient.subscribe`.
 */
export async function subscribeAlerts(
  nc: NatsConnection,
  agency: string,
  handler: (alert: Alert) => Promise<void> | void,
  options: SubscribeOptions = {},
): Promise<SubscribeSummary> {
  const { follow = false, max, since, signal } = options;
  const batch = options.batch ?? 100;
  if (max !== undefined && !(Number.isSafeInteger(max) && max >= 1))
    throw new MosaicError(ErrorCode.Usage, 'subscribe: max must be a positive integer');
  if (!(Number.isSafeInteger(batch) && batch >= 1))
    throw new MosaicError(ErrorCode.Usage, 'subscribe: batch must be a positive integer');
  if (since !== undefined && Number.isNaN(since.getTime()))
    throw new MosaicError(ErrorCode.Usage, 'subscribe: since is not a valid time');
  const reconnectTimeoutMs = options.reconnectTimeoutMs ?? RECONNECT_TIMEOUT_MS;
  if (!(Number.isFinite(reconnectTimeoutMs) && reconnectTimeoutMs >= 0))
    throw new MosaicError(ErrorCode.Usage, 'subscribe: reconnectTimeoutMs must be >= 0');
  const keys = options.keys ?? keysFromHub({ connection: nc });
  const consumer = await openConsumer(nc, agency);
  const summary: SubscribeSummary = {
    delivered: 0,
    invalid: 0,
    skipped: 0,
    hits: 0,
    hitsWaiting: 0,
    stopped: 'drained',
  };
  let current: ConsumerMessages | undefined;
  let stop: SubscribeSummary['stopped'] | undefined;
  const onAbort = (): void => {
    stop ??= 'aborted';
    void current?.close();
  };
  if (signal?.aborted === true) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });

  // Set when the hub, not the alert or the handler, failed while an alert was in hand.
  let hubFailed = false;
  const confirm = async (m: JsMsg): Promise<void> => {
    let confirmed: boolean;
    try {
      confirmed = await m.ackAck();
    } catch (err) {
      hubFailed = true;
      throw unavailable(`acknowledging alert ${m.seq}`, err);
    }
    if (!confirmed)
      throw new MosaicError(ErrorCode.Unavailable, `the hub did not confirm the ack of ${m.seq}`, {
        details: { seq: m.seq },
      });
  };

  const terminate = async (m: JsMsg, reason: string): Promise<void> => {
    // The ack subject: public on the message class, not on the JsMsg interface.
    const reply = (m as JsMsg & { readonly reply?: string }).reply;
    if (reply === undefined || reply === '') {
      m.term(reason);
      return;
    }
    try {
      await nc.request(reply, `+TERM ${reason}`, { timeout: 5_000 });
    } catch (err) {
      hubFailed = true;
      throw unavailable(`terminating alert ${m.seq}`, err);
    }
  };

  // Alerts (by ALERTS sequence) the handler took whose acknowledgement the hub did not
  // confirm (a failover): a redelivery is acknowledged again, not handed over twice.
  const unconfirmed = new Map<number, 'alert' | 'hit'>();
  const counted = (kind: 'alert' | 'hit', seq: number): void => {
    if (kind === 'hit') {
      summary.hits++;
      return;
    }
    summary.delivered++;
    summary.lastSeq = seq;
    if (max !== undefined && summary.delivered >= max) stop ??= 'max';
  };

  const handle = async (m: JsMsg): Promise<void> => {
    const taken = unconfirmed.get(m.seq);
    if (taken !== undefined) {
      await confirm(m);
      unconfirmed.delete(m.seq);
      counted(taken, m.seq);
      return;
    }
    const storedAt = new Date(Math.floor(m.info.timestampNanos / 1e6));
    if (since !== undefined && storedAt < since) {
      await confirm(m);
      summary.skipped++;
      return;
    }
    const isHit = m.headers?.get(AlertHeaders.Kind) === HIT_ALERT_KIND;
    if (isHit && options.onHit === undefined) {
      m.nak(HIT_WAIT_MS);
      summary.hitsWaiting++;
      return;
    }
    let alert: Alert | HitNotice;
    try {
      alert = isHit ? toHitNotice(m, agency, storedAt) : await toAlert(m, agency, keys, storedAt);
    } catch (err) {
      // Only a refused alert is terminated; a failure of the hub, a key file or a bug is not.
      if (!isMosaicError(err) || errorClass(err.code) !== ErrorClass.Input) {
        m.nak();
        if (isMosaicError(err, ErrorCode.Unavailable)) hubFailed = true;
        throw err;
      }
      // Refused for good: redelivering a bad signature would only refuse it again. Confirmed
      // like an ack (the broker answers a reply subject), so a drain does not wait for it.
      await terminate(m, err.code);
      summary.invalid++;
      options.onInvalid?.({
        seq: m.seq,
        subject: m.subject,
        code: err.code,
        message: err.message,
        ...(err.details === undefined ? {} : { details: err.details }),
      });
      return;
    }
    try {
      if (alert.kind === HIT_ALERT_KIND) await options.onHit?.(alert);
      else await handler(alert);
    } catch (err) {
      m.nak();
      throw err;
    }
    const kind = alert.kind === HIT_ALERT_KIND ? 'hit' : 'alert';
    try {
      await confirm(m);
    } catch (err) {
      if (hubFailed) unconfirmed.set(m.seq, kind);
      throw err;
    }
    counted(kind, m.seq);
  };

  let failure: unknown;
  let emptyRound = false;
  // Following: since when the hub has been unreachable (undefined while it answers).
  let downSince: number | undefined;
  /**
   * Waits until the hub serves the consumer again (the connection reconnects by itself, the
   * stream and the consumer elect leaders), asking with a doubling pause, at most until
   * `reconnectTimeoutMs` after it first failed; then gives up with ERR_UNAVAILABLE.
   */
  const rideOut = async (cause: unknown): Promise<void> => {
    downSince ??= Date.now();
    let pause = RETRY_FIRST_MS;
    for (;;) {
      if (stop !== undefined) return;
      const waited = Date.now() - downSince;
      if (waited >= reconnectTimeoutMs || nc.isClosed())
        throw new MosaicError(
          ErrorCode.Unavailable,
          `the hub has been unreachable for ${String(Math.round(waited / 1000))} s (reconnect timeout ${String(reconnectTimeoutMs / 1000)} s): ${cause instanceof Error ? cause.message : String(cause)}`,
          { details: { operation: 'following alerts', waitedMs: waited }, cause },
        );
      await delay(Math.min(pause, reconnectTimeoutMs - waited));
      pause = Math.min(pause * 2, RETRY_MAX_MS);
      try {
        await consumer.info();
        return;
      } catch (err) {
        // Still down (or restarting): asked again until the timeout.
        cause = err;
      }
    }
  };
  try {
    while (stop === undefined) {
      const wanted = Math.min(batch, max === undefined ? batch : max - summary.delivered);
      let request: number;
      try {
        if (follow) request = wanted;
        else {
          // Pending: never delivered. Ack pending: delivered, not acknowledged — nak'd ones
          // come back at once, those of a crashed run after the ack wait. One empty round
          // settles it, so a drain never waits out another client's ack wait.
          const info = await consumer.info();
          if (info.num_pending === 0 && (info.num_ack_pending === 0 || emptyRound)) break;
          request = Math.min(wanted, info.num_pending + info.num_ack_pending);
        }
        current = await consumer.fetch({
          max_messages: request,
          expires: follow ? FOLLOW_EXPIRES_MS : DRAIN_EXPIRES_MS,
        });
      } catch (err) {
        if (follow && !nc.isClosed()) {
          await rideOut(err);
          continue;
        }
        throw unavailable('reading alerts', err);
      }
      const batchOf = current;
      // stop may have been set by an abort during the awaits above.
      if ((stop as SubscribeSummary['stopped'] | undefined) !== undefined) void batchOf.close();
      let got = 0;
      try {
        for await (const m of batchOf) {
          got++;
          // Pulled but not to be handled (aborted, max reached, failed): free it at once.
          if (stop !== undefined || failure !== undefined) {
            m.nak();
            continue;
          }
          try {
            await handle(m);
          } catch (err) {
            failure = err;
            void batchOf.close();
            continue;
          }
          if (stop !== undefined) void batchOf.close();
        }
      } catch (err) {
        // The pull itself broke: a leadership change, a node shutting down, no responders
        // while a leader is elected, missed heartbeats, the connection lost. Following, the
        // hub is failing over: ride it out, unless the handler (or a refused alert) failed
        // on its own, which ends the subscription with that error.
        if (!follow || nc.isClosed()) throw unavailable('reading alerts', err);
        // eslint-disable-next-line @typescript-eslint/only-throw-error
        if (failure !== undefined && !hubFailed) throw failure;
        failure = undefined;
        hubFailed = false;
        await rideOut(err);
        continue;
      }
      // Following, an ack the restarting hub did not confirm: the alert comes back after
      // the reconnect (at least once), so wait for the hub instead of giving up.
      if (follow && hubFailed && !nc.isClosed()) {
        const cause = failure;
        failure = undefined;
        hubFailed = false;
        await rideOut(cause);
        continue;
      }
      // The handler's own error (or a MosaicError of ours), as it was thrown.
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      if (failure !== undefined) throw failure;
      downSince = undefined;
      emptyRound = got === 0;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (current !== undefined) await current.close();
  }
  summary.stopped = stop ?? 'drained';
  return summary;
}
