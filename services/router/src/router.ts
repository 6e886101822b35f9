import { createHash } from 'node:crypto';
import type { AuditClient } from '@mosaic/protocol';
import type { Report } from '@mosaic/contract';
import { ErrorCode, isMosaicError, isRetryable, unavailable } from '@mosaic/errors';
import { AlertKind, ROUTER_CONSUMER, Streams, parseReportSubject } from '@mosaic/protocol';
import type { Federation, RegistryView } from '@mosaic/federation';
import type { Logger } from '@mosaic/log';
import { limit, serviceHandle, serviceLogger, type Limit, type Service } from '@mosaic/service';
import {
  Clause,
  buildPolicyIndex,
  lineageReferences,
  route,
  type PolicyIndex,
  type RouteResult,
} from '@mosaic/policy';
import { AckPolicy, DeliverPolicy, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { AlertStore } from './alerts.ts';
import { reportOfStoredJws } from './payload.ts';

/** Default number of reports one router instance routes at a time. */
export const DEFAULT_ROUTER_CONCURRENCY = 64;
/** Default `ack_wait` of the `router` durable when the router creates it: 30 s. */
export const DEFAULT_ROUTER_ACK_WAIT_MS = 30_000;
/** Default `max_ack_pending` of the `router` durable when the router creates it. */
export const DEFAULT_ROUTER_MAX_ACK_PENDING = 1024;

/** How long a report waits before it is offered again after a JetStream failure. */
const RETRY_DELAY_MS = 1_000;
/** How long a follow-up waits for the report it refers to be routed first. */
const FOLLOW_UP_DELAY_MS = 250;
/** Longest single wait of a report whose `validFrom` lies ahead (P3); it is offered again. */
const MAX_NOT_YET_VALID_DELAY_MS = 3_600_000;
/** Finished sequences kept before the router asks for the ack floor to forget older ones. */
const PRUNE_ABOVE = 10_000;

/** What a process exporting metrics learns of each routed report. */
export interface RouterObserver {
  /**
   * One report was routed: from its delivery to the router until its alerts were stored, its
   * disclosure audited and the report acked, `seconds`. A report routed to nobody counts too
   * (no alerts to write); one deferred or offered again does not until it is finished.
   */
  routed(seconds: number): void;
}

export interface RouterOptions {
  /** Told of every report routed (metrics); must not throw. */
  observe?: RouterObserver;
  /** A connection as the router identity (its context's inbox prefix). */
  nc: NatsConnection;
  /**
   * The federation as the hub currently knows it. The policy index is rebuilt when
   * `registry.federation()` returns another object, so a rule change applies to the
   * reports routed after it, never to those routed before.
   */
  registry: RegistryView;
  /**
   * Parent logger. Records carry `service: 'router'`, or `component: 'router'` when the
   * parent already names another service. Default: a new logger.
   */
  log?: Logger;
  /** The routing instant (expiry, P2/P3); default `() => new Date()`. */
  now?: () => Date;
  /** Reports routed at a time by this instance; default 64. */
  concurrency?: number;
  /** `ack_wait` of the `router` durable, used only when the router creates it; default 30 s. */
  ackWaitMs?: number;
  /** `max_ack_pending` of the `router` durable, used only when the router creates it; default 1024. */
  maxAckPending?: number;
  /** How long a JetStream operation (lookup, PubAck) may take; default 5 000 ms. */
  timeoutMs?: number;
  /** How often the router looks for agencies without an alerts consumer; default 1 000 ms. */
  registryPollMs?: number;
  /**
   * Where disclosure entries go (the hub passes `auditClient(nc, 'router')`): one
   * `alert.disclosed` (or `report.retracted`) entry per routed report listing every
   * recipient with its reason, written before the report is acked — a failure leaves the
   * report to be routed again.
   */
  audit?: AuditClient;
}

/**
 * A running router instance. `stop()` stops taking reports, finishes (publishes and acks)
 * those in hand, then resolves.
 */
export type RouterService = Service;

type Outcome = 'routed' | 'blocked' | 'deferred' | 'terminated' | 'retry';

/** What an alert for this report announces. */
function alertKind(report: Report): AlertKind {
  if (report.lineage?.retracts !== undefined) return AlertKind.Retraction;
  if ((report.lineage?.supersedes?.length ?? 0) > 0) return AlertKind.Supersede;
  return AlertKind.Report;
}

class Router {
  readonly #store: AlertStore;
  readonly #registry: RegistryView;
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #audit: AuditClient | undefined;
  readonly #observe: RouterObserver | undefined;
  /** Reports being routed by this instance, by REPORTS sequence. */
  readonly inFlight: Limit<number>;
  /**
   * REPORTS sequences this instance has finished (alerts stored) and not yet seen below the
   * consumer's ack floor; pruned as the floor passes them.
   */
  readonly #settled = new Set<number>();
  #indexed: { federation: Federation; index: PolicyIndex } | undefined;

  constructor(
    store: AlertStore,
    registry: RegistryView,
    log: Logger,
    now: () => Date,
    concurrency: number,
    audit?: AuditClient,
    observe?: RouterObserver,
  ) {
    this.#observe = observe;
    this.inFlight = limit(concurrency, {
      onError: (err) => {
        log.error({ err, code: ErrorCode.Internal }, 'report handler failed');
      },
    });
    this.#audit = audit;
    this.#store = store;
    this.#registry = registry;
    this.#log = log;
    this.#now = now;
  }

  /** The policy index of the federation in force now. */
  #policy(): PolicyIndex {
    const federation = this.#registry.federation();
    if (this.#indexed?.federation !== federation)
      this.#indexed = { federation, index: buildPolicyIndex(federation) };
    return this.#indexed.index;
  }

  /** The REPORTS ack floor of the `router` durable; prunes what it passed. */
  async ackFloor(): Promise<number> {
    let floor: number;
    try {
      floor = (await this.#store.manager.consumers.info(Streams.Reports, ROUTER_CONSUMER)).ack_floor
        .stream_seq;
    } catch (err) {
      throw unavailable('router consumer info', err);
    }
    for (const seq of this.#settled) if (seq <= floor) this.#settled.delete(seq);
    return floor;
  }

  /** Keeps the record of finished reports small on a router that sees no follow-ups. */
  async prune(): Promise<void> {
    if (this.#settled.size > PRUNE_ABOVE) await this.ackFloor();
  }

  /**
   * True once the report `reportId` of `issuer` has been routed (its alerts stored), so its
   * recipients can be read from ALERTS. A report this instance routes concurrently is
   * awaited; one another instance (or a killed one) holds is waited for by redelivery.
   */
  async #routedAlready(issuer: string, reportId: string, ownSeq: number): Promise<boolean> {
    const seq = await this.#store.reportSeq(issuer, reportId);
    // Ingest stored the referenced report before this one; absent only if it was never stored.
    if (seq === undefined || seq >= ownSeq) return true;
    const running = this.inFlight.running(seq);
    if (running !== undefined) await running;
    if (this.#settled.has(seq)) return true;
    return seq <= (await this.ackFloor());
  }

  /** Who holds an alert for the report; an ALERTS message the router did not write is logged. */
  async #recipientsOf(issuer: string, reportId: string, log: Logger): Promise<Map<string, string>> {
    const { recipients, ignored } = await this.#store.recipientsOf(issuer, reportId);
    for (const alert of ignored)
      log.warn(
        { alertSeq: alert.seq, subject: alert.subject, reason: alert.reason, refers: reportId },
        'ALERTS message not written by the router ignored: it makes nobody a recipient',
      );
    return recipients;
  }

  /**
   * One stored report: parse → resolve recipients → write alerts → audit disclosure → ack.
   * Each step that ends the report here (term, nak, an ack to nobody) says how.
   */
  async handle(msg: JsMsg): Promise<Outcome> {
    const parsed = this.#parse(msg);
    if (typeof parsed === 'string') return parsed;
    const { report, log } = parsed;
    const refs = lineageReferences(report);
    const resolved = await this.#resolveRecipients(msg, report, refs, log);
    if (typeof resolved === 'string') return resolved;
    const written = await this.#writeAlerts(msg, report, resolved, refs, log);
    await this.#auditDisclosure(msg, report, resolved, refs, written);
    this.#settle(msg.seq);
    msg.ack();
    log.info(
      {
        kind: written.kind,
        recipients: resolved.recipients.map((r) => r.agency),
        alreadyStored: resolved.recipients.length - written.pending,
        excluded: resolved.excluded.length,
        unconsidered: resolved.unconsidered,
        redelivered: msg.info.redelivered,
      },
      'report routed',
    );
    return 'routed';
  }

  /** The stored report, which must match its REPORTS subject; terminated otherwise. */
  #parse(msg: JsMsg): { report: Report; log: Logger } | Outcome {
    const seq = msg.seq;
    const tokens = parseReportSubject(msg.subject);
    const log = this.#log.child({ seq, issuer: tokens?.issuer, reportId: tokens?.reportId });
    let report: Report;
    try {
      report = reportOfStoredJws(msg.data);
    } catch (err) {
      log.error(
        { err, code: isMosaicError(err) ? err.code : ErrorCode.Internal, subject: msg.subject },
        'stored report cannot be parsed; not routed (terminated)',
      );
      msg.term('unparseable report');
      return 'terminated';
    }
    if (tokens?.issuer !== report.issuer || tokens.reportId !== report.reportId) {
      log.error(
        { subject: msg.subject, issuer: report.issuer, reportId: report.reportId },
        'report does not match its REPORTS subject; not routed (terminated)',
      );
      msg.term('subject mismatch');
      return 'terminated';
    }
    return {
      report,
      log: this.#log.child({ seq, issuer: report.issuer, reportId: report.reportId }),
    };
  }

  /**
   * Who receives the report under the policy in force, given who received the reports it
   * refers to. A follow-up waits for those to be routed first, a report not valid yet waits
   * for its `validFrom` (both nak'd), and one routed to nobody is acked here.
   */
  async #resolveRecipients(
    msg: JsMsg,
    report: Report,
    refs: string[],
    log: Logger,
  ): Promise<RouteResult | Outcome> {
    const seq = msg.seq;
    const prior = new Set<string>();
    for (const ref of refs) {
      if (!(await this.#routedAlready(report.issuer, ref, seq))) {
        log.debug({ refers: ref }, 'follow-up waits for the report it refers to');
        msg.nak(FOLLOW_UP_DELAY_MS);
        return 'deferred';
      }
      for (const recipient of (await this.#recipientsOf(report.issuer, ref, log)).keys())
        prior.add(recipient);
    }

    const now = this.#now();
    let result: RouteResult;
    try {
      result = route(report, this.#policy(), now, { priorRecipients: prior });
    } catch (err) {
      // Not loaded yet, say: redelivered later by `run`, not terminated here.
      if (isMosaicError(err) && isRetryable(err.code)) throw err;
      log.error({ err, code: ErrorCode.Internal }, 'report cannot be routed; terminated');
      msg.term('routing failed');
      return 'terminated';
    }
    if (result.blocked !== undefined) {
      if (result.blocked.clause === Clause.AlreadyValid) {
        const from = Date.parse(report.handling.validFrom ?? '');
        const delay = Math.min(Math.max(from - now.getTime(), 1_000), MAX_NOT_YET_VALID_DELAY_MS);
        log.info({ clause: result.blocked.clause, delayMs: delay }, 'report not valid yet');
        msg.nak(delay);
        return 'deferred';
      }
      log.info(
        { clause: result.blocked.clause, detail: result.blocked.detail },
        'report routed to nobody',
      );
      this.#settle(seq);
      msg.ack();
      return 'blocked';
    }
    return result;
  }

  /**
   * One alert per recipient that does not hold one yet; throws (the report is offered again)
   * unless every one is stored.
   */
  async #writeAlerts(
    msg: JsMsg,
    report: Report,
    result: RouteResult,
    refs: string[],
    log: Logger,
  ): Promise<{ kind: AlertKind; pending: number; alertSeqs: number[] }> {
    // Beyond JetStream's dedupe window only the stream itself knows what was stored.
    const stored = msg.info.redelivered
      ? await this.#recipientsOf(report.issuer, report.reportId, log)
      : new Map<string, string>();
    const kind = alertKind(report);
    const pending = result.recipients.filter((r) => !stored.has(r.agency));
    const outcomes = await Promise.allSettled(
      pending.map((r) =>
        this.#store.append({
          recipient: r.agency,
          kind,
          issuer: report.issuer,
          reportId: report.reportId,
          reportSeq: msg.seq,
          reason: r.reason,
          refers: refs,
          jws: msg.data,
        }),
      ),
    );
    const failed = outcomes.find((o) => o.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return {
      kind,
      pending: pending.length,
      alertSeqs: outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.seq] : [])),
    };
  }

  /** One disclosure entry listing every recipient with its reason, before the ack. */
  async #auditDisclosure(
    msg: JsMsg,
    report: Report,
    result: RouteResult,
    refs: string[],
    written: { kind: AlertKind; alertSeqs: number[] },
  ): Promise<void> {
    if (result.recipients.length === 0) return;
    await this.#audit?.record({
      actor: { kind: 'service', id: 'router' },
      action: written.kind === AlertKind.Retraction ? 'report.retracted' : 'alert.disclosed',
      subject: {
        reportId: report.reportId,
        issuer: report.issuer,
        contentHash: createHash('sha256').update(msg.data).digest('hex'),
      },
      recipients: result.recipients.map((r) => ({ agency: r.agency, reason: r.reason })),
      refs: [
        { stream: Streams.Reports, seq: msg.seq },
        ...written.alertSeqs.map((seq) => ({ stream: Streams.Alerts, seq })),
      ],
      ...(refs.length > 0 ? { details: { refers: refs } } : {}),
    });
  }

  #settle(seq: number): void {
    this.#settled.add(seq);
  }

  /**
   * Runs `handle`; a retryable failure (JetStream unavailable, the registry not loaded) leaves
   * the report for later, any other terminates it.
   */
  async run(msg: JsMsg): Promise<void> {
    const started = performance.now();
    try {
      const outcome = await this.handle(msg);
      if (outcome === 'routed' || outcome === 'blocked')
        this.#observe?.routed((performance.now() - started) / 1000);
    } catch (err) {
      if (isMosaicError(err) && isRetryable(err.code)) {
        this.#log.warn(
          { err, code: err.code, seq: msg.seq, subject: msg.subject },
          'report not routed now; it will be offered again',
        );
        msg.nak(RETRY_DELAY_MS);
        return;
      }
      this.#log.error(
        { err, code: ErrorCode.Internal, seq: msg.seq, subject: msg.subject },
        'report cannot be routed; terminated',
      );
      msg.term('router failure');
    }
  }
}

