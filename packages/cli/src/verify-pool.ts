/**
 * Stored reports verified in batches, on this thread or on worker threads, each batch's
 * outcomes in the order of its items. Workers resolve key ids through the caller's
 * `KeyLookup` (one request per key id per worker while it answers with a record), so the
 * registry and the hub connection stay on this thread.
 */
import { Worker } from 'node:worker_threads';
import { ErrorCode, MosaicError, isMosaicError } from '@mosaic/errors';
import { verifyReport, type KeyLookup, type KeyRecord } from '@mosaic/signing';
import type { Reply, Request } from './verify-worker.ts';

/** A stored report and the time JetStream stored it (ms since the epoch). */
export interface StoredReport {
  data: Uint8Array;
  storedMs: number;
}

/** One report's verdict: verified, or the MosaicError `verifyReport` threw. */
export type Verdict = { ok: true } | { ok: false; code: string; message: string };

export interface ReportVerifier extends AsyncDisposable {
  /** Worker threads verifying (0: this thread). */
  readonly workers: number;
  /** Verifies a batch; a non-Mosaic failure (a bug, a dead worker) rejects the whole batch. */
  verify(batch: readonly StoredReport[]): Promise<Verdict[]>;
}

/** `verifyReport` as replay runs it: a key revoked after the report was stored still verifies it. */
export async function verdictOf(
  report: StoredReport,
  keys: KeyLookup,
  time = new Date(report.storedMs),
): Promise<Verdict> {
  try {
    await verifyReport(report.data, keys, { acceptRevokedBefore: time });
    return { ok: true };
  } catch (err) {
    if (!isMosaicError(err)) throw err;
    return { ok: false, code: err.code, message: err.message };
  }
}

