import { createHash } from 'node:crypto';
import type { AuditClient } from '@mosaic/protocol';
import type { Report } from '@mosaic/contract';
import { ErrorCode, isMosaicError, isRetryable, unavailable } from '@mosaic/errors';
import {
  AlertKind,
  ROUTER_CONSUMER,
  Streams,
  parseReportSubject,
  readIndexEntries,
} from '@mosaic/protocol';
import type { Federation, RegistryView } from '@mosaic/federation';
import type { Logger } from '@mosaic/log';
import {
  limit,
  serviceHandle,
  serviceLogger,
  type HealthReportingService,
  type Limit,
} from '@mosaic/service';
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
import { relatedFor, type RelatedCandidate } from './related.ts';
import { ReportIndexer, type ReportTokens } from './selector-index.ts';

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
/** Earlier reports looked at for `related`, per routed report: the most recent ones. */
const MAX_RELATED_CANDIDATES = 128;
/** Routed reports whose recipients this instance remembers for `related`. */
const ROUTED_CACHE_SIZE = 50_000;
/**
 * Deliveries of a report after which `related` stops waiting for earlier reports another
 * instance holds and counts the alerts stored so far (~5 s at `FOLLOW_UP_DELAY_MS`).
 */
const MAX_RELATED_WAITS = 20;

/** What a process exporting metrics learns of each routed report. */
export interface RouterObserver {
  /**
   * One report was routed: from its delivery to the router until its alerts were stored, its
   * disclosure audited and the report acked, `seconds`. A report routed to nobody counts too
   * (no alerts to write); one deferred or offered again does not until it is finished.
   */
  routed(seconds: number): void;
  /**
   * The distinct selectors of one index batch: `kept`, whose tokens the router made lately
   * for the same issuer; `made`, asked of the key service. A batch that fails tells nothing.
   */
  tokens?(kept: number, made: number): void;
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
  /**
   * Index the selectors of the reports it routes and give each alert its `related` reports:
   * the tokens come from the selector key service on `mosaic.hub.selectors.evaluate` (one
   * blinded request per kind for each pulled batch), the entries go to SELECTOR_INDEX before
   * any alert of the batch. The hub sets it when it runs the key service. Default: off.
   */
  indexSelectors?: boolean;
}

/**
 * A router that cannot route: the selector index stage has failed for the reports it pulled
 * (the key service or SELECTOR_INDEX unreachable), so they wait, offered again, unrouted.
 */
export type RouterHealth =
  | { ok: true }
  | {
      ok: false;
      problem: 'selector-index-unavailable';
      reason: string;
      /** When the index stage started failing (it has not succeeded since). */
      since: string;
      /** Reports handed back to wait since then. */
      waiting: number;
    };

/**
 * A running router instance. `stop()` stops taking reports, finishes (publishes and acks)
 * those in hand, then resolves. `health()` says when it holds reports it cannot route.
 */
export type RouterService = HealthReportingService<RouterHealth>;

type Outcome = 'routed' | 'blocked' | 'deferred' | 'terminated' | 'retry';

