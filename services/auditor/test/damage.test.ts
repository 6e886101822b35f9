import { decodeEntry, encodeEntry, generateHubKey, leafHash, type HubKey } from '@mosaic/audit-log';
import { ErrorCode } from '@mosaic/errors';
import {
  AUDIT_CHECKPOINTS_SUBJECT,
  StreamSubjects,
  Streams,
  streamConfigs,
} from '@mosaic/protocol';
import { createLogger } from '@mosaic/log';
import { startServer, type NatsServerHandle } from '@mosaic/testkit';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  TREE_SIZE_HEADER,
  auditClient,
  ensureAuditStreams,
  readAuditCheckpoints,
  readStream,
  type AuditRequest,
  type AuditRequestOf,
  type AuditSender,
} from '@mosaic/protocol';
import { startAuditor, type Auditor } from '../src/index.ts';

/**
 * What the auditor does when AUDIT or AUDIT_CHECKPOINTS holds a message it did not write —
 * what a hole in the broker's permissions would let someone publish. The test connection
 * has every permission (a server without authorization), standing in for that hole.
 */
const log = createLogger({
  service: 'auditor',
  level: process.env['MOSAIC_LOG_LEVEL'] ?? 'silent',
});
let key: HubKey;
const open: AsyncDisposable[] = [];

