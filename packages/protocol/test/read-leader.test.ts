import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startCluster, testNatsMode, type NatsClusterHandle } from '@mosaic/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSequences, readStream } from '../src/index.ts';

/**
 * A replica whose copy differs from the others: one node's message block is damaged while
 * it is stopped (one bit of one message's payload), it restarts, and the stream's leadership
 * moves to it. A direct get is answered by whichever replica the client's server prefers (a
 * local one), so a reader connected to an undamaged node sees every message; the leader,
 * which serves the stream, cannot return the damaged one. Reads with `leader: true` name it
 * wherever the reader is connected.
 */
const STREAM = 'LEADERREAD';
const TOTAL = 200;
const DAMAGED = 120;
const marker = (seq: number): string => `<message ${String(seq).padStart(4, '0')}>`;

let cluster: NatsClusterHandle;
let admin: NatsConnection;
let adminJsm: JetStreamManager;
/** Connected to an undamaged follower only. */
let reader: NatsConnection;
let readerJsm: JetStreamManager;
let damagedNode = '';

async function leaderOf(jsm: JetStreamManager): Promise<string> {
  return (await jsm.streams.info(STREAM)).cluster?.leader ?? '';
}

/** Polls `probe` every 200 ms until it returns true; fails after `timeoutMs`. */
async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 60_000) {
  for (const deadline = Date.now() + timeoutMs; ;) {
    const done = await probe().catch(() => false);
    if (done) return;
    if (Date.now() > deadline) throw new Error(`${what} within ${String(timeoutMs / 1000)} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function blockOf(storeDir: string): Promise<string> {
  for (const entry of await readdir(storeDir, { recursive: true, withFileTypes: true }))
    if (entry.isFile() && entry.name === '1.blk' && entry.parentPath.includes(STREAM))
      return join(entry.parentPath, entry.name);
  throw new Error(`no message block of ${STREAM} under ${storeDir}`);
}

/** Whether a direct get of the damaged sequence is answered with the message (any replica). */
async function intactOnSomeReplica(): Promise<boolean> {
  for (let attempt = 0; attempt < 50; attempt++)
    if ((await readerJsm.direct.getMessage(STREAM, { seq: DAMAGED })) !== null) return true;
  return false;
}

async function holes(): Promise<number[]> {
  const out: number[] = [];
  for await (const { seq, msg } of readSequences(readerJsm, STREAM, { leader: true }))
    if (msg === undefined) out.push(seq);
  return out;
}

describe.skipIf(testNatsMode() !== 'local')('reading a stream through its leader', () => {
  beforeAll(async () => {
    cluster = await startCluster(3, { startTimeoutMs: 120_000 });
    admin = await connect({
      servers: cluster.urls,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
    });
    adminJsm = await jetstreamManager(admin, { timeout: 20_000 });
    await adminJsm.streams.add({
      name: STREAM,
      subjects: ['leaderread.>'],
      num_replicas: 3,
      storage: 'file',
      allow_direct: true,
    });
    const js = jetstream(admin, { timeout: 20_000 });
    for (let seq = 1; seq <= TOTAL; seq++)
      await js.publish(`leaderread.${String(seq)}`, `${marker(seq)} ${'x'.repeat(200)}`);
    const allCurrent = async (): Promise<boolean> => {
      const info = await adminJsm.streams.info(STREAM);
      const replicas = info.cluster?.replicas ?? [];
      return replicas.length === 2 && replicas.every((r) => r.current && !(r.offline ?? false));
    };
    await until('every replica current', allCurrent);

    // Damage a follower's copy of one message while it is stopped.
    const leader = await leaderOf(adminJsm);
    const index = cluster.nodes.findIndex((n) => n.serverName !== leader);
    const victim = cluster.nodes[index]!;
    damagedNode = victim.serverName;
    await cluster.stopNode(index);
    const block = await blockOf(victim.storeDir);
    const bytes = await readFile(block);
    const at = bytes.indexOf(marker(DAMAGED));
    expect(at).toBeGreaterThan(0);
    bytes[at + 2] = (bytes[at + 2] ?? 0) ^ 1;
    await writeFile(block, bytes);
    await cluster.restartNode(index);
    await until('every replica current after the restart', allCurrent, 120_000);

    // Move the leadership to it.
    await until(
      `${damagedNode} leads ${STREAM}`,
      async () => {
        if ((await leaderOf(adminJsm)) === damagedNode) return true;
        await admin.request(
          `$JS.API.STREAM.LEADER.STEPDOWN.${STREAM}`,
          JSON.stringify({ placement: { preferred: damagedNode } }),
          { timeout: 10_000 },
        );
        await until('a leader', async () => (await leaderOf(adminJsm)) !== '', 30_000);
        return (await leaderOf(adminJsm)) === damagedNode;
      },
      120_000,
    );
    const other = cluster.nodes.find((n) => n.serverName !== damagedNode)!;
    reader = await connect({ servers: other.url });
    readerJsm = await jetstreamManager(reader, { timeout: 20_000 });
  }, 600_000);

  afterAll(async () => {
    await reader?.close();
    await admin?.close();
    await cluster?.[Symbol.asyncDispose]();
  });

  it('names the message the leading replica lost, though another replica holds it', async () => {
    expect(await leaderOf(readerJsm)).toBe(damagedNode);
    // The leader serves the stream and its copy lost one message: every read names it. (A
    // direct get is answered by any current replica, so a batch of direct gets misses the
    // message or not depending on which replica answered it.)
    for (let read = 0; read < 3; read++) expect(await holes()).toEqual([DAMAGED]);
    // While another replica still holds it intact.
    expect(await intactOnSomeReplica()).toBe(true);
  }, 120_000);

  it('returns every other message, in order, each as stored', async () => {
    const seen: number[] = [];
    for await (const m of readStream(readerJsm, STREAM, { leader: true })) {
      expect(m.string().startsWith(marker(m.seq))).toBe(true);
      seen.push(m.seq);
    }
    expect(seen).toEqual(
      Array.from({ length: TOTAL }, (_, i) => i + 1).filter((seq) => seq !== DAMAGED),
    );
    const part: number[] = [];
    for await (const { seq } of readSequences(readerJsm, STREAM, {
      leader: true,
      from: 190,
      to: 195,
    }))
      part.push(seq);
    expect(part).toEqual([190, 191, 192, 193, 194, 195]);
  }, 120_000);

  it('a stream that does not exist is an error, not a run of holes', async () => {
    const read = readSequences(readerJsm, 'NOSUCHSTREAM', { leader: true });
    await expect(read.next()).rejects.toThrow(/stream not found/i);
  });
});