/**
 * Creates the `alerts-<agency>` consumer, and the leaf consumers, of each agency that lacks them. An agency the
 * broker does not authorise yet (the hub reloads its configuration right after a registry
 * change) is left for the next round.
 */
async function ensureAlertsConsumers(
  store: AlertStore,
  agencies: readonly string[],
  done: Set<string>,
  log: Logger,
): Promise<void> {
  for (const agency of agencies) {
    if (done.has(agency)) continue;
    try {
      if (await store.ensureAlertsConsumer(agency)) log.info({ agency }, 'alerts consumer created');
      if (await store.ensureLeafConsumers(agency)) log.info({ agency }, 'leaf consumers created');
      done.add(agency);
    } catch (err) {
      log.warn({ err, agency }, 'alerts consumer not ensured yet; retrying');
    }
  }
}

/**
 * Starts a router instance: reads REPORTS through the durable pull consumer `router`, routes
 * each report with `@mosaic/policy` against the registry in force, appends one alert per
 * recipient to ALERTS (`mosaic.alerts.<recipient>.<kind>.<issuer>.<reportId>`, the verbatim
 * JWS, msg id per report and recipient) and acks the report only after every PubAck. Also
 * creates each agency's `alerts-<agency>` consumer. See services/router/README.md.
 *
 * @example
 * ```ts
 * const nc = await connect(contextConnectOptions(await readContextFile('contexts/router.json')));
 * await using router = await startRouter({ nc, registry: liveRegistryView });
 * ```
 */