beforeAll(async () => {
  key = await generateHubKey('mosaic-test');
});
afterEach(async () => {
  for (const r of open.splice(0).reverse()) await r[Symbol.asyncDispose]();
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

interface Setup {
  server: NatsServerHandle;
  nc: NatsConnection;
  jsm: JetStreamManager;
  start: (options?: {
    quietSeconds?: number;
    onCheckpoint?: (s: string) => void;
  }) => Promise<Auditor>;
}

async function setup(): Promise<Setup> {
  const server = await startServer();
  open.push(server);
  const nc = await connect({ servers: server.url });
  open.push({ [Symbol.asyncDispose]: () => nc.close() });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add(streamConfigs()[Streams.Audit]);
  await ensureAuditStreams(jsm);
  const start = async (
    options: { quietSeconds?: number; onCheckpoint?: (s: string) => void } = {},
  ): Promise<Auditor> => {
    const anc = await connect({ servers: server.url });
    const auditor = await startAuditor({
      nc: anc,
      hubKey: key,
      log,
      consultations: false,
      checkpointEvery: { entries: 1000, seconds: 60, quietSeconds: options.quietSeconds ?? 60 },
      onCheckpoint: (text) => {
        options.onCheckpoint?.(text);
        return Promise.resolve();
      },
    });
    open.push({
      [Symbol.asyncDispose]: async () => {
        await auditor.stop();
        await anc.close();
      },
    });
    return auditor;
  };
  return { server, nc, jsm, start };
}

async function auditMessages(jsm: JetStreamManager): Promise<number> {
  return (await jsm.streams.info(Streams.Audit)).state.messages;
}

describe('foreign messages in AUDIT', () => {
  it('junk published to the AUDIT subject: the running auditor refuses to chain after it (ERR_UNAVAILABLE, unhealthy), and so does a new one', async () => {
    const { nc, jsm, start } = await setup();
    const auditor = await start();
    const client = auditClient(nc, 'ingest', { timeoutMs: 5_000 });
    for (let i = 1; i <= 3; i++) await client.record(collected(i));
    expect(auditor.health()).toEqual({ ok: true });

    await jetstream(nc).publish(StreamSubjects[Streams.Audit], 'not an audit entry');
    await expect(client.record(collected(4))).rejects.toMatchObject({
      code: ErrorCode.Unavailable,
    });
    expect(auditor.health()).toMatchObject({
      ok: false,
      problem: 'foreign',
      stream: Streams.Audit,
      seq: 4,
    });
    expect(await auditMessages(jsm)).toBe(4);

    const again = await start();
    expect(again.health()).toMatchObject({ ok: false, problem: 'foreign', seq: 4 });
    expect(again.size()).toBe(3);
    await expect(again.append(collected(5))).rejects.toMatchObject({
      code: ErrorCode.Unavailable,
      message: expect.stringMatching(/foreign at AUDIT seq 4/) as string,
    });
    expect(await again.checkpoint()).toBeUndefined();
    expect(await auditMessages(jsm)).toBe(4);
  });

  it('a well-formed entry chained to the last one but not published by the auditor (no msg id) is foreign too', async () => {
    const { nc, jsm, start } = await setup();
    const first = await start();
    await first.append(collected(1));
    await first.stop();
    const [last] = await (async () => {
      const out: Uint8Array[] = [];
      for await (const m of readStream(jsm, Streams.Audit)) out.push(m.data);
      return out;
    })();
    const forged = encodeEntry({
      ...collected(2),
      v: 1,
      time: new Date().toISOString(),
      prev: Buffer.from(leafHash(last ?? new Uint8Array())).toString('hex'),
    } as Parameters<typeof encodeEntry>[0]);
    await jetstream(nc).publish(StreamSubjects[Streams.Audit], forged);

    const auditor = await start();
    expect(auditor.health()).toMatchObject({
      ok: false,
      problem: 'foreign',
      seq: 2,
      reason: expect.stringMatching(/msg id/) as string,
    });
    await expect(auditor.append(collected(3))).rejects.toMatchObject({
      code: ErrorCode.Unavailable,
    });
    expect(await auditMessages(jsm)).toBe(2);
  });

  it('a message in AUDIT_CHECKPOINTS that is not a checkpoint signed by this hub key: unhealthy, nothing appended', async () => {
    const { nc, jsm, start } = await setup();
    const first = await start();
    await first.append(collected(1));
    await first.stop();
    const h = headers();
    h.set(TREE_SIZE_HEADER, '1');
    await jetstream(nc).publish(AUDIT_CHECKPOINTS_SUBJECT, 'mosaic-hub\n1\nnot a root\n', {
      headers: h,
    });
    const cps = await readAuditCheckpoints(jsm);

    const auditor = await start();
    expect(auditor.health()).toMatchObject({
      ok: false,
      problem: 'foreign-checkpoint',
      stream: 'AUDIT_CHECKPOINTS',
      seq: cps.at(-1)?.seq,
    });
    await expect(auditor.append(collected(2))).rejects.toMatchObject({
      code: ErrorCode.Unavailable,
    });
  });

  it('only the auditor marks an entry recovered: a request carrying it is refused', async () => {
    const { nc, start } = await setup();
    await start();
    await expect(
      untypedClient(auditClient(nc, 'ingest')).record({
        ...collected(1),
        recovered: true,
      } as AuditRequest),
    ).rejects.toMatchObject({ code: ErrorCode.AuditEntry });
  });

  it('on the hand-over subject it appends only what a reconciliation recovers, marked recovered', async () => {
    const { nc, jsm, start } = await setup();
    await start();
    const handOver = async (entry: object): Promise<{ ok: boolean; seq?: number; code?: string }> =>
      (
        await nc.request('mosaic.hub.audit.auditor', JSON.stringify(entry), { timeout: 10_000 })
      ).json();
    const refused = { ok: false, code: ErrorCode.SenderNotAttested };
    // Not marked recovered; another action; a recoverable action by another actor kind.
    expect(await handOver(collected(1))).toMatchObject(refused);
    expect(
      await handOver({
        actor: { kind: 'operator', id: 'ops' },
        action: 'registry.changed',
        justification: 'x',
        recovered: true,
      }),
    ).toMatchObject(refused);
    expect(
      await handOver({
        actor: { kind: 'agency', id: 'nl-police' },
        action: 'alert.consulted',
        refs: [{ stream: Streams.Alerts, seq: 1 }],
        recovered: true,
      }),
    ).toMatchObject(refused);
    expect(
      await handOver({ ...collected(1), actor: { kind: 'operator', id: 'ops' }, recovered: true }),
    ).toMatchObject(refused);
    expect(await auditMessages(jsm)).toBe(0);

    expect(await handOver({ ...collected(1), recovered: true })).toEqual({ ok: true, seq: 1 });
    const stored: Uint8Array[] = [];
    for await (const m of readStream(jsm, Streams.Audit)) stored.push(m.data);
    expect(stored).toHaveLength(1);
    expect(decodeEntry(stored[0] ?? new Uint8Array())).toMatchObject({
      action: 'report.accepted',
      recovered: true,
    });
  });
});

describe('checkpoints', () => {
  it('a burst is signed a quiet period after its last append, without waiting for the interval', async () => {
    const { nc, jsm, start } = await setup();
    let signedNow: ((text: string) => void) | undefined;
    const signed = new Promise<string>((resolve) => (signedNow = resolve));
    await start({ quietSeconds: 0.2, onCheckpoint: (t) => signedNow?.(t) });
    const client = auditClient(nc, 'ingest');
    for (let i = 1; i <= 3; i++) await client.record(collected(i));
    const bound = new Promise<never>((_, reject) =>
      setTimeout(() => {
        reject(new Error('no checkpoint 10 s after the burst'));
      }, 10_000).unref(),
    );
    await Promise.race([signed, bound]);
    expect((await readAuditCheckpoints(jsm)).map((c) => c.size)).toEqual([3]);
  });
});
