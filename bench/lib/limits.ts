/** The physical limits of the machine, measured in the same run: JetStream writes, Ed25519. */
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { ReportHeaders, ensureStreams } from '@mosaic/protocol';
import type { AgencyKeyPair } from '@mosaic/signing';
import { startServer } from '@mosaic/testkit';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers } from '@nats-io/transport-node';
import { benchReport, fastSigner } from './fixtures.ts';
import type { Pool } from './pool.ts';
import { cpuMs } from './proc.ts';
import { rate, type FsyncMode, type RawPublishResult, type VerifyResult } from './stats.ts';
import { cryptoSignLoop, cryptoVerifyLoop, verifyReportLoop, type TaskResult } from './worker.ts';

/**
 * JetStream publishes of `payload` to REPORTS (the hub's stream configuration, a msg id per
 * message as ingest and the router send) for `durationMs`, `inFlight` awaiting their PubAck
 * at any time, through the same client as the hub (@nats-io/jetstream 3). The nats-server's
 * CPU time over the timed phase, per stored message, is the storage's share of the CPU floor.
 */
export async function rawPublish(
  fsync: FsyncMode,
  payload: Uint8Array,
  inFlight: number,
  durationMs: number,
): Promise<RawPublishResult> {
  await using server = await startServer({ syncAlways: fsync === 'always' });
  const nc = await connect({ servers: server.url });
  try {
    await ensureStreams(await jetstreamManager(nc));
    const js = jetstream(nc, { timeout: 30_000 });
    const publishOne = async (): Promise<void> => {
      const h = headers();
      h.set(ReportHeaders.Agency, 'pub-0');
      h.set(ReportHeaders.Kid, 'pub-0/k1');
      const id = randomUUID();
      await js.publish(`mosaic.reports.NL.recruitment.pub-0.${id}`, payload, {
        msgID: `pub-0/${id}`,
        headers: h,
        expect: { streamName: 'REPORTS' },
      });
    };
    // Warm-up: stream files, client buffers.
    await Promise.all(Array.from({ length: Math.min(inFlight, 500) }, publishOne));
    let done = 0;
    const cpuBefore = await cpuMs(server.pid);
    const start = performance.now();
    const deadline = start + durationMs;
    const lane = async (): Promise<void> => {
      while (performance.now() < deadline) {
        await publishOne();
        done++;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    const ms = performance.now() - start;
    const serverCpuMs = (await cpuMs(server.pid)) - cpuBefore;
    return {
      fsync,
      messages: done,
      payloadBytes: payload.byteLength,
      inFlight,
      perSec: rate(done, ms),
      serverCpuUsPerWrite: done > 0 ? (serverCpuMs * 1000) / done : Number.NaN,
    };
  } finally {
    await nc.close();
  }
}

/**
 * A rate loop on this thread, with the process's CPU time (user + system) per operation: on
 * a shared machine the loop's wall time includes the time other processes ran, its CPU time
 * does not. The worker threads are idle meanwhile, so the process's CPU is the loop's.
 */
function onThisThread(loop: () => TaskResult): {
  counted: { count: number; ms: number };
  cpuUsPerOp: number;
} {
  const before = process.cpuUsage();
  const counted = loop() as { count: number; ms: number };
  const { user, system } = process.cpuUsage(before);
  return { counted, cpuUsPerOp: counted.count > 0 ? (user + system) / counted.count : Number.NaN };
}

/**
 * Ed25519 (`crypto.verify`) and `verifyReport` rates, on this thread and on every worker, and
 * the Ed25519 signing (`crypto.sign`) rate on this thread.
 */
export async function verifyRates(
  pool: Pool,
  pair: AgencyKeyPair,
  durationMs: number,
): Promise<VerifyResult> {
  const jws = fastSigner(pair.privateJwk)(benchReport(pair.agency, 1));
  const records = [
    { kid: pair.kid, agency: pair.agency, keyId: pair.keyId, publicJwk: pair.publicJwk },
  ];
  const perSec = (r: { count: number; ms: number }): number => rate(r.count, r.ms);
  cryptoVerifyLoop(jws, pair.publicJwk, 200);
  const cryptoOne = onThisThread(() => cryptoVerifyLoop(jws, pair.publicJwk, durationMs));
  cryptoSignLoop(jws, pair.privateJwk, 200);
  const signOne = onThisThread(() => cryptoSignLoop(jws, pair.privateJwk, durationMs));
  await verifyReportLoop(jws, records, 200);
  const reportOne = await verifyReportLoop(jws, records, durationMs);
  const sum = (rs: { kind: string; count?: number; ms?: number }[]): number =>
    rs.reduce((s, r) => s + rate(r.count ?? 0, r.ms ?? 1), 0);
  await pool.all(() => ({
    kind: 'crypto-verify',
    jws,
    publicJwk: pair.publicJwk,
    durationMs: 200,
  }));
  const cryptoAll = await pool.all(() => ({
    kind: 'crypto-verify',
    jws,
    publicJwk: pair.publicJwk,
    durationMs,
  }));
  const reportAll = await pool.all(() => ({ kind: 'verify-report', jws, records, durationMs }));
  return {
    cryptoOneCore: perSec(cryptoOne.counted),
    cryptoAllCores: sum(cryptoAll),
    cryptoSignOneCore: perSec(signOne.counted),
    cpuUsPerSign: signOne.cpuUsPerOp,
    cpuUsPerVerify: cryptoOne.cpuUsPerOp,
    verifyReportOneCore: perSec(reportOne as { count: number; ms: number }),
    verifyReportAllCores: sum(reportAll),
    workers: pool.size,
  };
}

export const cores = (): number => availableParallelism();
