import { unavailable } from '@mosaic/errors';
import { ReportHeaders, Streams, rejectionSubject, reportLookupSubject } from '@mosaic/protocol';
import { retryLeaderless, serviceJetStream } from '@mosaic/service';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';

/** A report as REPORTS holds it. */
export interface StoredReport {
  seq: number;
  /** The verbatim compact JWS. */
  data: Uint8Array;
}

/** The JetStream operations of ingest, over the ingest identity's permissions. */
export class IngestStore {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #retry: { attemptMs: number; timeoutMs: number };

  private constructor(
    js: JetStreamClient,
    jsm: JetStreamManager,
    retry: { attemptMs: number; timeoutMs: number },
  ) {
    this.#js = js;
    this.#jsm = jsm;
    this.#retry = retry;
  }

  /**
   * `timeoutMs`: how long an operation may take in all; `attemptMs`: how long one request
   * of it waits for its answer before it is sent again (lookups and report appends only:
   * both may be repeated). A request sent to a stream whose leader just died is answered
   * by nobody until a follower's election timeout runs out; asked again every `attemptMs`,
   * it is answered that long at most after the new leader is elected.
   */
  static async open(
    nc: NatsConnection,
    options: { timeoutMs: number; attemptMs: number },
  ): Promise<IngestStore> {
    const attemptMs = Math.min(options.attemptMs, options.timeoutMs);
    const { js, jsm } = await serviceJetStream(nc, attemptMs);
    return new IngestStore(js, jsm, { attemptMs, timeoutMs: options.timeoutMs });
  }

  /**
   * The stored report of (issuer, reportId), whatever its origin and category. A message
   * get (answered by the stream leader) rather than a direct get (answered by any replica,
   * possibly lagging): dedupe and lineage must see every acknowledged write.
   */
  async find(issuer: string, reportId: string): Promise<StoredReport | undefined> {
    try {
      const m = await retryLeaderless(
        () =>
          this.#jsm.streams.getMessage(Streams.Reports, {
            last_by_subj: reportLookupSubject(issuer, reportId),
          }),
        this.#retry,
      );
      return m === null ? undefined : { seq: m.seq, data: m.data };
    } catch (err) {
      throw unavailable('REPORTS lookup', err);
    }
  }

  async get(seq: number): Promise<StoredReport | undefined> {
    try {
      const m = await retryLeaderless(
        () => this.#jsm.streams.getMessage(Streams.Reports, { seq }),
        this.#retry,
      );
      return m === null ? undefined : { seq: m.seq, data: m.data };
    } catch (err) {
      throw unavailable('REPORTS get', err);
    }
  }

  /**
   * Appends a report; resolves with the PubAck only once JetStream stored it. Sent again
   * while unanswered: the message id (the report's identity) keeps it one message in
   * REPORTS, and an attempt that finds the first one stored is answered `duplicate`.
   */
  async append(
    subject: string,
    jws: Uint8Array,
    meta: { msgId: string; agency: string; kid: string },
  ): Promise<{ seq: number; duplicate: boolean }> {
    const h = headers();
    h.set(ReportHeaders.Agency, meta.agency);
    h.set(ReportHeaders.Kid, meta.kid);
    try {
      const ack = await retryLeaderless(
        (timeout) =>
          this.#js.publish(subject, jws, {
            msgID: meta.msgId,
            headers: h,
            expect: { streamName: Streams.Reports },
            timeout,
          }),
        this.#retry,
      );
      return { seq: ack.seq, duplicate: ack.duplicate };
    } catch (err) {
      throw unavailable('REPORTS append', err);
    }
  }

  /**
   * Appends a rejection record; resolves with its sequence in REJECTIONS. One request,
   * waiting the whole timeout: it has no message id, so a second copy could be stored.
   */
  async reject(agency: string, record: unknown): Promise<number> {
    try {
      const ack = await this.#js.publish(rejectionSubject(agency), JSON.stringify(record), {
        expect: { streamName: Streams.Rejections },
        timeout: this.#retry.timeoutMs,
      });
      return ack.seq;
    } catch (err) {
      throw unavailable('REJECTIONS append', err);
    }
  }
}
