/**
 * A worker thread of `verify-pool.ts`: verifies batches of stored reports with
 * `verifyReport`, asking the parent for each key id it has not resolved to a record yet.
 */
import { parentPort } from 'node:worker_threads';
import { MosaicError, type ErrorCode } from '@mosaic/errors';
import type { KeyLookup, KeyRecord } from '@mosaic/signing';
import { verdictOf, type Verdict } from './verify-pool.ts';

/** From the parent: a batch (bytes back to back, `ends[i]` where report i ends), or a key. */
export type Request =
  | {
      kind: 'verify';
      id: number;
      batch: { bytes: Uint8Array; ends: Uint32Array; stored: Float64Array };
    }
  | {
      kind: 'key';
      id: number;
      record?: KeyRecord;
      error?: { code: string; message: string };
      fatal?: string;
    };

/** To the parent: a batch's verdicts in order, its failure, or a key request. */
export type Reply =
  | { kind: 'verdicts'; id: number; verdicts: Verdict[] }
  | { kind: 'failed'; id: number; error: string }
  | { kind: 'key'; id: number; kid: string }
  | { kind: 'ready' };

function parent(): NonNullable<typeof parentPort> {
  if (parentPort === null) throw new Error('verify-worker.ts runs as a worker thread');
  return parentPort;
}
const port = parent();

let nextKey = 0;
const asked = new Map<number, (answer: Extract<Request, { kind: 'key' }>) => void>();
/** Key ids resolved to a record; a miss or a failure is asked again next time. */
const known = new Map<string, Promise<KeyRecord | undefined>>();

function ask(kid: string): Promise<KeyRecord | undefined> {
  const id = nextKey++;
  return new Promise((resolve, reject) => {
    asked.set(id, (answer) => {
      if (answer.error !== undefined)
        reject(new MosaicError(answer.error.code as ErrorCode, answer.error.message));
      else if (answer.fatal !== undefined) reject(new Error(answer.fatal));
      else resolve(answer.record);
    });
    port.postMessage({ kind: 'key', id, kid } satisfies Reply);
  });
}

const keys: KeyLookup = {
  resolve(kid) {
    let record = known.get(kid);
    if (record === undefined) {
      record = ask(kid);
      known.set(kid, record);
      record.then(
        (r) => {
          if (r === undefined) known.delete(kid);
        },
        () => known.delete(kid),
      );
    }
    return record;
  },
};

async function verifyBatch(
  batch: Extract<Request, { kind: 'verify' }>['batch'],
): Promise<Verdict[]> {
  const { bytes, ends, stored } = batch;
  return Promise.all(
    Array.from(ends, (end, i) =>
      verdictOf(
        { data: bytes.subarray(i === 0 ? 0 : (ends[i - 1] ?? 0), end), storedMs: stored[i] ?? 0 },
        keys,
      ),
    ),
  );
}

port.on('message', (request: Request) => {
  if (request.kind === 'key') {
    asked.get(request.id)?.(request);
    asked.delete(request.id);
    return;
  }
  verifyBatch(request.batch).then(
    (verdicts) => {
      port.postMessage({ kind: 'verdicts', id: request.id, verdicts } satisfies Reply);
    },
    (err: unknown) => {
      port.postMessage({
        kind: 'failed',
        id: request.id,
        error: err instanceof Error ? err.message : String(err),
      } satisfies Reply);
    },
  );
});
port.postMessage({ kind: 'ready' } satisfies Reply);
