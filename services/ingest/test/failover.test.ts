import { Streams, reportSubject, streamConfigs } from '@mosaic/protocol';
import { startCluster, testNatsMode, type NatsClusterHandle } from '@mosaic/testkit';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestStore } from '../src/store.ts';

/**
 * REPORTS on three nodes, its leader SIGKILLed, a report appended at once through a
 * surviving node. The request sent to the dead leader is answered by nobody, and the
 * followers stay silent until one's election timeout (4–9 s) runs out: a store that asks
 * once waits its whole timeout and fails; one that asks again while unanswered stores the
 * report as soon as a new leader serves the stream, once.
 */
const ISSUER = 'nl-police';
/** Far beyond an election (4–9 s). */
const TIMEOUT_MS = 25_000;

let cluster: NatsClusterHandle;
let admin: NatsConnection;
let adminJsm: JetStreamManager;
let n = 0;

async function leaderOf(): Promise<string> {
  for (let i = 0; i < 600; i++) {
    const leader = (await adminJsm.streams.info(Streams.Reports)).cluster?.leader ?? '';
    if (leader !== '') return leader;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('REPORTS has no leader');
}

/** Kills the REPORTS leader; resolves with a connection to the two other nodes only. */
async function killLeader(): Promise<{ nc: NatsConnection; killed: number }> {
  const leader = await leaderOf();
  const killed = cluster.nodes.findIndex((node) => node.serverName === leader);
  const survivors = cluster.nodes.filter((_, i) => i !== killed).map((node) => node.url);
  const nc = await connect({ servers: survivors, maxReconnectAttempts: -1 });
  await cluster.killNode(killed);
  return { nc, killed };
}

function append(
  store: IngestStore,
  reportId: string,
): Promise<{ seq: number; duplicate: boolean }> {
  const subject = reportSubject({ origin: 'NL', category: 'test', issuer: ISSUER, reportId });
  return store.append(subject, new TextEncoder().encode(`report ${reportId}`), {
    msgId: `${ISSUER}/${reportId}`,
    agency: ISSUER,
    kid: 'k1',
  });
}

describe.skipIf(testNatsMode() !== 'local')('ingest storage while REPORTS elects a leader', () => {
  beforeAll(async () => {
    cluster = await startCluster(3, { startTimeoutMs: 120_000 });
    admin = await connect({ servers: cluster.urls, maxReconnectAttempts: -1 });
    adminJsm = await jetstreamManager(admin, { timeout: 20_000 });
    await adminJsm.streams.add(streamConfigs(3)[Streams.Reports]);
    await leaderOf();
  }, 180_000);

  afterAll(async () => {
    await admin?.close();
    await cluster?.[Symbol.asyncDispose]();
  });

  it('asked again while unanswered, a lookup and an append right after the kill succeed after the election, the append stored once', async () => {
    const stored = `r-${String(++n)}`;
    const fresh = `r-${String(++n)}`;
    const before = await IngestStore.open(admin, { timeoutMs: TIMEOUT_MS, attemptMs: 1_000 });
    const first = await append(before, stored);
    const { nc, killed } = await killLeader();
    let found: unknown;
    let appended: unknown;
    try {
      const store = await IngestStore.open(nc, { timeoutMs: TIMEOUT_MS, attemptMs: 1_000 });
      [found, appended] = await Promise.all([
        store.find(ISSUER, stored).catch((err: unknown) => err),
        append(store, fresh).catch((err: unknown) => err),
      ]);
    } finally {
      await nc.close();
      await cluster.restartNode(killed);
      await leaderOf();
    }
    // Before: the lookup sent to the dead leader went unanswered for the whole timeout,
    // the append found no responders; both ERR_UNAVAILABLE.
    expect(found).toMatchObject({ seq: first.seq });
    expect(appended).toMatchObject({ duplicate: false });
    const { seq } = appended as { seq: number };
    const after = await IngestStore.open(admin, { timeoutMs: TIMEOUT_MS, attemptMs: 1_000 });
    expect(await after.find(ISSUER, fresh)).toMatchObject({ seq });
    // Sent again (an agency's retry): the duplicate window answers with the same message.
    expect(await append(after, fresh)).toEqual({ seq, duplicate: true });
    const subject = reportSubject({
      origin: 'NL',
      category: 'test',
      issuer: ISSUER,
      reportId: fresh,
    });
    const info = await adminJsm.streams.info(Streams.Reports, { subjects_filter: subject });
    expect(info.state.subjects).toEqual({ [subject]: 1 });
  }, 180_000);
});
