import { ErrorCode, MosaicError, isMosaicError } from '@mosaic/errors';
import {
  HUB_API_PREFIX,
  Streams,
  alertsSubjectFilter,
  leafAlertsConsumer,
  leafCheckConsumer,
  leafDeliverSubject,
} from '@mosaic/protocol';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
  type JsMsg,
  type StreamConfig,
} from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import type { AgencyClient, PublishReply } from './agency.ts';

/**
 * The streams of an agency's leaf node, in the leaf's own JetStream domain: `ALERTS`, the
 * agency's copy of its alerts (sourced from the hub's ALERTS through the router's
 * `leaf-<agency>` consumer), and `OUTBOX`, its submissions queued until the hub answered.
 */
export const LeafStreams = { Alerts: 'ALERTS', Outbox: 'OUTBOX' } as const;

/** Where a leaf's applications queue submissions (`queueSubmission`); local to the leaf. */
export function outboxSubject(agency: string): string {
  return `mosaic.outbox.${agency}`;
}

/** The durable consumer of OUTBOX that `forwardOutbox` works through. */
const FORWARDER = 'forwarder';

/** Header of an alert the completeness check copied in itself: its ALERTS sequence on the hub. */
export const HUB_SEQ_HEADER = 'Mosaic-Hub-Seq';

/** Header nats-server puts on a sourced message: `<source> <sequence> <filter> <transform> <subject>`. */
const STREAM_SOURCE_HEADER = 'Nats-Stream-Source';

function leafStreamConfigs(agency: string): (Partial<StreamConfig> & { name: string })[] {
  return [
    {
      name: LeafStreams.Alerts,
      // The source delivers the hub's copies; the subjects take the copies the completeness
      // check repairs (each with its hub sequence, deduplicated by it).
      subjects: [alertsSubjectFilter(agency)],
      storage: StorageType.File,
      sources: [
        {
          name: Streams.Alerts,
          external: { api: HUB_API_PREFIX, deliver: '' },
          consumer: {
            name: leafAlertsConsumer(agency),
            deliver_subject: leafDeliverSubject(agency),
          },
        },
      ],
    },
    {
      name: LeafStreams.Outbox,
      subjects: [outboxSubject(agency)],
      storage: StorageType.File,
      // A submission leaves the outbox once the hub answered it.
      retention: RetentionPolicy.Workqueue,
    },
  ];
}

/**
 * Creates the leaf node's streams when missing (run it once against a fresh leaf, or at
 * every start: existing streams are left as they are). `nc` is a connection to the leaf.
 *
 * @example
 * ```ts
 * const nc = await connect({ servers: 'nats://127.0.0.1:4222', inboxPrefix: '_INBOX_nl-police' });
 * await ensureLeafStreams(nc, 'nl-police');
 * ```
 */
export async function ensureLeafStreams(nc: NatsConnection, agency: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for (const config of leafStreamConfigs(agency)) {
    try {
      await jsm.streams.info(config.name);
      continue;
    } catch (err) {
      if (!(err instanceof JetStreamApiError) || err.code !== JetStreamApiCodes.StreamNotFound)
        throw err;
    }
    await jsm.streams.add(config);
  }
}

/**
 * Queues a signed submission on the leaf: resolves once the leaf stored it (fsync'd), link
 * to the hub up or not. `forwardOutbox` submits it when the hub can be reached. The report
 * id is the message id, so queuing the same report twice keeps one copy.
 */
export async function queueSubmission(
  nc: NatsConnection,
  agency: string,
  jws: string,
  reportId: string,
): Promise<{ seq: number; duplicate: boolean }> {
  const ack = await jetstream(nc).publish(outboxSubject(agency), jws, {
    msgID: reportId,
    expect: { streamName: LeafStreams.Outbox },
  });
  return { seq: ack.seq, duplicate: ack.duplicate };
}

