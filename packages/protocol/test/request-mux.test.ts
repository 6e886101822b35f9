import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import {
  NoRespondersError,
  RequestError,
  connect,
  type NatsConnection,
} from '@nats-io/transport-node';
import { startServer } from '@mosaic/testkit';
import { describe, expect, it } from 'vitest';
import { multiplexRequests } from '../src/index.ts';

const INBOX = '_INBOX_MUXTEST';

/** What a caller can tell of an outcome: the error's class, message and cause, or the reply. */
async function outcome(p: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    const value = await p;
    return { ok: true, value };
  } catch (err) {
    if (!(err instanceof Error)) throw err;
    const cause = err.cause instanceof Error ? err.cause : undefined;
    return {
      ok: false,
      type: err.constructor.name,
      message: err.message,
      cause: cause?.constructor.name,
      causeMessage: cause?.message,
      noResponders: err instanceof RequestError ? err.isNoResponders() : undefined,
    };
  }
}

/** Two connections as the same user: one left to nats.js, one multiplexed. */
async function pair(
  url: string,
  extra: Record<string, string> = {},
): Promise<{
  plain: NatsConnection;
  muxed: NatsConnection;
  [Symbol.asyncDispose](): Promise<void>;
}> {
  const options = { servers: url, inboxPrefix: INBOX, noAsyncTraces: true, ...extra };
  const plain = await connect(options);
  const muxed = multiplexRequests(await connect(options), INBOX);
  return {
    plain,
    muxed,
    [Symbol.asyncDispose]: async () => {
      for (const nc of [plain, muxed]) if (!nc.isClosed()) await nc.close();
    },
  };
}