/** A pulled report, parsed and (with an index) indexed, ready to be routed. */
interface Prepared {
  msg: JsMsg;
  report: Report;
  log: Logger;
  /** Its selectors' tokens, its index entries stored; empty without an index. */
  tokens: ReportTokens;
}

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
  readonly #indexer: ReportIndexer | undefined;
  /** The last ack floor read: every report at or below it is routed (or ended). */
  #floor = 0;
  /**
   * Every REPORTS sequence up to this one is in the selector index (or below the ack floor,
   * or has nothing to index); `#indexedAbove` holds the ones indexed past it.
   */
  #indexedUpTo = 0;
  readonly #indexedAbove = new Set<number>();
  /**
   * The agencies holding an alert of each report this instance routed, by REPORTS sequence,
   * as stored when it acked it (alerts are never rewritten, so this cannot go stale). Saves
   * the ALERTS lookups of `related`; insertion order makes the oldest go first.
   */
  readonly #routed = new Map<number, ReadonlySet<string>>();
  /** Reports this instance offered again at their `validFrom`: nobody holds them yet. */
  readonly #notYetValid = new Set<number>();
  /**
   * Reports being routed here, by REPORTS sequence: resolved once their alerts are stored
   * (or the attempt ended), so a later report sharing a selector waits for those alerts,
   * not for the audit entry and ack behind them.
   */
  readonly #alerting = new Map<number, { alerted: Promise<void>; resolve: () => void }>();
  /** Set while the index stage fails; cleared by the next batch it indexes. */
  #unhealthy: Extract<RouterHealth, { ok: false }> | undefined;

  constructor(
    store: AlertStore,
    registry: RegistryView,
    log: Logger,
    now: () => Date,
    concurrency: number,
    audit: AuditClient | undefined,
    indexer: ReportIndexer | undefined,
    observe?: RouterObserver,
  ) {
    this.#indexer = indexer;
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
    this.#floor = Math.max(this.#floor, floor);
    this.#markIndexed(floor);
    return floor;
  }

  /** Records that `seq` (or, for the ack floor, everything up to it) is in the index. */
  #markIndexed(seq: number): void {
    if (seq <= this.#indexedUpTo) return;
    if (seq === this.#indexedUpTo + 1 || seq <= this.#floor) this.#indexedUpTo = seq;
    else this.#indexedAbove.add(seq);
    for (const s of this.#indexedAbove) if (s <= this.#indexedUpTo) this.#indexedAbove.delete(s);
    while (this.#indexedAbove.delete(this.#indexedUpTo + 1)) this.#indexedUpTo++;
  }

  /** True when every report before `seq` is in the index. */
  async #indexedBefore(seq: number): Promise<boolean> {
    if (this.#indexedUpTo >= seq - 1) return true;
    await this.ackFloor();
    return this.#indexedUpTo >= seq - 1;
  }

  /**
   * The index stage of a pulled batch, in delivery order: each report parsed (terminated if
   * it cannot be), then the selectors of all of them tokenised in one blinded request per
   * kind and their index entries stored — before any of them is routed, so a report's own
   * tokens are known before its alerts are written and every earlier report is indexed
   * before a later one looks. A failure naks the batch: it is indexed and routed later.
   */
  async prepare(msgs: readonly JsMsg[]): Promise<Prepared[]> {
    const parsed: Prepared[] = [];
    for (const msg of msgs) {
      const p = this.#parse(msg);
      if (typeof p === 'string') this.#markIndexed(msg.seq);
      else parsed.push({ msg, ...p, tokens: [] });
    }
    if (this.#indexer === undefined || parsed.length === 0) return parsed;
    let tokens: ReportTokens[];
    try {
      tokens = await this.#indexer.index(
        parsed.map((p) => ({
          report: p.report,
          seq: p.msg.seq,
          storedAt: new Date(Math.floor(p.msg.info.timestampNanos / 1e6)),
        })),
      );
    } catch (err) {
      this.#log.warn(
        { err, code: isMosaicError(err) ? err.code : ErrorCode.Internal, reports: parsed.length },
        'reports not indexed now; they will be offered again',
      );
      for (const p of parsed) p.msg.nak(RETRY_DELAY_MS);
      this.#unhealthy = {
        ok: false,
        problem: 'selector-index-unavailable',
        reason: err instanceof Error ? err.message : String(err),
        since: this.#unhealthy?.since ?? this.#now().toISOString(),
        waiting: (this.#unhealthy?.waiting ?? 0) + parsed.length,
      };
      return [];
    }
    this.#unhealthy = undefined;
    for (const p of parsed) this.#markIndexed(p.msg.seq);
    return parsed.map((p, i) => ({ ...p, tokens: tokens[i] ?? [] }));
  }

  /** Whether it routes what it pulls; when not, why and since when. */
  health(): RouterHealth {
    return this.#unhealthy ?? { ok: true };
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
  async handle({ msg, report, log, tokens }: Prepared): Promise<Outcome> {
    const refs = lineageReferences(report);
    const resolved = await this.#resolveRecipients(msg, report, refs, log);
    if (typeof resolved === 'string') return resolved;
    const candidates = await this.#relatedCandidates(msg, tokens, log);
    if (typeof candidates === 'string') return candidates;
    const written = await this.#writeAlerts(msg, report, resolved, refs, candidates, log);
    // Stored alerts are held by their recipients whether or not the audit entry follows.
    this.#remember(msg.seq, written.recipients);
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
        this.#notYetValid.add(seq);
        msg.nak(delay);
        return 'deferred';
      }
      log.info(
        { clause: result.blocked.clause, detail: result.blocked.detail },
        'report routed to nobody',
      );
      // A redelivered report may hold alerts from an earlier routing: ALERTS knows them.
      if (!msg.info.redelivered) this.#remember(seq, new Set());
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
    candidates: readonly RelatedCandidate[],
    log: Logger,
  ): Promise<{
    kind: AlertKind;
    pending: number;
    alertSeqs: number[];
    recipients: ReadonlySet<string>;
  }> {
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
          related: relatedFor(r.agency, candidates),
        }),
      ),
    );
    const failed = outcomes.find((o) => o.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return {
      kind,
      pending: pending.length,
      alertSeqs: outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.seq] : [])),
      recipients: new Set([...stored.keys(), ...result.recipients.map((r) => r.agency)]),
    };
  }

  /**
   * The earlier reports (lower REPORTS sequence, the most recent 128) sharing a selector
   * token with this one, each with the agencies that hold an alert of it — once its routing
   * is over, so `related` is exact: a report this instance is routing is awaited, one
   * another instance holds is waited for by redelivery (at most `MAX_RELATED_WAITS`
   * deliveries, then the alerts stored so far count), one waiting for its `validFrom` here
   * is held by nobody yet.
   */
  async #relatedCandidates(
    msg: JsMsg,
    tokens: ReportTokens,
    log: Logger,
  ): Promise<RelatedCandidate[] | Outcome> {
    if (tokens.length === 0) return [];
    const patient = msg.info.deliveryCount <= MAX_RELATED_WAITS;
    const wait = (why: string): Outcome => {
      log.debug({ why }, 'related reports wait for earlier reports');
      msg.nak(FOLLOW_UP_DELAY_MS);
      return 'deferred';
    };
    if (!(await this.#indexedBefore(msg.seq)) && patient) return wait('index');
    const found = new Map<number, { issuer: string; reportId: string; kinds: Set<string> }>();
    let lists;
    try {
      lists = await Promise.all(
        [...new Set(tokens.map((t) => t.token))].map((t) =>
          readIndexEntries(this.#store.manager, t),
        ),
      );
    } catch (err) {
      throw unavailable('SELECTOR_INDEX read', err);
    }
    for (const e of lists.flat()) {
      // Itself (indexed again on a redelivery), or a later report.
      if (e.seq >= msg.seq) continue;
      const seen = found.get(e.seq) ?? { issuer: e.issuer, reportId: e.reportId, kinds: new Set() };
      seen.kinds.add(e.kind);
      found.set(e.seq, seen);
    }
    const recent = [...found].sort((a, b) => b[0] - a[0]).slice(0, MAX_RELATED_CANDIDATES);
    const candidates: RelatedCandidate[] = [];
    for (const [seq, c] of recent) {
      let recipients = await this.#recipientsOfEarlier(seq, c.issuer, c.reportId, log);
      if (recipients === undefined) {
        if (patient) return wait('earlier report');
        log.warn(
          { related: seq },
          'related: an earlier report is not routed yet; its stored alerts count',
        );
        recipients = new Set((await this.#recipientsOf(c.issuer, c.reportId, log)).keys());
      }
      candidates.push({ ...c, seq, recipients });
    }
    return candidates;
  }

  /** Who holds an alert of the earlier report `seq`, or undefined while it is being routed elsewhere. */
  async #recipientsOfEarlier(
    seq: number,
    issuer: string,
    reportId: string,
    log: Logger,
  ): Promise<ReadonlySet<string> | undefined> {
    const alerting = this.#alerting.get(seq);
    if (alerting !== undefined) await alerting.alerted;
    const known = this.#routed.get(seq);
    if (known !== undefined) return known;
    if (this.#notYetValid.has(seq)) return new Set();
    if (!this.#settled.has(seq) && seq > this.#floor && seq > (await this.ackFloor()))
      return undefined;
    return new Set((await this.#recipientsOf(issuer, reportId, log)).keys());
  }

  #remember(seq: number, recipients: ReadonlySet<string>): void {
    this.#routed.set(seq, recipients);
    this.#notYetValid.delete(seq);
    this.#alerting.get(seq)?.resolve();
    if (this.#routed.size > ROUTED_CACHE_SIZE) {
      const oldest = this.#routed.keys().next();
      if (oldest.done !== true) this.#routed.delete(oldest.value);
    }
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
  async run(prepared: Prepared): Promise<void> {
    const { msg } = prepared;
    const started = performance.now();
    // A redelivery can overlap a slow earlier attempt of the same report: each attempt
    // resolves its own entry when it ends, so nobody waits on a replaced one forever.
    let resolve = (): void => {};
    const alerted = new Promise<void>((r) => {
      resolve = r;
    });
    const entry = { alerted, resolve };
    this.#alerting.set(msg.seq, entry);
    try {
      const outcome = await this.handle(prepared);
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
    } finally {
      entry.resolve();
      if (this.#alerting.get(msg.seq) === entry) this.#alerting.delete(msg.seq);
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
    options.indexSelectors === true
      ? new ReportIndexer(nc, store.jetstream, options.timeoutMs ?? 5_000, {
          observe: (kept, made) => options.observe?.tokens?.(kept, made),
        })
      : undefined,
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

  // Two stages: the reports pulled while the previous batch was indexed form the next
  // batch, indexed as one; then each is routed under the concurrency limit, in order.
  let queue: JsMsg[] = [];
  let indexing: Promise<void> | undefined;
  const drain = async (): Promise<void> => {
    try {
      while (queue.length > 0) {
        const batch = queue;
        queue = [];
        for (const prepared of await router.prepare(batch)) {
          await router.inFlight.free();
          void router.inFlight.run(prepared.msg.seq, () => router.run(prepared));
        }
      }
    } finally {
      indexing = undefined;
    }
  };
  const loop = (async () => {
    for await (const msg of messages) {
      queue.push(msg);
      indexing ??= drain();
      if (queue.length >= concurrency) await indexing;
    }
    await indexing;
    await router.inFlight.idle();
  })();
  log.info({ consumer: ROUTER_CONSUMER, concurrency, agencies: ensured.size }, 'router ready');

  return serviceHandle(
    async () => {
      clearInterval(timer);
      await messages.close();
      await loop;
      await polling;
      log.info('router stopped');
    },
    { health: () => router.health() },
  );
}