/** Options of `forwardOutbox`. */
export interface ForwardOutboxOptions {
  /** Stops forwarding: no new submission is taken, those in flight finish first. */
  signal: AbortSignal;
  /**
   * Each hub answer, accepted or rejected, with the queued JWS; called as soon as the hub
   * answered, before the submission leaves the outbox. If the leaf fails between the two,
   * the submission is sent again and its answer passed again (`duplicate: true` for a
   * stored report): an answer is never lost, and may come twice.
   */
  onReply?: (reply: PublishReply, jws: string) => void;
  /** Wait before retrying a submission the hub did not answer; default 1 000 ms. */
  retryDelayMs?: number;
  /**
   * How many submissions may await the hub's answer at once; default 8. With more than one
   * the answers (and `onReply`) may come in another order than the queue's; 1 sends one
   * after the other, in queue order.
   */
  inFlight?: number;
}

/** Margin of the forwarder's ack wait over the longest request (the ack itself, a busy leaf). */
const ACK_WAIT_MARGIN_MS = 30_000;

/**
 * The forwarder's durable consumer on OUTBOX, made or brought to `max_ack_pending` and
 * `ack_wait` (a leaf made by an older version has `max_ack_pending: 1`, ack wait 60 s).
 */
async function ensureForwarder(
  nc: NatsConnection,
  config: { max_ack_pending: number; ack_wait: number },
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  let info;
  try {
    info = await jsm.consumers.info(LeafStreams.Outbox, FORWARDER);
  } catch (err) {
    if (!(err instanceof JetStreamApiError) || err.code !== JetStreamApiCodes.ConsumerNotFound)
      throw err;
    await jsm.consumers.add(LeafStreams.Outbox, {
      durable_name: FORWARDER,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ...config,
    });
    return;
  }
  if (
    info.config.max_ack_pending !== config.max_ack_pending ||
    info.config.ack_wait !== config.ack_wait
  )
    await jsm.consumers.update(LeafStreams.Outbox, FORWARDER, config);
}

/**
 * Forwards the leaf's queued submissions to the hub until `signal` aborts, up to `inFlight`
 * (default 8) awaiting the hub's answer at once. A submission leaves the outbox only when
 * the hub answered it (accepted, or rejected with its error code); while the link is down
 * the hub cannot answer and the submission stays, to be sent again after `retryDelayMs`.
 * Ingest is idempotent by report id, so a resend after a lost answer gets the same answer
 * and stores nothing twice. Any other failure (the leaf gone, an acknowledgement the leaf
 * did not confirm) ends it once the submissions in flight finished; the unanswered ones
 * stay queued. `client` is connected to the leaf; run one forwarder per leaf.
 *
 * @example
 * ```ts
 * const ac = new AbortController();
 * const done = forwardOutbox(agency, { signal: ac.signal, onReply: (r) => log(r) });
 * ```
 */