function inThread(keys: KeyLookup): ReportVerifier {
  return {
    workers: 0,
    verify: (batch) => Promise.all(batch.map((report) => verdictOf(report, keys))),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}

/** The batch's bytes in one buffer (transferred, not copied) and where each report ends. */
function pack(batch: readonly StoredReport[]): {
  packed: Extract<Request, { kind: 'verify' }>['batch'];
  transfer: ArrayBuffer[];
} {
  const ends = new Uint32Array(batch.length);
  const stored = new Float64Array(batch.length);
  let size = 0;
  batch.forEach((report, i) => {
    size += report.data.byteLength;
    ends[i] = size;
    stored[i] = report.storedMs;
  });
  const buffer = new ArrayBuffer(size);
  const bytes = new Uint8Array(buffer);
  batch.forEach((report, i) => {
    bytes.set(report.data, (ends[i] ?? 0) - report.data.byteLength);
  });
  return { packed: { bytes, ends, stored }, transfer: [buffer, ends.buffer, stored.buffer] };
}

interface Pending {
  resolve: (verdicts: Verdict[]) => void;
  reject: (err: Error) => void;
}

interface Thread {
  worker: Worker;
  batches: Map<number, Pending>;
  /** Why the worker can take no more batches (it failed or exited). */
  failed?: Error;
}

function workerFailed(message: string): MosaicError {
  return new MosaicError(ErrorCode.Internal, `a verification worker failed: ${message}`);
}

/** What a key request answers: the record, none, or the MosaicError the lookup threw. */
async function answerKey(keys: KeyLookup, id: number, kid: string): Promise<Request> {
  try {
    const record: KeyRecord | undefined = await keys.resolve(kid);
    return { kind: 'key', id, ...(record === undefined ? {} : { record }) };
  } catch (err) {
    if (!isMosaicError(err)) return { kind: 'key', id, fatal: String(err) };
    return { kind: 'key', id, error: { code: err.code, message: err.message } };
  }
}

async function onWorkers(size: number, keys: KeyLookup): Promise<ReportVerifier> {
  // A worker runs verify-worker.ts from its TypeScript source (the compiled copy of the
  // command holds the main thread's code only): it registers tsx before loading it.
  const entry = JSON.stringify(new URL('./verify-worker.ts', import.meta.url).href);
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${entry}); });`;
  let nextId = 0;
  let closing = false;
  const ready: Promise<void>[] = [];
  const threads: Thread[] = Array.from({ length: size }, () => {
    const thread: Thread = { worker: new Worker(boot, { eval: true }), batches: new Map() };
    ready.push(
      new Promise((resolve, reject) => {
        thread.worker.once('message', () => {
          resolve();
        });
        thread.worker.once('error', reject);
        thread.worker.once('exit', (code) => {
          reject(workerFailed(`exited with code ${code}`));
        });
      }),
    );
    const failAll = (err: Error): void => {
      thread.failed ??= err;
      for (const pending of thread.batches.values()) pending.reject(err);
      thread.batches.clear();
    };
    thread.worker.on('message', (reply: Reply) => {
      if (reply.kind === 'ready') return;
      if (reply.kind === 'key') {
        void answerKey(keys, reply.id, reply.kid).then((answer) => {
          if (!closing) thread.worker.postMessage(answer);
        });
        return;
      }
      const pending = thread.batches.get(reply.id);
      thread.batches.delete(reply.id);
      if (reply.kind === 'verdicts') pending?.resolve(reply.verdicts);
      else pending?.reject(workerFailed(reply.error));
    });
    thread.worker.on('error', (err) => {
      failAll(workerFailed(err.message));
    });
    thread.worker.on('exit', (code) => {
      if (!closing) failAll(workerFailed(`exited with code ${code}`));
    });
    return thread;
  });
  const verifier: ReportVerifier = {
    workers: size,
    verify(batch) {
      // The least busy worker: batches are alike, so this spreads them evenly.
      const thread = threads.reduce((a, b) => (b.batches.size < a.batches.size ? b : a));
      if (thread.failed !== undefined) return Promise.reject(thread.failed);
      const id = nextId++;
      const { packed, transfer } = pack(batch);
      return new Promise<Verdict[]>((resolve, reject) => {
        thread.batches.set(id, { resolve, reject });
        thread.worker.postMessage(
          { kind: 'verify', id, batch: packed } satisfies Request,
          transfer,
        );
      });
    },
    async [Symbol.asyncDispose]() {
      closing = true;
      const closed = workerFailed('the verifier is closed');
      for (const t of threads) {
        t.failed ??= closed;
        for (const pending of t.batches.values()) pending.reject(closed);
        t.batches.clear();
      }
      await Promise.all(threads.map((t) => t.worker.terminate()));
    },
  };
  try {
    // Loaded before the first read: a worker compiling its modules competes for the CPU.
    await Promise.all(ready);
  } catch (err) {
    await verifier[Symbol.asyncDispose]();
    throw err instanceof MosaicError ? err : workerFailed(String(err));
  }
  return verifier;
}

/**
 * The default number of verifying worker threads on a machine of `cores`: one per core (none
 * on one core). `verifyReport` checks the signature with node:crypto on the thread that
 * calls it, so only worker threads spread the Ed25519 work and the other checks; the main
 * thread, which reads the stream and writes the output, is idle most of the time and does
 * not need a core of its own (100,000 reports on two cores: 9,772/s with two workers,
 * 7,804/s with one).
 */
export function defaultVerifyWorkers(cores: number): number {
  return cores > 1 ? cores : 0;
}

/**
 * A verifier on `workers` worker threads, resolved once every worker has loaded, or on
 * this thread when `workers` is 0.
 *
 * @example
 * ```ts
 * await using verifier = await startReportVerifier(availableParallelism(), keys);
 * const verdicts = await verifier.verify([{ data: m.data, storedMs: m.time.getTime() }]);
 * ```
 */
export async function startReportVerifier(
  workers: number,
  keys: KeyLookup,
): Promise<ReportVerifier> {
  return workers === 0 ? inThread(keys) : onWorkers(workers, keys);
}
