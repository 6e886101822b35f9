import {
  decodeEntry,
  generateHubKey,
  hubJwks,
  hubKeysFromJwks,
  verifyAuditLog,
  type AuditEntry,
} from '@mosaic/audit-log';
import { createLogger } from '@mosaic/log';
import {
  AlertKind,
  Streams,
  alertSubject,
  alertsConsumer,
  alertsConsumerConfig,
  ensureAuditStreams,
  parseAlertSubject,
  readAuditCheckpoints,
  readStream,
  streamConfigs,
} from '@mosaic/protocol';
import { startServer, type NatsServerHandle } from '@mosaic/testkit';
import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_CONSULTATIONS_PER_ENTRY } from '../src/consultations.ts';
import { startAuditor, type Auditor } from '../src/index.ts';

const log = createLogger({
  service: 'auditor',
  level: process.env['MOSAIC_LOG_LEVEL'] ?? 'silent',
});
const NL = 'nl-police';
const RO = 'ro-dicot';
/** Long enough that no window of these tests closes on its timer unless the test says so. */
const LONG_MS = 120_000;

let server: NatsServerHandle;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
let auditorNc: NatsConnection;
let key: Awaited<ReturnType<typeof generateHubKey>>;

beforeEach(async () => {
  server = await startServer();
  nc = await connect({ servers: server.url });
  jsm = await jetstreamManager(nc);
  js = jetstream(nc);
  const configs = streamConfigs();
  await jsm.streams.add(configs[Streams.Alerts]);
  await jsm.streams.add(configs[Streams.Audit]);
  await ensureAuditStreams(jsm);
  for (const agency of [NL, RO])
    await jsm.consumers.add(Streams.Alerts, alertsConsumerConfig(agency));
  auditorNc = await connect({ servers: server.url });
  key ??= await generateHubKey('mosaic-test');
});
afterEach(async () => {
  await auditorNc.close();
  await nc.close();
  await server[Symbol.asyncDispose]();
});

const start = (window: { ms?: number; samples?: number }): Promise<Auditor> =>
  startAuditor({
    nc: auditorNc,
    hubKey: key,
    log,
    consultationWindow: window,
    checkpointEvery: { entries: 10, seconds: 60 },
  });

/** Stores `n` alerts for `recipient` in ALERTS; their sequences. */
async function storeAlerts(recipient: string, n: number): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 0; i < n; i++) {
    const ack = await js.publish(
      alertSubject(recipient, AlertKind.Report, 'de-bka', `r-${recipient}-${i}`),
      'alert',
    );
    seqs.push(ack.seq);
  }
  return seqs;
}

/** Fetches `n` alerts from the agency's alerts consumer, unacknowledged. */
async function fetchAlerts(recipient: string, n: number): Promise<JsMsg[]> {
  const consumer = await js.consumers.get(Streams.Alerts, alertsConsumer(recipient));
  const out: JsMsg[] = [];
  while (out.length < n) {
    const batch = await consumer.fetch({ max_messages: n - out.length, expires: 5_000 });
    for await (const m of batch) out.push(m);
  }
  return out;
}

async function consulted(): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for await (const m of readStream(jsm, Streams.Audit)) {
    const entry = decodeEntry(m.data);
    if (entry.action === 'alert.consulted') out.push(entry);
  }
  return out;
}

const alertSeqs = (entries: AuditEntry[]): number[] =>
  entries.flatMap((e) => (e.refs ?? []).map((r) => r.seq));

/** The recipient token of the ALERTS message with this sequence. */
async function recipientOf(seq: number): Promise<string | undefined> {
  const m = await jsm.streams.getMessage(Streams.Alerts, { seq });
  return m === null ? undefined : parseAlertSubject(m.subject)?.recipient;
}

/** An ack sample as the broker publishes it, on `subject` with `consumer` in the payload. */
function sample(subject: string, consumer: string, seq: number, deliveries = 1): void {
  nc.publish(
    subject,
    JSON.stringify({
      type: 'io.nats.jetstream.metric.v1.consumer_ack',
      stream: Streams.Alerts,
      consumer,
      consumer_seq: seq,
      stream_seq: seq,
      deliveries,
    }),
  );
}
const sampleSubject = (consumer: string): string =>
  `$JS.EVENT.METRIC.CONSUMER.ACK.${Streams.Alerts}.${consumer}`;