export async function forwardOutbox(
  client: AgencyClient,
  options: ForwardOutboxOptions,
): Promise<{ forwarded: number }> {
  const inFlight = options.inFlight ?? 8;
  if (!Number.isSafeInteger(inFlight) || inFlight < 1)
    throw new MosaicError(ErrorCode.Usage, 'forwardOutbox: inFlight must be a positive integer', {
      details: { inFlight },
    });
  const nc = client.connection;
  // A message not acknowledged within ack_wait is delivered again, and would be sent a
  // second time while its first request is still on the way. Each message is acknowledged
  // right after its own request ended, and one request (publishSigned: every attempt its
  // full timeout, plus the backoff between them) ends within client.longestRequestMs; the
  // margin covers the acknowledgement and a busy event loop. So the broker redelivers only
  // what a forwarder that went away left unacknowledged.
  const ackWaitMs = Math.ceil(client.longestRequestMs) + ACK_WAIT_MARGIN_MS;
  await ensureForwarder(nc, { max_ack_pending: inFlight, ack_wait: ackWaitMs * 1_000_000 });
  const consumer = await jetstream(nc).consumers.get(LeafStreams.Outbox, FORWARDER);
  const retryDelay = options.retryDelayMs ?? 1_000;
  const pending = new Set<Promise<void>>();
  let forwarded = 0;
  let failed: { err: unknown } | undefined;
  const stopped = (): boolean => options.signal.aborted || nc.isClosed() || failed !== undefined;
  const start = (msg: JsMsg): void => {
    // Never rejects: a failure is kept, and ends the loop once the others finished.
    const sending = (async () => {
      try {
        if (await forwardOne(client, msg, options)) forwarded++;
        else msg.nak(retryDelay);
      } catch (err) {
        failed ??= { err };
      }
    })();
    pending.add(sending);
    void sending.finally(() => pending.delete(sending));
  };
  try {
    while (!stopped()) {
      if (pending.size >= inFlight) {
        await Promise.race(pending);
        continue;
      }
      // At most as many as there is room for: the broker holds the rest (max_ack_pending).
      const batch = await consumer.fetch({ max_messages: inFlight - pending.size, expires: 1_000 });
      for await (const msg of batch) {
        // Taken after the stop: back to the queue at once, for the next forwarder.
        if (!stopped()) start(msg);
        else if (!nc.isClosed()) msg.nak();
      }
    }
  } finally {
    // Those in flight finish: answered ones are acknowledged, the others stay queued.
    await Promise.all(pending);
  }
  if (failed !== undefined) throw failed.err;
  return { forwarded };
}

async function forwardOne(
  client: AgencyClient,
  msg: JsMsg,
  options: ForwardOutboxOptions,
): Promise<boolean> {
  const jws = msg.string();
  let reply: PublishReply;
  try {
    reply = await client.publishSigned(jws);
  } catch (err) {
    // The hub did not answer (link down, hub unavailable): keep it queued.
    if (isMosaicError(err) && err.code === ErrorCode.Unavailable) return false;
    throw err;
  }
  // The answer first: an acknowledgement the leaf applied but could not confirm (it went
  // away) would otherwise remove the submission with its answer never passed on.
  options.onReply?.(reply, jws);
  await msg.ackAck();
  return true;
}

/** What `checkLeafAlerts` found. */
export interface LeafAlertsCheck {
  /** The agency's alerts on the hub, by ALERTS sequence. */
  hub: number;
  /** Of those, how many the leaf copy holds. */
  present: number;
  /** Hub sequences the leaf copy lacks (before repair). */
  missing: number[];
  /** How many of the missing ones were copied into the leaf (with `repair`). */
  repaired: number;
}

/** The hub sequence of an alert in the leaf copy (sourced, or copied in by a repair). */
function hubSeqOf(msg: { headers?: { get(k: string): string } | undefined }): number | undefined {
  const repaired = msg.headers?.get(HUB_SEQ_HEADER);
  if (repaired !== undefined && repaired !== '') return Number(repaired);
  const source = msg.headers?.get(STREAM_SOURCE_HEADER);
  if (source === undefined || source === '') return undefined;
  const seq = Number(source.split(' ')[1]);
  return Number.isSafeInteger(seq) && seq > 0 ? seq : undefined;
}

/** Every hub sequence the leaf's ALERTS copy holds. */
async function leafHubSeqs(nc: NatsConnection): Promise<Set<number>> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(LeafStreams.Alerts);
  const seqs = new Set<number>();
  if (info.state.messages === 0) return seqs;
  const consumer = await jetstream(nc).consumers.get(LeafStreams.Alerts, {
    deliver_policy: DeliverPolicy.All,
  });
  try {
    const total = info.state.last_seq;
    const messages = await consumer.consume({ max_messages: 512 });
    for await (const m of messages) {
      const seq = hubSeqOf(m);
      if (seq !== undefined) seqs.add(seq);
      if (m.seq >= total) break;
    }
  } finally {
    await consumer.delete();
  }
  return seqs;
}