export async function startRouter(options: RouterOptions): Promise<RouterService> {
  const { nc, registry } = options;
  const log = serviceLogger('router', options.log);
  const store = await AlertStore.open(nc, options.timeoutMs ?? 5_000);
  const maxAckPending = options.maxAckPending ?? DEFAULT_ROUTER_MAX_ACK_PENDING;

  if (!(await store.consumerExists(Streams.Reports, ROUTER_CONSUMER))) {
    await store.manager.consumers.add(Streams.Reports, {
      durable_name: ROUTER_CONSUMER,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(options.ackWaitMs ?? DEFAULT_ROUTER_ACK_WAIT_MS),
      max_ack_pending: maxAckPending,
      max_deliver: -1,
    });
    log.info({ consumer: ROUTER_CONSUMER }, 'router consumer created');
  }

  const router = new Router(
    store,
    registry,
    log,
    options.now ?? (() => new Date()),
    options.concurrency ?? DEFAULT_ROUTER_CONCURRENCY,
    options.audit,
    options.observe,
  );
  const concurrency = router.inFlight.max;
  const ensured = new Set<string>();
  let seen: Federation | undefined;
  let polling: Promise<void> | undefined;
  const poll = (): Promise<void> =>
    (polling ??= (async () => {
      await router.prune();
      const federation = registry.federation();
      const agencies = federation.agencies.map((a) => a.id);
      if (federation !== seen || agencies.some((a) => !ensured.has(a))) {
        seen = federation;
        await ensureAlertsConsumers(store, agencies, ensured, log);
      }
    })().finally(() => {
      polling = undefined;
    }));
  await poll();
  const timer = setInterval(() => {
    poll().catch((err: unknown) => {
      log.warn({ err }, 'registry poll failed');
    });
  }, options.registryPollMs ?? 1_000);
  timer.unref();

  let messages: ConsumerMessages;
  try {
    const consumer = await store.jetstream.consumers.get(Streams.Reports, ROUTER_CONSUMER);
    messages = await consumer.consume({ max_messages: Math.min(maxAckPending, concurrency * 2) });
  } catch (err) {
    clearInterval(timer);
    throw unavailable('router consumer', err);
  }

  const loop = (async () => {
    for await (const msg of messages) {
      await router.inFlight.free();
      void router.inFlight.run(msg.seq, () => router.run(msg));
    }
    await router.inFlight.idle();
  })();
  log.info({ consumer: ROUTER_CONSUMER, concurrency, agencies: ensured.size }, 'router ready');

  return serviceHandle(async () => {
    clearInterval(timer);
    await messages.close();
    await loop;
    await polling;
    log.info('router stopped');
  });
}
