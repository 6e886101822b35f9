import {
  decodeEntry,
  hubJwks,
  hubKeysFromJwks,
  leafHash,
  verifyAuditLog,
  type AuditEntry,
} from '@mosaic/audit-log';
import { ErrorCode } from '@mosaic/errors';
import { Streams, streamConfigs } from '@mosaic/protocol';
import { startCluster, testNatsMode, type NatsServerHandle } from '@mosaic/testkit';
import {
  PubHeaders,
  jetstream,
  jetstreamManager,
  type JetStreamManager,
  type StoredMsg,
} from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  auditClient,
  ensureAuditStreams,
  readAuditCheckpoints,
  readStream,
  type AuditRequest,
  type AuditRequestOf,
  type AuditSender,
} from '@mosaic/protocol';
import { startAuditor, type Auditor, type AuditorObserver } from '../src/index.ts';
import { openAuditorTestBed, testLog, type AuditorTestBed } from './support/bed.ts';
import { heldLink, type HeldLink } from './support/held-link.ts';

let server: NatsServerHandle;
let nc: NatsConnection;
let jsm: JetStreamManager;
let key: AuditorTestBed['key'];
let bed: AuditorTestBed;
const log = testLog;

beforeAll(async () => {
  bed = await openAuditorTestBed([Streams.Audit]);
  ({ server, nc, jsm, key } = bed);
});
afterAll(async () => {
  await bed.close();
});

const collected = (n: number): AuditRequestOf<'ingest'> => ({
  actor: { kind: 'agency', id: 'nl-police' },
  action: 'report.accepted',
  subject: { reportId: `r-${n}`, issuer: 'nl-police', contentHash: '0'.repeat(64) },
  refs: [{ stream: Streams.Reports, seq: n }],
});

/**
 * A sender that bypasses the compile-time check of what it may record (`auditClient` admits
 * only its own actions and actor kinds): the auditor must refuse such requests by itself.
 */
const untypedClient = (
  client: ReturnType<typeof auditClient<AuditSender>>,
): { record(entry: AuditRequest): Promise<{ seq: number }> } => client;

/** The AUDIT messages, in order, read with `admin` (the test server's by default). */
async function entries(admin: JetStreamManager = jsm): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const m of readStream(admin, Streams.Audit)) out.push(m.data);
  return out;
}

/** Runs `body` on a fresh 3-node cluster whose audit streams have 3 replicas. */
async function withAuditCluster(
  body: (cluster: { urls: string[]; jsm: JetStreamManager }) => Promise<void>,
): Promise<void> {
  await using cluster = await startCluster(3);
  const admin = await connect({ servers: cluster.urls });
  try {
    const clusterJsm = await jetstreamManager(admin);
    await clusterJsm.streams.add(streamConfigs(3)[Streams.Audit]);
    await ensureAuditStreams(clusterJsm, 3);
    await body({ urls: cluster.urls, jsm: clusterJsm });
  } finally {
    await admin.close();
  }
}

/** Runs `body` with an auditor on the test server telling `observe`, stopped after it. */
async function withObservedAuditor(
  observe: AuditorObserver,
  body: (auditor: Auditor) => Promise<void>,
): Promise<void> {
  const anc = await connect({ servers: server.url });
  const auditor = await startAuditor({ nc: anc, hubKey: key, log, consultations: false, observe });
  try {
    await body(auditor);
  } finally {
    await auditor.stop();
    await anc.close();
  }
}

const items = (data: Uint8Array[]) => data.map((d, index) => ({ index, seq: index + 1, data: d }));

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/**
 * Two auditors, both started from the same tail, append N entries alternately: every append
 * of one makes the other's state stale. The log must come out as one chain with every entry
 * once, checkpoints verifying.
 */