/**
 * Checks the leaf's copy of the agency's alerts against the hub: walks the agency's alerts
 * on the hub (its `leafcheck-<agency>` consumer, reset to the start; no acks, so nothing
 * counts as consulted) and reports every ALERTS sequence the copy lacks. With `repair`,
 * copies each missing alert into the leaf's ALERTS as it is on the hub (subject, signed
 * payload, routing headers, plus `Mosaic-Hub-Seq`), deduplicated by its hub sequence.
 * Sourcing over leaf links has had defects upstream; this is the agency's own proof that its
 * copy is complete. `nc` is a connection to the leaf with the agency's inbox prefix; run
 * one check at a time per agency (the walk resets one consumer).
 *
 * @example
 * ```ts
 * const check = await checkLeafAlerts(nc, 'nl-police', { repair: true });
 * if (check.missing.length > 0) log.warn(check, 'leaf copy had gaps; repaired');
 * ```
 */
export async function checkLeafAlerts(
  nc: NatsConnection,
  agency: string,
  options: { repair?: boolean; timeoutMs?: number } = {},
): Promise<LeafAlertsCheck> {
  const have = await leafHubSeqs(nc);
  const hubJsm = await jetstreamManager(nc, { apiPrefix: HUB_API_PREFIX, checkAPI: false });
  const name = leafCheckConsumer(agency);
  let reset: Awaited<ReturnType<typeof hubJsm.consumers.reset>>;
  try {
    reset = await hubJsm.consumers.reset(Streams.Alerts, name, 1);
  } catch (err) {
    throw new MosaicError(
      ErrorCode.Unavailable,
      `cannot reach the hub's ${name} consumer to check the leaf copy: ${err instanceof Error ? err.message : String(err)}`,
      { details: { consumer: name }, cause: err },
    );
  }
  const result: LeafAlertsCheck = { hub: 0, present: 0, missing: [], repaired: 0 };
  let pending = reset.num_pending;
  const consumer = await jetstream(nc, { apiPrefix: HUB_API_PREFIX }).consumers.get(
    Streams.Alerts,
    name,
  );
  const local = jetstream(nc);
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let failure: unknown;
  while (pending > 0) {
    if (Date.now() > deadline)
      throw new MosaicError(
        ErrorCode.Unavailable,
        `the check of the leaf copy timed out${failure instanceof Error ? ` (last: ${failure.message})` : ''}`,
        { details: { consumer: name, pending }, cause: failure },
      );
    try {
      await walk(Math.min(pending, 256));
    } catch (err) {
      if (isMosaicError(err)) throw err;
      // The pull through the leaf link broke (missed heartbeats on a slow or loaded link, a
      // leadership change on the hub): what was walked is counted, the consumer goes on from
      // there, so ask again until the deadline.
      failure = err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  return result;

  async function walk(max: number): Promise<void> {
    // A long expiry (heartbeats every 5 s): the fetch ends as soon as `max` arrived.
    const batch = await consumer.fetch({ max_messages: max, expires: 10_000 });
    for await (const m of batch) {
      result.hub++;
      pending = m.info.pending;
      if (have.has(m.seq)) {
        result.present++;
        continue;
      }
      result.missing.push(m.seq);
      if (options.repair !== true) continue;
      const h = headers();
      // The hub's JetStream headers (message id, expectations) are not the copy's own.
      for (const [k, v] of m.headers ?? [])
        if (!k.startsWith('Nats-')) for (const value of v) h.append(k, value);
      h.set(HUB_SEQ_HEADER, String(m.seq));
      await local.publish(m.subject, m.data, {
        headers: h,
        msgID: `hub-${String(m.seq)}`,
        expect: { streamName: LeafStreams.Alerts },
      });
      result.repaired++;
    }
  }
}
