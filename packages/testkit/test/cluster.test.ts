import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, testNatsMode, type NatsClusterHandle } from '../src/index.ts';

describe.skipIf(testNatsMode() !== 'local')('startCluster', () => {
  let cluster: NatsClusterHandle;
  let nc: NatsConnection;
  let jsm: JetStreamManager;

  beforeAll(async () => {
    cluster = await startCluster(3);
    nc = await connect({ servers: cluster.urls, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    jsm = await jetstreamManager(nc);
  });
  afterAll(async () => {
    await nc?.close();
    await cluster?.[Symbol.asyncDispose]();
  });

  it('forms a 3-node JetStream cluster where an R3 stream has a leader and 2 current replicas', async () => {
    expect(cluster.urls).toHaveLength(3);
    expect(new Set(cluster.nodes.map((n) => n.serverName)).size).toBe(3);
    expect(new Set(cluster.nodes.map((n) => n.port)).size).toBe(3);
    const info = await jsm.streams.add({
      name: 'R3',
      subjects: ['r3.>'],
      num_replicas: 3,
      storage: 'file',
    });
    expect(info.config.num_replicas).toBe(3);
    const leader = info.cluster?.leader ?? '';
    expect(cluster.nodes.map((n) => n.serverName)).toContain(leader);
    await expect
      .poll(async () => (await jsm.streams.info('R3')).cluster?.replicas ?? [], {
        timeout: 10_000,
        interval: 100,
      })
      .toSatisfy(
        (replicas: { current: boolean }[]) =>
          replicas.length === 2 && replicas.every((r) => r.current),
      );
    const replicas = (await jsm.streams.info('R3')).cluster?.replicas ?? [];
    expect(new Set([leader, ...replicas.map((r) => r.name)])).toEqual(
      new Set(cluster.nodes.map((n) => n.serverName)),
    );
  });

  it('keeps every acked message exactly once when the stream leader is SIGKILLed mid-publish', async () => {
    const total = 2_000;
    const concurrency = 64;
    await jsm.streams.add({
      name: 'DURABLE',
      subjects: ['durable.>'],
      num_replicas: 3,
      storage: 'file',
    });
    const leaderName = (await jsm.streams.info('DURABLE')).cluster?.leader ?? '';
    const victim = cluster.nodes.findIndex((n) => n.serverName === leaderName);
    expect(victim).toBeGreaterThanOrEqual(0);

    const js = jetstream(nc);
    const acked = new Map<string, number>();
    let retries = 0;
    let killed: Promise<void> | undefined;
    let restarted: Promise<void> | undefined;
    const restart = (): Promise<void> =>
      (restarted ??= (async () => {
        await killed;
        await cluster.restartNode(victim);
      })());

    async function publish(i: number): Promise<void> {
      const msgID = `msg-${i}`;
      const deadline = Date.now() + 60_000;
      for (let attempt = 1; ; attempt++) {
        try {
          const ack = await js.publish(`durable.${i % 16}`, JSON.stringify({ i }), {
            msgID,
            timeout: 2_000,
          });
          acked.set(msgID, ack.seq);
          break;
        } catch (err) {
          // Timeouts and "no responders" while a new leader is elected: retry with the
          // same msgID, which the stream deduplicates if the first attempt was stored.
          if (Date.now() > deadline) throw err;
          retries++;
          await new Promise((resolve) => setTimeout(resolve, 25 * Math.min(attempt, 8)));
        }
      }
      if (acked.size === 500) killed ??= cluster.killNode(victim);
      if (acked.size === 1_000) void restart();
    }

    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < total) await publish(next++);
      }),
    );
    expect(killed).toBeDefined();
    await restart();

    expect(acked.size).toBe(total);
    expect(new Set(acked.values()).size).toBe(total);

    // The stream holds each acked message once, at the sequence its ack named.
    const info = await jsm.streams.info('DURABLE');
    expect(info.state.messages).toBe(total);
    const consumer = await js.consumers.get('DURABLE');
    const seen = new Map<string, number>();
    const messages = await consumer.consume();
    for await (const m of messages) {
      const id = m.headers?.get('Nats-Msg-Id') ?? '';
      expect(seen.has(id), `${id} stored twice`).toBe(false);
      seen.set(id, m.seq);
      if (m.seq >= info.state.last_seq) break;
    }
    expect(seen).toEqual(acked);

    // The restarted node has caught up: every replica is current and holds all messages.
    await expect
      .poll(
        async () => {
          const c = (await jsm.streams.info('DURABLE')).cluster;
          return (c?.replicas ?? []).filter((r) => r.current && !r.offline).length;
        },
        { timeout: 20_000, interval: 100 },
      )
      .toBe(2);
    const restartedNode = cluster.nodes[victim]!;
    await expect
      .poll(
        async () => {
          const res = await fetch(`${restartedNode.monitorUrl}/jsz?streams=true`);
          const jsz = (await res.json()) as {
            account_details?: { stream_detail?: { name: string; state: { messages: number } }[] }[];
          };
          return jsz.account_details
            ?.flatMap((a) => a.stream_detail ?? [])
            .find((s) => s.name === 'DURABLE')?.state.messages;
        },
        { timeout: 20_000, interval: 100 },
      )
      .toBe(total);
    expect(retries, 'the kill interrupted publishing').toBeGreaterThan(0);
  }, 120_000);
});
