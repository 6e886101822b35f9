/**
 * Replay with verification over stored reports: 100,000 signed reports are written straight
 * into REPORTS of a bare nats-server (signed in the worker pool, stored with the ingest
 * headers and msg ids), then read back in stream order and each one verified with
 * `verifyReport`, as `mosaic replay --verify` does: once on this thread, once spread over
 * the worker pool.
 */
import { ReportHeaders, Streams, ensureStreams } from '@mosaic/protocol';
import {
  generateAgencyKey,
  staticKeyLookup,
  verifyReport,
  type AgencyKeyPair,
  type KeyRecord,
} from '@mosaic/signing';
import { startServer } from '@mosaic/testkit';
import { DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { publisherIds } from './fixtures.ts';
import { signReports, type Pool } from './pool.ts';
import { rate, type ReplayResult, type VerifyResult } from './stats.ts';
import type { TaskResult } from './worker.ts';

const ISSUERS = 8;
/** Verifications awaited at once on the main thread (verifyReport is async). */
const WINDOW = 64;
/** Reports per worker task. */
const BATCH = 500;

/** Signs `total` reports spread over `pairs` in the pool and appends them to REPORTS as ingest would. */
export async function storeReports(
  nc: NatsConnection,
  pool: Pool,
  pairs: readonly AgencyKeyPair[],
  total: number,
): Promise<void> {
  const js = jetstream(nc, { timeout: 30_000 });
  const per = Math.ceil(total / pairs.length);
  for (const pair of pairs) {
    const items = await signReports(pool, pair.agency, pair.privateJwk, per);
    let next = 0;
    await Promise.all(
      Array.from({ length: 512 }, async () => {
        for (;;) {
          const item = items[next++];
          if (item === undefined) return;
          const h = headers();
          h.set(ReportHeaders.Agency, pair.agency);
          h.set(ReportHeaders.Kid, pair.kid);
          await js.publish(item.subject, item.jws, {
            msgID: `${pair.agency}/${item.reportId}`,
            headers: h,
            expect: { streamName: Streams.Reports },
          });
        }
      }),
    );
  }
}

async function store(nc: NatsConnection, pool: Pool, total: number): Promise<KeyRecord[]> {
  const pairs = await Promise.all(
    publisherIds(ISSUERS).map((id) => generateAgencyKey(id, { keyId: 'k1' })),
  );
  await storeReports(nc, pool, pairs, total);
  return pairs.map((p) => ({
    kid: p.kid,
    agency: p.agency,
    keyId: p.keyId,
    publicJwk: p.publicJwk,
  }));
}

/** Every message of REPORTS, in order, through an ordered consumer. */
async function* readAll(nc: NatsConnection, total: number): AsyncGenerator<JsMsg> {
  const consumer = await jetstream(nc).consumers.get(Streams.Reports, {
    deliver_policy: DeliverPolicy.All,
  });
  const messages = await consumer.consume({ max_messages: 2_000 });
  let seen = 0;
  for await (const m of messages) {
    yield m;
    if (++seen >= total) break;
  }
  await messages.close();
}

const storedTime = (m: JsMsg): Date => new Date(Math.floor(m.info.timestampNanos / 1e6));

async function replayHere(
  nc: NatsConnection,
  records: KeyRecord[],
  total: number,
): Promise<number> {
  const keys = staticKeyLookup(records);
  const inFlight = new Set<Promise<void>>();
  let failed = 0;
  const start = performance.now();
  for await (const m of readAll(nc, total)) {
    if (inFlight.size >= WINDOW) await Promise.race(inFlight);
    const p = verifyReport(m.data, keys, { acceptRevokedBefore: storedTime(m) }).then(
      () => undefined,
      () => {
        failed++;
      },
    );
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }
  await Promise.all(inFlight);
  const ms = performance.now() - start;
  if (failed > 0) throw new Error(`replay: ${failed} stored reports failed verification`);
  return rate(total, ms);
}

async function replayPool(
  nc: NatsConnection,
  pool: Pool,
  records: KeyRecord[],
  total: number,
): Promise<number> {
  const running = new Set<Promise<TaskResult>>();
  let failed = 0;
  let batch: { jws: Uint8Array; storedMs: number }[] = [];
  const dispatch = (): void => {
    const p = pool.run({ kind: 'verify-batch', items: batch, records });
    batch = [];
    running.add(p);
    void p.then((r) => {
      running.delete(p);
      if (r.kind === 'verified') failed += r.failed;
    });
  };
  const start = performance.now();
  for await (const m of readAll(nc, total)) {
    batch.push({ jws: m.data, storedMs: storedTime(m).getTime() });
    if (batch.length >= BATCH) {
      while (running.size >= pool.size * 2) await Promise.race(running);
      dispatch();
    }
  }
  if (batch.length > 0) dispatch();
  await Promise.all(running);
  const ms = performance.now() - start;
  if (failed > 0) throw new Error(`replay: ${failed} stored reports failed verification`);
  return rate(total, ms);
}

export async function replay(
  pool: Pool,
  total: number,
  verify: VerifyResult,
  log: (line: string) => void,
): Promise<ReplayResult> {
  await using server = await startServer();
  const nc = await connect({ servers: server.url });
  try {
    await ensureStreams(await jetstreamManager(nc));
    const t0 = performance.now();
    const records = await store(nc, pool, total);
    const stored = (await (await jetstreamManager(nc)).streams.info(Streams.Reports)).state
      .messages;
    const storeSeconds = (performance.now() - t0) / 1000;
    log(`  replay: ${stored} reports signed and stored in ${storeSeconds.toFixed(1)} s`);
    const one = await replayHere(nc, records, stored);
    log(`  replay: main thread ${one.toFixed(0)}/s`);
    const all = await replayPool(nc, pool, records, stored);
    log(`  replay: ${pool.size} workers ${all.toFixed(0)}/s`);
    return {
      reports: stored,
      storeSeconds,
      verifyOneCorePerSec: one,
      verifyAllCoresPerSec: all,
      workers: pool.size,
      ratioOneCore: one / verify.cryptoOneCore,
      ratioAllCores: all / verify.cryptoAllCores,
      ratioVsVerifyReportOneCore: one / verify.verifyReportOneCore,
      ratioVsVerifyReportAllCores: all / verify.verifyReportAllCores,
      cli: { skipped: 'not run' },
      audit: { skipped: 'not run' },
    };
  } finally {
    await nc.close();
  }
}