describe('consultations', () => {
  it('acks of two agencies in one window: entries per agency whose refs are exactly its acked alerts, each once; the log verifies', async () => {
    const N = 40;
    const nlSeqs = await storeAlerts(NL, N);
    const roSeqs = await storeAlerts(RO, N);
    const auditor = await start({ ms: LONG_MS, samples: 16 });
    const nlMsgs = await fetchAlerts(NL, N);
    const roMsgs = await fetchAlerts(RO, N);
    // Interleaved, confirmed acks: the broker samples each one.
    for (let i = 0; i < N; i++) {
      await nlMsgs[i]?.ackAck();
      await roMsgs[i]?.ackAck();
    }
    // Each agency's window is written when it holds 16 alerts: 2 entries each so far,
    // 8 alerts each still held (the window's time is far off).
    await expect
      .poll(async () => (await consulted()).length, { timeout: 20_000, interval: 100 })
      .toBe(4);
    await expect.poll(() => auditor.consultationsHeld(), { timeout: 20_000 }).toBe(16);
    await auditor.stop();

    const entries = await consulted();
    expect(entries).toHaveLength(6);
    for (const [agency, acked] of [
      [NL, nlSeqs],
      [RO, roSeqs],
    ] as const) {
      const mine = entries.filter((e) => e.actor.id === agency);
      expect(mine).toHaveLength(3);
      expect(mine.map((e) => e.refs?.length)).toEqual([16, 16, 8]);
      const seqs = alertSeqs(mine);
      expect(new Set(seqs).size).toBe(seqs.length);
      expect([...seqs].sort((a, b) => a - b)).toEqual(acked);
      for (const e of mine) {
        expect(e).toMatchObject({ actor: { kind: 'agency' }, recipients: [{ agency }] });
        expect(e.refs?.every((r) => r.stream === Streams.Alerts)).toBe(true);
        expect(e.details?.['deliveries']).toEqual(e.refs?.map(() => 1));
      }
    }
    // No entry names an alert of another agency than its actor.
    for (const e of entries)
      for (const ref of e.refs ?? []) expect(await recipientOf(ref.seq)).toBe(e.actor.id);

    const data: Uint8Array[] = [];
    for await (const m of readStream(jsm, Streams.Audit)) data.push(m.data);
    const keys = hubKeysFromJwks(hubJwks([{ name: key.name, publicJwk: key.publicJwk }]));
    expect(
      await verifyAuditLog(
        data.map((d, index) => ({ index, seq: index + 1, data: d })),
        await readAuditCheckpoints(jsm),
        keys,
      ),
    ).toMatchObject({ ok: true, entries: 6 });
  });

  it('a window is written when its time is up, without a stop', async () => {
    const seqs = await storeAlerts(NL, 5);
    const auditor = await start({ ms: 200 });
    try {
      for (const m of await fetchAlerts(NL, 5)) await m.ackAck();
      await expect
        .poll(async () => alertSeqs(await consulted()).sort((a, b) => a - b), {
          timeout: 20_000,
          interval: 100,
        })
        .toEqual(seqs);
      expect(auditor.consultationsHeld()).toBe(0);
      // On a loaded machine the five acks may straddle windows, never more than one each.
      expect((await consulted()).length).toBeLessThanOrEqual(5);
    } finally {
      await auditor.stop();
    }
  });

  it('stop writes every sample received, the one arriving as it stops included', async () => {
    const seqs = await storeAlerts(NL, 4);
    const auditor = await start({ ms: LONG_MS });
    const msgs = await fetchAlerts(NL, 4);
    for (const m of msgs.slice(0, 3)) await m.ackAck();
    await expect.poll(() => auditor.consultationsHeld(), { timeout: 20_000 }).toBe(3);
    expect(await consulted()).toEqual([]);
    // The fourth sample reaches the auditor's connection before its stop drains the
    // subscription (published and flushed first), but is handled during the stop.
    sample(sampleSubject(alertsConsumer(NL)), alertsConsumer(NL), seqs[3] ?? 0);
    await nc.flush();
    await auditor.stop();
    const entries = await consulted();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actor: { kind: 'agency', id: NL } });
    expect(alertSeqs(entries)).toEqual(seqs);
  });

  it('a sample is attributed only to the agency whose alerts consumer its subject names', async () => {
    const [nlSeq = 0] = await storeAlerts(NL, 1);
    const [roSeq = 0] = await storeAlerts(RO, 1);
    const auditor = await start({ ms: LONG_MS });
    // A payload naming another consumer than its subject: believed for neither agency.
    sample(sampleSubject(alertsConsumer(NL)), alertsConsumer(RO), roSeq);
    sample(sampleSubject(alertsConsumer(RO)), alertsConsumer(NL), nlSeq);
    // Consumers that are not an agency's alerts consumer.
    sample(sampleSubject('leaf-nl-police'), 'leaf-nl-police', nlSeq);
    sample(sampleSubject(alertsConsumer('')), alertsConsumer(''), nlSeq);
    // The genuine one.
    sample(sampleSubject(alertsConsumer(RO)), alertsConsumer(RO), roSeq);
    await nc.flush();
    await auditor.stop();
    const entries = await consulted();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor: { kind: 'agency', id: RO },
      recipients: [{ agency: RO }],
      refs: [{ stream: Streams.Alerts, seq: roSeq }],
    });
  });

  it('a full window stays an entry the auditor can read back: at most MAX_CONSULTATIONS_PER_ENTRY alerts, even with the largest sequences', async () => {
    const auditor = await start({ ms: LONG_MS, samples: 10_000 });
    const consumer = alertsConsumer(NL);
    const n = MAX_CONSULTATIONS_PER_ENTRY + 200;
    for (let i = 0; i < n; i++)
      sample(
        sampleSubject(consumer),
        consumer,
        Number.MAX_SAFE_INTEGER - i,
        Number.MAX_SAFE_INTEGER,
      );
    await nc.flush();
    await auditor.stop();
    // Decoded with the size limit every reader applies.
    const entries = await consulted();
    expect(entries.map((e) => e.refs?.length)).toEqual([MAX_CONSULTATIONS_PER_ENTRY, 200]);
    expect(new Set(alertSeqs(entries)).size).toBe(n);
    // A restarted auditor chains after them (it halts on an entry it cannot read).
    const again = await start({});
    try {
      expect(again.health()).toEqual({ ok: true });
      expect(again.size()).toBe(2);
    } finally {
      await again.stop();
    }
  });
});
