import { unavailable } from '@mosaic/errors';
import { ReportHeaders, Streams, rejectionSubject, reportLookupSubject } from '@mosaic/protocol';
import { serviceJetStream } from '@mosaic/service';
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

  private constructor(js: JetStreamClient, jsm: JetStreamManager) {
    this.#js = js;
    this.#jsm = jsm;
  }

  static async open(nc: NatsConnection, timeoutMs: number): Promise<IngestStore> {
    const { js, jsm } = await serviceJetStream(nc, timeoutMs);
    return new IngestStore(js, jsm);
  }

  /**
   * The stored report of (issuer, reportId), whatever its origin and category. A message
   * get (answered by the stream leader) rather than a direct get (answered by any replica,
   * possibly lagging): dedupe and lineage must see every acknowledged write.
   */
  async find(issuer: string, reportId: string): Promise<StoredReport | undefined> {
    try {
      const m = await this.#jsm.streams.getMessage(Streams.Reports, {
        last_by_subj: reportLookupSubject(issuer, reportId),
      });
      return m === null ? undefined : { seq: m.seq, data: m.data };
    } catch (err) {
      throw unavailable('REPORTS lookup', err);
    }
  }

  async get(seq: number): Promise<StoredReport | undefined> {
    try {
      const m = await this.#jsm.streams.getMessage(Streams.Reports, { seq });
      return m === null ? undefined : { seq: m.seq, data: m.data };
    } catch (err) {
      throw unavailable('REPORTS get', err);
    }
  }

  /** Appends a report; resolves with the PubAck only once JetStream stored it. */
  async append(
    subject: string,
    jws: Uint8Array,
    meta: { msgId: string; agency: string; kid: string },
  ): Promise<{ seq: number; duplicate: boolean }> {
    const h = headers();
    h.set(ReportHeaders.Agency, meta.agency);
    h.set(ReportHeaders.Kid, meta.kid);
    try {
      const ack = await this.#js.publish(subject, jws, {
        msgID: meta.msgId,
        headers: h,
        expect: { streamName: Streams.Reports },
      });
      return { seq: ack.seq, duplicate: ack.duplicate };
    } catch (err) {
      throw unavailable('REPORTS append', err);
    }
  }

  /** Appends a rejection record; resolves with its sequence in REJECTIONS. */
  async reject(agency: string, record: unknown): Promise<number> {
    try {
      const ack = await this.#js.publish(rejectionSubject(agency), JSON.stringify(record), {
        expect: { streamName: Streams.Rejections },
      });
      return ack.seq;
    } catch (err) {
      throw unavailable('REJECTIONS append', err);
    }
  }
}
