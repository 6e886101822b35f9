import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { connectionSubscriptions, startServer, type NatsServerHandle } from '@mosaic/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSequences, readStream } from '../src/index.ts';

/**
 * A read of many batched direct gets (1,000 messages each): every sequence of the range comes
 * once, in order, with its message or as a hole, wherever the holes fall against the batches'
 * edges.
 */
const STREAM = 'READSEQ';
const NAME = 'read-sequences-reader';
const COUNT = 3_200;
/**
 * Removed from the stream: at, before and after the batches' edges, the first two and the
 * last but one (the last stays, so the stream's state still counts up to it).
 */
const HOLES = new Set([1, 2, 999, 1000, 1001, 1002, 1500, 2000, 2001, 2999, 3000, 3001, 3199]);

let server: NatsServerHandle;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  server = await startServer();
  nc = await connect({ servers: server.url, name: NAME });
  jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: STREAM, subjects: [`${STREAM}.>`], allow_direct: true });
  const js = jetstream(nc);
  for (let i = 1; i <= COUNT; i += 200)
    await Promise.all(
      Array.from({ length: 200 }, (_, k) => js.publish(`${STREAM}.s`, `m${String(i + k)}`)),
    );
  for (const seq of HOLES) await jsm.streams.deleteMessage(STREAM, seq, false);
}, 60_000);

afterAll(async () => {
  await nc.close();
  await server[Symbol.asyncDispose]();
});

describe('readSequences over many batches', () => {
  it('yields every sequence from..to once, in order, each with its own message or as a hole', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: COUNT }),
        fc.integer({ min: 0, max: 2_600 }),
        async (from, span) => {
          const to = Math.min(COUNT, from + span);
          const seen: number[] = [];
          for await (const { seq, msg } of readSequences(jsm, STREAM, { from, to })) {
            seen.push(seq);
            if (HOLES.has(seq)) expect(msg, `seq ${String(seq)}`).toBeUndefined();
            else expect(new TextDecoder().decode(msg?.data)).toBe(`m${String(seq)}`);
          }
          expect(seen).toEqual(Array.from({ length: to - from + 1 }, (_, i) => from + i));
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);

  it('readStream skips the holes and returns the rest of the stream in order', async () => {
    const seqs: number[] = [];
    for await (const m of readStream(jsm, STREAM)) seqs.push(m.seq);
    expect(seqs).toEqual(
      Array.from({ length: COUNT }, (_, i) => i + 1).filter((seq) => !HOLES.has(seq)),
    );
  }, 60_000);

  it('a reader that stops early leaves no subscription and no failure behind', async () => {
    const before = await connectionSubscriptions(server.monitorUrl ?? '', NAME);
    for (const stopAt of [3, 998, 1003, 2500]) {
      for await (const m of readStream(jsm, STREAM)) if (m.seq >= stopAt) break;
    }
    // A batch the reader left unread ends on its own once the server sent it.
    await expect
      .poll(async () => {
        await nc.flush();
        return connectionSubscriptions(server.monitorUrl ?? '', NAME);
      })
      .toBe(before);
  }, 60_000);
});
