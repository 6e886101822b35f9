import {
  AlertKind,
  Streams,
  StreamSubjects,
  alertSubject,
  ensureStreams,
  readStream,
  rejectionSubject,
  reportSubject,
} from '@mosaic/protocol';
import { startServer, type NatsServerHandle } from '@mosaic/testkit';
import {
  jetstream,
  jetstreamManager,
  type JetStreamManager,
  type StoredMsg,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replaySelects, resolveReplayRange } from '../src/index.ts';

/** A compact JWS-shaped message whose payload is the report (the signature is not read). */
const jws = (report: object): string =>
  `e30.${Buffer.from(JSON.stringify(report)).toString('base64url')}.sig`;

let server: NatsServerHandle;
let nc: NatsConnection;
let jsm: JetStreamManager;
/** REPORTS seqs 1-3 stored before `between`, 4-5 after it. */
let between: string;

async function all(stream: string): Promise<StoredMsg[]> {
  const out: StoredMsg[] = [];
  for await (const m of readStream(jsm, stream)) out.push(m);
  return out;
}

beforeAll(async () => {
  server = await startServer({ jetstream: true });
  nc = await connect({ servers: server.url });
  jsm = await jetstreamManager(nc);
  await ensureStreams(jsm);
  const js = jetstream(nc);
  const report = (issuer: string, origin: string, category: string, jurisdictions: string[]) =>
    js.publish(
      reportSubject({ origin, category, issuer, reportId: crypto.randomUUID() }),
      jws({ issuer, origin, category, jurisdictions }),
    );
  await report('de-bka', 'DE', 'financial', ['NL']);
  await report('nl-police', 'NL', 'recruitment', []);
  const third = await report('ro-dicot', 'RO', 'recruitment', ['DE']);
  const stored = await jsm.streams.getMessage(Streams.Reports, { seq: third.seq });
  // A storage time after the third report's; the rest are stored once the clock passed it.
  between = new Date(stored!.time.getTime() + 1).toISOString();
  while (Date.now() <= Date.parse(between)) await new Promise((resolve) => setImmediate(resolve));
  await report('de-bka', 'DE', 'transport', []);
  await report('ngo-lastrada', 'RO', 'financial', ['RO']);
  await js.publish(
    alertSubject('nl-police', AlertKind.Report, 'de-bka', 'r1'),
    jws({ origin: 'DE', category: 'financial' }),
  );
  await js.publish(
    alertSubject('de-bka', AlertKind.Report, 'ro-dicot', 'r3'),
    jws({ origin: 'RO', category: 'recruitment', jurisdictions: ['DE'] }),
  );
  await js.publish(rejectionSubject('ro-dicot'), '{"code":"ERR_SIG_INVALID"}');
  await js.publish(rejectionSubject('de-bka'), '{"code":"ERR_SCHEMA"}');
  const entry = (e: object) => js.publish(StreamSubjects[Streams.Audit], JSON.stringify(e));
  await entry({ actor: { id: 'de-bka' }, action: 'report.accepted' });
  await entry({
    actor: { id: 'router' },
    subject: { issuer: 'ro-dicot' },
    recipients: [{ agency: 'nl-police' }],
  });
  await entry({ actor: { id: 'operator:x' }, action: 'registry.changed' });
});

afterAll(async () => {
  await nc.close();
  await server[Symbol.asyncDispose]();
});

describe('resolveReplayRange', () => {
  it('is the whole stream without bounds, clipped to its last sequence', async () => {
    expect(await resolveReplayRange(jsm, Streams.Reports, {})).toEqual({
      from: 1,
      to: 5,
      total: 5,
    });
    expect(await resolveReplayRange(jsm, Streams.Reports, { fromSeq: 2, toSeq: 99 })).toEqual({
      from: 2,
      to: 5,
      total: 4,
    });
  });

  it('resolves storage times: since inclusive, until exclusive; nothing after the last message', async () => {
    expect(await resolveReplayRange(jsm, Streams.Reports, { since: between })).toEqual({
      from: 4,
      to: 5,
      total: 2,
    });
    expect(await resolveReplayRange(jsm, Streams.Reports, { until: between })).toEqual({
      from: 1,
      to: 3,
      total: 3,
    });
    const later = new Date(Date.now() + 60_000).toISOString();
    expect(await resolveReplayRange(jsm, Streams.Reports, { since: later })).toEqual({
      from: 6,
      to: 5,
      total: 0,
    });
  });
});

describe('replaySelects', () => {
  const seqs = async (
    stream: (typeof Streams)[keyof typeof Streams],
    s: object,
  ): Promise<number[]> =>
    (await all(stream)).filter((m) => replaySelects(stream, m, s)).map((m) => m.seq);

  it('reports: by issuer, origin or a jurisdiction concerned, and category', async () => {
    expect(await seqs(Streams.Reports, {})).toEqual([1, 2, 3, 4, 5]);
    expect(await seqs(Streams.Reports, { agency: 'de-bka' })).toEqual([1, 4]);
    expect(await seqs(Streams.Reports, { jurisdiction: 'DE' })).toEqual([1, 3, 4]);
    expect(await seqs(Streams.Reports, { category: 'recruitment' })).toEqual([2, 3]);
    expect(await seqs(Streams.Reports, { jurisdiction: 'RO', category: 'financial' })).toEqual([5]);
  });

  it('alerts by recipient; rejections by agency; audit by actor, issuer or recipient', async () => {
    expect(await seqs(Streams.Alerts, { agency: 'de-bka' })).toEqual([2]);
    expect(await seqs(Streams.Alerts, { jurisdiction: 'DE' })).toEqual([1, 2]);
    expect(await seqs(Streams.Rejections, { agency: 'ro-dicot' })).toEqual([1]);
    expect(await seqs(Streams.Audit, { agency: 'de-bka' })).toEqual([1]);
    expect(await seqs(Streams.Audit, { agency: 'ro-dicot' })).toEqual([2]);
    expect(await seqs(Streams.Audit, { agency: 'nl-police' })).toEqual([2]);
    expect(await seqs(Streams.Audit, {})).toEqual([1, 2, 3]);
  });
});