async function race(urls: string | string[], admin: JetStreamManager): Promise<void> {
  const [a, b] = await Promise.all([connect({ servers: urls }), connect({ servers: urls })]);
  const before = (await entries(admin)).length;
  // Each entry is told to the observer once, by the auditor whose append stored it — also
  // when the answer of its write was lost and it found the entry in AUDIT afterwards.
  const told: number[] = [];
  const observe = { stored: (seconds: readonly number[]) => told.push(...seconds) };
  const one = await startAuditor({
    nc: a,
    hubKey: key,
    log,
    consultations: false,
    checkpointEvery: { entries: 50 },
    observe,
  });
  const two = await startAuditor({
    nc: b,
    hubKey: key,
    log,
    consultations: false,
    checkpointEvery: { entries: 50 },
    observe,
  });
  const N = 600;
  let seqs: number[];
  try {
    seqs = await Promise.all(
      Array.from({ length: N }, (_, i) => (i % 2 === 0 ? one : two).append(collected(1000 + i))),
    );
  } finally {
    await Promise.all([one.stop(), two.stop()]);
    await Promise.all([a.close(), b.close()]);
  }
  expect(new Set(seqs).size).toBe(N);
  expect(told).toHaveLength(N);
  const data = await entries(admin);
  expect(data).toHaveLength(before + N);
  for (let i = 1; i < data.length; i++)
    expect(decodeEntry(data[i] ?? new Uint8Array()).prev, `entry ${i}`).toBe(
      hex(leafHash(data[i - 1] ?? new Uint8Array())),
    );
  const keys = hubJwks([{ name: key.name, publicJwk: key.publicJwk }]);
  const cps = (await readAuditCheckpoints(admin)).map((c) => c.text);
  expect(await verifyAuditLog(items(data), cps, hubKeysFromJwks(keys))).toMatchObject({
    ok: true,
  });
}