describe('multiplexRequests', () => {
  it('matches each reply to its request with many in flight, and JetStream publishes ack with their sequence', async () => {
    await using server = await startServer();
    await using c = await pair(server.url);
    const replySubjects: string[] = [];
    const echo = c.plain.subscribe('echo', {
      callback: (_err, msg) => {
        replySubjects.push(msg.reply ?? '');
        // Answer out of order: the later requests first.
        const delay = 20 - (Number(msg.string()) % 20);
        setTimeout(() => msg.respond(`re:${msg.string()}`), delay);
      },
    });
    await c.plain.flush();
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        c.muxed.request('echo', String(i), { timeout: 10_000 }),
      ),
    );
    expect(replies.map((m) => m.string())).toEqual(
      Array.from({ length: 200 }, (_, i) => `re:${i}`),
    );
    echo.unsubscribe();
    // Mosaic's multiplexer answered them, not nats.js's (whose tokens are random): one reply
    // subscription, a counter per request.
    expect(new Set(replySubjects.map((r) => r.slice(0, r.lastIndexOf('.')))).size).toBe(1);
    expect(new Set(replySubjects.map((r) => r.slice(r.lastIndexOf('.') + 1)))).toEqual(
      new Set(Array.from({ length: 200 }, (_, i) => i.toString(36))),
    );
    expect(replySubjects[0]?.startsWith(`${INBOX}.`)).toBe(true);

    const jsm = await jetstreamManager(c.muxed);
    await jsm.streams.add({ name: 'MUX', subjects: ['mux.>'] });
    const js = jetstream(c.muxed);
    const acks = await Promise.all(
      Array.from({ length: 50 }, (_, i) => js.publish(`mux.${i}`, 'x', { msgID: `m${i}` })),
    );
    expect(acks.map((a) => a.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    const again = await js.publish('mux.0', 'x', { msgID: 'm0' });
    expect(again.duplicate).toBe(true);
    expect((await jsm.streams.info('MUX')).state.messages).toBe(50);
  });

  it('fails exactly as nats.js does: timeout, no responders, JetStream without a stream, bad arguments', async () => {
    await using server = await startServer();
    await using c = await pair(server.url);
    c.plain.subscribe('silent', { callback: () => undefined });
    await c.plain.flush();
    const cases: [string, (nc: NatsConnection) => Promise<unknown>][] = [
      ['timeout', (nc) => nc.request('silent', 'x', { timeout: 200 })],
      ['no responders', (nc) => nc.request('nobody.here', 'x', { timeout: 5_000 })],
      [
        'JetStream, no stream',
        (nc) => jetstream(nc, { timeout: 5_000 }).publish('nostream.x', 'x'),
      ],
      ['bad timeout', (nc) => nc.request('silent', 'x', { timeout: -1 })],
      ['empty subject', (nc) => nc.request('', 'x', { timeout: 1_000 })],
      ['reply without noMux', (nc) => nc.request('silent', 'x', { timeout: 1_000, reply: 'r' })],
    ];
    for (const [name, run] of cases) {
      const expected = await outcome(run(c.plain));
      expect(expected.ok, name).toBe(false);
      expect(await outcome(run(c.muxed)), name).toEqual(expected);
    }
    const noResponders = await outcome(c.muxed.request('nobody.here', 'x', { timeout: 5_000 }));
    expect(noResponders).toMatchObject({
      type: RequestError.name,
      cause: NoRespondersError.name,
      noResponders: true,
    });
  });

  it('fails a request the server refuses to publish at once, and others still succeed', async () => {
    await using server = await startServer({
      config: `authorization { users = [ { user: a, password: a, permissions: { publish: { deny: ["forbidden.>"] } } } ] }`,
    });
    await using c = await pair(server.url, { user: 'a', pass: 'a' });
    c.plain.subscribe('forbidden.x', { callback: (_e, m) => void m.respond('no') });
    c.plain.subscribe('allowed', { callback: (_e, m) => void m.respond('yes') });
    await c.plain.flush();
    const refused = c.muxed.request('forbidden.x', 'x', { timeout: 30_000 });
    const allowed = c.muxed.request('allowed', 'x', { timeout: 30_000 });
    const got = await outcome(refused);
    expect(got).toEqual(await outcome(c.plain.request('forbidden.x', 'x', { timeout: 30_000 })));
    expect(got).toMatchObject({ type: RequestError.name, cause: 'PermissionViolationError' });
    expect((await allowed).string()).toBe('yes');
  });

  it('fails requests as nats.js does when the server refuses the reply subscription', async () => {
    await using server = await startServer({
      config: `authorization { users = [ { user: a, password: a, permissions: { subscribe: { deny: ["${INBOX}.>"] } } } ] }`,
    });
    await using c = await pair(server.url, { user: 'a', pass: 'a' });
    c.plain.subscribe('echo', { callback: (_e, m) => void m.respond('re') });
    await c.plain.flush();
    // Each multiplexer subscribes under an inbox id of its own; the rest must be the same.
    const sameInbox = (o: Record<string, unknown>): string =>
      JSON.stringify(o).replaceAll(new RegExp(`${INBOX}\\.[A-Za-z0-9]+`, 'g'), `${INBOX}.<id>`);
    const expected = await outcome(c.plain.request('echo', 'x', { timeout: 30_000 }));
    expect(expected).toMatchObject({ ok: false, cause: 'PermissionViolationError' });
    expect(sameInbox(await outcome(c.muxed.request('echo', 'x', { timeout: 30_000 })))).toBe(
      sameInbox(expected),
    );
  });

  it('fails the requests pending when the connection closes, and later ones as nats.js does', async () => {
    await using server = await startServer();
    await using c = await pair(server.url);
    c.plain.subscribe('silent', { callback: () => undefined });
    await c.plain.flush();
    const pendingMuxed = outcome(c.muxed.request('silent', 'x', { timeout: 60_000 }));
    const other = await connect({ servers: server.url, inboxPrefix: INBOX });
    const pendingPlain = outcome(other.request('silent', 'x', { timeout: 60_000 }));
    await c.muxed.flush();
    await other.flush();
    await Promise.all([c.muxed.close(), other.close()]);
    const expected = await pendingPlain;
    expect(expected).toMatchObject({ ok: false, message: 'connection closed' });
    expect(await pendingMuxed).toEqual(expected);
    expect(await outcome(c.muxed.request('silent', 'x', { timeout: 1_000 }))).toEqual(
      await outcome(other.request('silent', 'x', { timeout: 1_000 })),
    );
  });

  it('passes noMux requests to nats.js', async () => {
    await using server = await startServer();
    await using c = await pair(server.url);
    c.plain.subscribe('echo', { callback: (_e, m) => void m.respond(`re:${m.string()}`) });
    await c.plain.flush();
    const reply = await c.muxed.request('echo', 'a', {
      timeout: 10_000,
      noMux: true,
      reply: `${INBOX}.own`,
    });
    expect(reply.string()).toBe('re:a');
  });
});
