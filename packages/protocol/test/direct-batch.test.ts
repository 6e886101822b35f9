import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { TimeoutError, connect, type NatsConnection } from '@nats-io/transport-node';
import { connectionSubscriptions, startServer, type NatsServerHandle } from '@mosaic/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appendIndexEntries,
  directBatch,
  ensureSelectorIndexStream,
  readIndexEntries,
  readStream,
} from '../src/index.ts';

/**
 * A batched direct get leaves nothing behind on the connection: a service that reads in a
 * loop (the router looks up the selector index for every report, the gateway reads ALERTS
 * for every poll) would otherwise add one subscription per read, on the client and on the
 * server, for as long as it runs. Counted where it costs: the server's own count of the
 * connection's subscriptions (`/connz`).
 */
const STREAM = 'DIRECTBATCH';
const NAME = 'direct-batch-reader';
const TOKEN = 'A'.repeat(86);

let server: NatsServerHandle;
let nc: NatsConnection;
let jsm: JetStreamManager;

/** The server's count of the reader connection's subscriptions. */
async function serverSubscriptions(): Promise<number> {
  await nc.flush();
  return connectionSubscriptions(server.monitorUrl ?? '', NAME);
}

beforeAll(async () => {
  server = await startServer();
  nc = await connect({ servers: server.url, name: NAME });
  jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: STREAM, subjects: [`${STREAM}.>`], allow_direct: true });
  const js = jetstream(nc);
  for (let i = 1; i <= 30; i++) await js.publish(`${STREAM}.${String(i % 3)}`, `m${String(i)}`);
  await ensureSelectorIndexStream(jsm);
  await appendIndexEntries(js, [{ token: TOKEN, kind: 'phone' }], {
    issuer: 'nl-police',
    reportId: 'r1',
    seq: 1,
    tlp: 'GREEN',
    storedAt: new Date().toISOString(),
  });
}, 60_000);

afterAll(async () => {
  await nc.close();
  await server[Symbol.asyncDispose]();
});

describe('directBatch', () => {
  it('fails, instead of waiting for ever, when its connection closes before the batch is answered', async () => {
    const closing = await connect({ servers: server.url, reconnect: false });
    const read = directBatch(await jetstreamManager(closing), STREAM, { seq: 1, batch: 30 });
    const settled = read.then(
      () => 'resolved',
      (err: unknown) => err,
    );
    await closing.close();
    // nats.js would leave it pending: closing the connection cancels the batch's timer.
    expect(await settled).toBeInstanceOf(TimeoutError);
  }, 30_000);

  it('returns what the server sent, in order, and an empty batch when nothing matches', async () => {
    const some = await directBatch(jsm, STREAM, { seq: 1, batch: 4, next_by_subj: `${STREAM}.1` });
    expect(some.map((m) => [m.seq, m.string()])).toEqual([
      [1, 'm1'],
      [4, 'm4'],
      [7, 'm7'],
      [10, 'm10'],
    ]);
    expect(
      await directBatch(jsm, STREAM, { seq: 1, batch: 5, next_by_subj: 'nothing.here' }),
    ).toEqual([]);
    const last = await directBatch(jsm, STREAM, { multi_last: [`${STREAM}.>`] });
    expect(last.map((m) => [m.subject, m.string()]).sort()).toEqual([
      [`${STREAM}.0`, 'm30'],
      [`${STREAM}.1`, 'm28'],
      [`${STREAM}.2`, 'm29'],
    ]);
  });

  it('leaves no subscription behind, whether it found messages, none, or failed', async () => {
    const before = await serverSubscriptions();
    for (let i = 0; i < 40; i++) {
      await directBatch(jsm, STREAM, { seq: 1, batch: 10 });
      await directBatch(jsm, STREAM, { seq: 1, batch: 3, next_by_subj: 'nothing.here' });
      await directBatch(jsm, STREAM, { multi_last: [`${STREAM}.>`] });
      // Every index lookup and every stream read goes through it.
      expect(await readIndexEntries(jsm, TOKEN)).toHaveLength(1);
      for await (const m of readStream(jsm, STREAM, { from: 25 }))
        expect(m.seq).toBeGreaterThan(24);
      await expect(directBatch(jsm, 'NO_SUCH_STREAM', { seq: 1, batch: 2 })).rejects.toThrow();
    }
    expect(await serverSubscriptions()).toBe(before);
  }, 60_000);
});