describe('auditor', () => {
  it('appends requests in order with time and the prev chain, signs checkpoints, resumes after a restart', async () => {
    const anc = await connect({ servers: server.url });
    const signed: string[] = [];
    const auditor = await startAuditor({
      nc: anc,
      hubKey: key,
      log,
      checkpointEvery: { entries: 5, seconds: 60 },
      consultations: false,
      onCheckpoint: (text) => {
        signed.push(text);
        return Promise.resolve();
      },
    });
    const client = auditClient(nc, 'ingest');
    const seqs: number[] = [];
    for (let i = 1; i <= 12; i++) seqs.push((await client.record(collected(i))).seq);
    expect(seqs).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    await auditor.stop();
    await anc.close();

    const data = await entries();
    expect(data).toHaveLength(12);
    const decoded = data.map((d) => decodeEntry(d));
    expect(decoded[0]?.prev).toBeUndefined();
    for (let i = 1; i < data.length; i++)
      expect(decoded[i]?.prev).toBe(hex(leafHash(data[i - 1] ?? new Uint8Array())));
    expect(decoded[3]).toMatchObject({
      v: 1,
      action: 'report.accepted',
      subject: { reportId: 'r-4' },
    });
    expect(Date.parse(decoded[3]?.time ?? '')).toBeGreaterThan(Date.now() - 60_000);
    // every 5 entries, and the last one on stop
    const stored = await readAuditCheckpoints(jsm);
    expect(stored.map((c) => c.size)).toEqual([5, 10, 12]);
    expect(signed).toEqual(stored.map((c) => c.text));
    const keys = hubJwks([{ name: key.name, publicJwk: key.publicJwk }]);
    expect(await verifyAuditLog(items(data), stored, hubKeysFromJwks(keys))).toMatchObject({
      ok: true,
    });

    // A new instance rebuilds the tree from AUDIT and chains after the last entry.
    const again = await connect({ servers: server.url });
    const second = await startAuditor({ nc: again, hubKey: key, log, consultations: false });
    expect(second.size()).toBe(12);
    expect(await second.append(collected(13))).toBe(13);
    await second.stop();
    await again.close();
    const all = await entries();
    expect(decodeEntry(all[12] ?? new Uint8Array()).prev).toBe(
      hex(leafHash(all[11] ?? new Uint8Array())),
    );
    const cps = (await readAuditCheckpoints(jsm)).map((c) => c.text);
    expect(await verifyAuditLog(items(all), cps, hubKeysFromJwks(keys))).toMatchObject({
      ok: true,
    });
  });

  it('two auditors racing on one log never fork it: expected-last-sequence, re-read, retry', async () => {
    await race(server.url, jsm);
  });

  it.skipIf(testNatsMode() !== 'local')(
    'two auditors racing on a 3-node cluster (AUDIT with 3 replicas): one chain, and the stream keeps taking entries',
    async () => {
      await withAuditCluster(async ({ urls, jsm: clusterJsm }) => {
        await race(urls, clusterJsm);
        // On a cluster no entry is chained by its expected msg id: a replica would check it
        // only when applying it, and a mismatch there stops the stream.
        const { state } = await clusterJsm.streams.info(Streams.Audit);
        for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
          const m = await clusterJsm.streams.getMessage(Streams.Audit, { seq });
          expect(m?.header.get(PubHeaders.ExpectedLastMsgIdHdr), `seq ${String(seq)}`).toBe('');
        }
        // Every replica applied every entry: none stopped on an entry it could not apply.
        const info = await clusterJsm.streams.info(Streams.Audit);
        expect(info.cluster?.replicas?.map((r) => r.current)).toEqual([true, true]);
      });
    },
  );

  it('a batch whose writer died before its commit stores nothing: the next append chains after the last stored entry', async () => {
    const before = await entries();
    // A writer crashed between two messages of its atomic batch: no commit ever comes.
    for (const n of [1, 2]) {
      const h = headers();
      h.set('Nats-Batch-Id', `crashed-${String(before.length)}`);
      h.set('Nats-Batch-Sequence', String(n));
      h.set('Nats-Expected-Last-Sequence', String(before.length));
      nc.publish('mosaic.audit', new TextEncoder().encode(`half-${String(n)}`), { headers: h });
    }
    await nc.flush();
    const auditorNc = await connect({ servers: server.url });
    const auditor = await startAuditor({ nc: auditorNc, hubKey: key, log, consultations: false });
    try {
      const seq = await auditor.append(collected(5000));
      expect(seq).toBe(before.length + 1);
      expect(auditor.health()).toEqual({ ok: true });
    } finally {
      await auditor.stop();
      await auditorNc.close();
    }
    const after = await entries();
    expect(after).toHaveLength(before.length + 1);
    expect(decodeEntry(after.at(-1) ?? new Uint8Array()).prev).toBe(
      before.length === 0 ? undefined : hex(leafHash(before.at(-1) ?? new Uint8Array())),
    );
  });

  it('refuses what is not an audit entry, and an operator action without justification', async () => {
    const anc = await connect({ servers: server.url });
    const auditor = await startAuditor({ nc: anc, hubKey: key, log, consultations: false });
    const client = auditClient(nc, 'operator');
    const size = auditor.size();
    await expect(
      client.record({ actor: { kind: 'operator', id: 'op' }, action: 'operator.replay' }),
    ).rejects.toMatchObject({ code: 'ERR_AUDIT_ENTRY' });
    await expect(
      untypedClient(client).record({
        actor: { kind: 'operator', id: 'op' },
        action: 'no.such.action' as AuditRequest['action'],
        justification: 'x',
      }),
    ).rejects.toMatchObject({ code: 'ERR_AUDIT_ENTRY' });
    expect(auditor.size()).toBe(size);
    await auditor.stop();
    await anc.close();
  });

  it('refuses an entry its sender may not record: no one writes in another’s name', async () => {
    const anc = await connect({ servers: server.url });
    const auditor = await startAuditor({ nc: anc, hubKey: key, log, consultations: false });
    const size = auditor.size();
    // The operator recording a consultation by an agency, ingest a disclosure, the router a
    // collection, and anyone a break-glass call: each refused, nothing appended.
    await expect(
      untypedClient(auditClient(nc, 'operator')).record({
        actor: { kind: 'agency', id: 'de-bka' },
        action: 'alert.consulted',
        recipients: [{ agency: 'de-bka' }],
        refs: [{ stream: 'ALERTS', seq: 1 }],
      }),
    ).rejects.toMatchObject({ code: 'ERR_SENDER_NOT_ATTESTED' });
    await expect(
      untypedClient(auditClient(nc, 'ingest')).record({
        actor: { kind: 'service', id: 'router' },
        action: 'alert.disclosed',
        recipients: [{ agency: 'de-bka' }],
      }),
    ).rejects.toMatchObject({ code: 'ERR_SENDER_NOT_ATTESTED' });
    await expect(
      untypedClient(auditClient(nc, 'router')).record(collected(1)),
    ).rejects.toMatchObject({
      code: 'ERR_SENDER_NOT_ATTESTED',
    });
    await expect(
      untypedClient(auditClient(nc, 'operator')).record({
        actor: { kind: 'admin', id: 'mosaic-admin' },
        action: 'admin.api',
        details: { subject: '$JS.API.STREAM.DELETE.AUDIT' },
      }),
    ).rejects.toMatchObject({ code: 'ERR_SENDER_NOT_ATTESTED' });
    expect(auditor.size()).toBe(size);
    await auditor.stop();
    await anc.close();
  });

  it('appends requests from many callers one at a time (measured rate)', async () => {
    const anc = await connect({ servers: server.url });
    const auditor = await startAuditor({ nc: anc, hubKey: key, log, consultations: false });
    const client = auditClient(nc, 'ingest');
    const before = auditor.size();
    const N = 2_000;
    const started = performance.now();
    const seqs = await Promise.all(
      Array.from({ length: N }, (_, i) => client.record(collected(i + 1))),
    );
    const seconds = (performance.now() - started) / 1000;
    await auditor.stop();
    await anc.close();
    expect(new Set(seqs.map((r) => r.seq)).size).toBe(N);
    expect(Math.max(...seqs.map((r) => r.seq))).toBe(before + N);
    process.stderr.write(
      `[measure] auditor: ${N} requested appends in ${seconds.toFixed(2)} s (${Math.round(N / seconds)}/s)\n`,
    );
  });

  it('on one server, the entries of a write are publishes each expecting the sequence and msg id of the one before', async () => {
    const sizes: number[] = [];
    let base = 0;
    await withObservedAuditor(
      { stored: (seconds) => sizes.push(seconds.length) },
      async (auditor) => {
        base = auditor.size();
        await Promise.all(Array.from({ length: 4 }, (_, i) => auditor.append(collected(6000 + i))));
      },
    );
    // The first alone, the three queued behind it as one write.
    expect(sizes).toEqual([1, 3]);
    const stored: (StoredMsg | null)[] = [];
    for (let seq = base + 1; seq <= base + 4; seq++)
      stored.push(await jsm.streams.getMessage(Streams.Audit, { seq }));
    stored.forEach((m, i) => {
      expect(m?.header.get(PubHeaders.ExpectedLastSeqHdr)).toBe(String(base + i));
      // The first entry of each write expects a sequence only; the others also the msg id
      // of the entry before, so none can land after another writer's entry.
      expect(m?.header.get(PubHeaders.ExpectedLastMsgIdHdr)).toBe(
        i < 2 ? '' : (stored[i - 1]?.header.get(PubHeaders.MsgIdHdr) ?? 'none'),
      );
    });
  });

  it('a server outside a cluster refuses an entry chained to one it did not store, even at the sequence it expects', async () => {
    // The race the chaining guards against, on a scratch stream with AUDIT's settings: the
    // first entry of a write loses to another writer, whose entry takes the sequence the
    // second expects.
    const name = 'CHAIN_CHECK';
    await jsm.streams.add({
      ...streamConfigs()[Streams.Audit],
      name,
      subjects: ['chain.check'],
    });
    try {
      const js = jetstream(nc);
      const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
      await js.publish('chain.check', bytes('other writer'), {
        msgID: 'other',
        expect: { streamName: name, lastSequence: 0 },
      });
      const [first, second] = await Promise.allSettled([
        js.publish('chain.check', bytes('first'), {
          msgID: 'first',
          expect: { streamName: name, lastSequence: 0 },
        }),
        js.publish('chain.check', bytes('second'), {
          msgID: 'second',
          expect: { streamName: name, lastSequence: 1, lastMsgID: 'first' },
        }),
      ]);
      expect(first.status).toBe('rejected');
      expect(second.status).toBe('rejected');
      expect((await jsm.streams.info(name)).state.messages).toBe(1);
      // By its sequence alone it would have been stored there: the msg id is what refuses it.
      await expect(
        js.publish('chain.check', bytes('second'), {
          msgID: 'second',
          expect: { streamName: name, lastSequence: 1 },
        }),
      ).resolves.toMatchObject({ seq: 2 });
    } finally {
      await jsm.streams.delete(name);
    }
  });

  it('tells its observer of every write: the entries it stored, and how long each waited', async () => {
    const writes: (readonly number[])[] = [];
    await withObservedAuditor({ stored: (seconds) => writes.push(seconds) }, async (auditor) => {
      // The first append is written at once, alone; the 20 queued behind it go as one batch.
      const started = performance.now();
      await Promise.all(Array.from({ length: 21 }, (_, i) => auditor.append(collected(5000 + i))));
      const elapsed = (performance.now() - started) / 1000;
      expect(writes.map((w) => w.length)).toEqual([1, 20]);
      for (const seconds of writes.flat()) {
        expect(seconds).toBeGreaterThan(0);
        expect(seconds).toBeLessThanOrEqual(elapsed);
      }
    });
  });

  it('an observer that throws changes nothing: each entry stored once, answered, the writer healthy', async () => {
    const broken = {
      stored: () => {
        throw new Error('observer broken');
      },
    };
    const before = (await entries()).length;
    await withObservedAuditor(broken, async (auditor) => {
      const seqs = await Promise.all(
        Array.from({ length: 9 }, (_, i) => auditor.append(collected(7000 + i))),
      );
      expect(seqs).toEqual(Array.from({ length: 9 }, (_, i) => before + i + 1));
      expect(auditor.health()).toEqual({ ok: true });
    });
    expect(await entries()).toHaveLength(before + 9);
  });

  /**
   * Appends `requests` through a relay to the server at `url` while it holds what the
   * auditor sends (`hold(after)`), until `held` entries are held; then lets everything
   * through. Resolves with the appends' sequences and the entries AUDIT (read with `admin`)
   * holds after those it held before.
   */
  async function heldAppends(
    hold: (link: HeldLink) => void,
    requests: readonly AuditRequestOf<'ingest'>[],
    held: number,
    { url, admin }: { url: string; admin: JetStreamManager } = { url: server.url, admin: jsm },
  ): Promise<{ seqs: number[]; added: AuditEntry[]; health: unknown }> {
    await using link = await heldLink(url);
    const anc = await connect({ servers: link.url });
    const auditor = await startAuditor({
      nc: anc,
      hubKey: key,
      log,
      consultations: false,
      attemptTimeoutMs: 200,
    });
    try {
      const before = (await entries(admin)).length;
      hold(link);
      const appended = Promise.all(requests.map((r) => auditor.append(r)));
      const writes = (): number => link.held().match(/PUB mosaic\.audit /g)?.length ?? 0;
      await vi.waitFor(
        () => {
          if (writes() < held)
            throw new Error(`${String(writes())} entries held, not ${String(held)}`);
        },
        { timeout: 6_000, interval: 20 },
      );
      link.release();
      const seqs = (await appended).map((seq) => seq - before);
      const added = (await entries(admin)).slice(before).map((d) => decodeEntry(d));
      return { seqs, added, health: auditor.health() };
    } finally {
      await auditor.stop();
      await anc.close();
    }
  }

  it('an entry the server stores only after its write timed out and the tail was re-read is recognised: the decision is recorded once', async () => {
    // Nothing of the append reaches the server until released: its write times out, so does
    // the re-read of AUDIT's tail after it, and the entry is built again (a later time,
    // another leaf hash) and sent once more. Released, the server stores the first write
    // and refuses the second (AUDIT moved on); the re-read finds the first, the auditor's own.
    const { seqs, added, health } = await heldAppends(
      (link) => {
        link.hold();
      },
      [collected(8000)],
      2,
    );
    expect(seqs).toEqual([1]);
    expect(added.map((e) => e.subject?.reportId)).toEqual(['r-8000']);
    expect(health).toEqual({ ok: true });
  });

  it('a write of several chained entries stored only after it timed out is recognised entry by entry: each decision recorded once', async () => {
    // The first append's write passes; the three queued behind it go as one chained write of
    // three, held with everything after it until the three were built again and sent.
    const requests = [8100, 8101, 8102, 8103].map(collected);
    const { seqs, added, health } = await heldAppends(
      (link) => {
        link.hold('r-8100');
      },
      requests,
      6,
    );
    expect(seqs).toEqual([1, 2, 3, 4]);
    expect(added.map((e) => e.subject?.reportId)).toEqual(['r-8100', 'r-8101', 'r-8102', 'r-8103']);
    // The three held entries are the first write's: one time, chained by msg id.
    expect(new Set(added.slice(1).map((e) => e.time)).size).toBe(1);
    expect(health).toEqual({ ok: true });
  });

  it.skipIf(testNatsMode() !== 'local')(
    'on a 3-node cluster, an atomic batch stored only after it timed out is recognised entry by entry: each decision recorded once',
    async () => {
      await withAuditCluster(async ({ urls, jsm: clusterJsm }) => {
        // As on one server, but the three queued entries go as one atomic batch (the first
        // expects the last sequence; the last commits), held until it was sent twice.
        const { seqs, added, health } = await heldAppends(
          (link) => {
            link.hold('r-8200');
          },
          [8200, 8201, 8202, 8203].map(collected),
          6,
          { url: urls[0] ?? '', admin: clusterJsm },
        );
        expect(seqs).toEqual([1, 2, 3, 4]);
        expect(added.map((e) => e.subject?.reportId)).toEqual([
          'r-8200',
          'r-8201',
          'r-8202',
          'r-8203',
        ]);
        expect(new Set(added.slice(1).map((e) => e.time)).size).toBe(1);
        expect(health).toEqual({ ok: true });
        const { state } = await clusterJsm.streams.info(Streams.Audit);
        for (let seq = 2; seq <= state.last_seq; seq++) {
          const m = await clusterJsm.streams.getMessage(Streams.Audit, { seq });
          expect(m?.header.get('Nats-Batch-Id'), `seq ${String(seq)}`).not.toBe('');
        }
      });
    },
  );

  it('without an auditor the client fails with ERR_UNAVAILABLE', async () => {
    await expect(
      auditClient(nc, 'ingest', { timeoutMs: 500 }).record(collected(1)),
    ).rejects.toMatchObject({ code: ErrorCode.Unavailable });
  });
});
