import type { AuditorObserver } from '@mosaic/auditor';
import type { IngestObserver } from '@mosaic/ingest';
import type { RouterObserver } from '@mosaic/router';
import {
  AUDIT_CHECKPOINTS_STREAM,
  ROUTER_CONSUMER,
  Streams,
  type IngestReply,
} from '@mosaic/protocol';
import type { JetStreamManager } from '@nats-io/jetstream';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The metrics of one service process, in the Prometheus text format at `/metrics`. */
export interface ServiceMetrics {
  readonly registry: Registry;
  /** What ingest reports of every submission. */
  readonly ingest: IngestObserver;
  /** What the router reports of every routed report. */
  readonly router: RouterObserver;
  /** What the auditor reports of every write to AUDIT. */
  readonly auditor: AuditorObserver;
}

/** Seconds, from half a millisecond to 5 s: a check, a JetStream write, a routed report. */
const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

/** The sequence (or count) a stream has reached; undefined when it cannot be read now. */
async function streamState(
  jsm: JetStreamManager,
  name: string,
): Promise<{ messages: number; lastSeq: number; lastTs: string } | undefined> {
  try {
    const { state } = await jsm.streams.info(name);
    return { messages: state.messages, lastSeq: state.last_seq, lastTs: state.last_ts };
  } catch (err) {
    if (err instanceof Error) return undefined;
    throw err;
  }
}

/**
 * The process's metrics: its submissions and its check, store and route times (counted here,
 * as ingest answers and the router finishes), its auditor's append times and write sizes, and, read from JetStream at each scrape rather than kept beside it, the alerts
 * written, the router consumer's pending and redelivered messages, the audit log's size and
 * the age of its last checkpoint; plus the default process metrics.
 */
export function serviceMetrics(jsm: JetStreamManager): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const submissions = new Counter({
    name: 'mosaic_submissions_total',
    help: 'Submissions answered by ingest, by outcome (accepted, duplicate, rejected) and error code',
    labelNames: ['outcome', 'code'] as const,
    registers: [registry],
  });
  const verify = new Histogram({
    name: 'mosaic_verify_duration_seconds',
    help: 'Time ingest took to check one submission (size, signature, registry, duplicate, claims)',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const store = new Histogram({
    name: 'mosaic_store_duration_seconds',
    help: 'Time ingest took to store one accepted report in REPORTS (until its PubAck)',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const route = new Histogram({
    name: 'mosaic_route_duration_seconds',
    help: 'Time the router took for one report: route it, store its alerts, audit the disclosure, ack',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const tokens = new Counter({
    name: 'mosaic_selector_tokens_total',
    help: 'Distinct selectors of each batch the router indexed, by source: kept (made lately, not asked again) or made (asked of the key service)',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  const auditAppend = new Histogram({
    name: 'mosaic_audit_append_duration_seconds',
    help: 'Time from an audit entry reaching the auditor to AUDIT storing it, the wait behind earlier writes included',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const auditWrite = new Histogram({
    name: 'mosaic_audit_write_entries',
    help: 'Entries stored by one write to AUDIT (one publish for one entry; for more, an atomic batch on a cluster, chained publishes on one server)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 1000],
    registers: [registry],
  });
  new Counter({
    name: 'mosaic_alerts_written_total',
    help: 'Alerts stored in ALERTS (its last sequence)',
    registers: [registry],
    async collect() {
      const state = await streamState(jsm, Streams.Alerts);
      this.reset();
      if (state !== undefined) this.inc(state.lastSeq);
    },
  });
  new Gauge({
    name: 'mosaic_consumer_pending_messages',
    help: 'Messages of the stream the consumer has not been delivered yet',
    labelNames: ['stream', 'consumer'] as const,
    registers: [registry],
    async collect() {
      try {
        const info = await jsm.consumers.info(Streams.Reports, ROUTER_CONSUMER);
        this.set({ stream: Streams.Reports, consumer: ROUTER_CONSUMER }, info.num_pending);
      } catch (err) {
        if (!(err instanceof Error)) throw err;
      }
    },
  });
  new Gauge({
    name: 'mosaic_consumer_redelivered_messages',
    help: 'Messages delivered to the consumer more than once and not yet acknowledged',
    labelNames: ['stream', 'consumer'] as const,
    registers: [registry],
    async collect() {
      try {
        const info = await jsm.consumers.info(Streams.Reports, ROUTER_CONSUMER);
        this.set({ stream: Streams.Reports, consumer: ROUTER_CONSUMER }, info.num_redelivered);
      } catch (err) {
        if (!(err instanceof Error)) throw err;
      }
    },
  });
  new Gauge({
    name: 'mosaic_audit_entries',
    help: 'Entries in the audit log (AUDIT)',
    registers: [registry],
    async collect() {
      const state = await streamState(jsm, Streams.Audit);
      if (state !== undefined) this.set(state.messages);
    },
  });
  new Gauge({
    name: 'mosaic_audit_checkpoint_age_seconds',
    help: 'Seconds since the last signed audit checkpoint was stored',
    registers: [registry],
    async collect() {
      const state = await streamState(jsm, AUDIT_CHECKPOINTS_STREAM);
      if (state !== undefined && state.messages > 0)
        this.set((Date.now() - Date.parse(state.lastTs)) / 1000);
    },
  });
  const outcome = (reply: IngestReply): { outcome: string; code: string } =>
    reply.ok
      ? { outcome: reply.duplicate ? 'duplicate' : 'accepted', code: '' }
      : { outcome: 'rejected', code: reply.code };
  return {
    registry,
    ingest: {
      verified: (seconds) => {
        verify.observe(seconds);
      },
      stored: (seconds) => {
        store.observe(seconds);
      },
      answered: (reply) => {
        submissions.inc(outcome(reply));
      },
    },
    router: {
      routed: (seconds) => {
        route.observe(seconds);
      },
      tokens: (kept, made) => {
        tokens.inc({ source: 'kept' }, kept);
        tokens.inc({ source: 'made' }, made);
      },
    },
    auditor: {
      stored: (seconds) => {
        auditWrite.observe(seconds.length);
        for (const s of seconds) auditAppend.observe(s);
      },
    },
  };
}
