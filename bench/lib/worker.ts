/**
 * A worker thread of the benchmark: Ed25519 and `verifyReport` rate loops, batch signing
 * and batch verification (replay). Started by `pool.ts`; one task at a time.
 */
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { reportSubject } from '@mosaic/protocol';
import { staticKeyLookup, verifyReport, type KeyRecord } from '@mosaic/signing';
import { fastSigner, benchReport } from './fixtures.ts';

export type Task =
  | { kind: 'crypto-verify'; jws: string; publicJwk: object; durationMs: number }
  | { kind: 'verify-report'; jws: string; records: KeyRecord[]; durationMs: number }
  | { kind: 'sign'; privateJwk: object; issuer: string; from: number; count: number }
  | { kind: 'verify-batch'; items: { jws: Uint8Array; storedMs: number }[]; records: KeyRecord[] };

export interface SignedItem {
  jws: string;
  reportId: string;
  /** Its REPORTS subject. */
  subject: string;
}

export type TaskResult =
  | { kind: 'count'; count: number; ms: number }
  | { kind: 'signed'; items: SignedItem[] }
  | { kind: 'verified'; ok: number; failed: number; ms: number };

/** Ed25519 verifications of the JWS signing input in a tight loop. */
export function cryptoVerifyLoop(jws: string, publicJwk: object, durationMs: number): TaskResult {
  const key = createPublicKey({ key: publicJwk as never, format: 'jwk' });
  const dot = jws.lastIndexOf('.');
  const input = Buffer.from(jws.slice(0, dot));
  const signature = Buffer.from(jws.slice(dot + 1), 'base64url');
  const start = performance.now();
  let count = 0;
  while (performance.now() - start < durationMs) {
    for (let i = 0; i < 100; i++) if (verify(null, input, key, signature)) count++;
  }
  return { kind: 'count', count, ms: performance.now() - start };
}

/** Ed25519 signatures of the JWS signing input (what `fastSigner` signs) in a tight loop. */
export function cryptoSignLoop(jws: string, privateJwk: object, durationMs: number): TaskResult {
  const key = createPrivateKey({ key: privateJwk as never, format: 'jwk' });
  const input = Buffer.from(jws.slice(0, jws.lastIndexOf('.')));
  const start = performance.now();
  let count = 0;
  while (performance.now() - start < durationMs) {
    for (let i = 0; i < 100; i++) if (sign(null, input, key).byteLength === 64) count++;
  }
  return { kind: 'count', count, ms: performance.now() - start };
}

/** `verifyReport` of one JWS in a loop, 16 at a time (it is async). */
export async function verifyReportLoop(
  jws: string,
  records: KeyRecord[],
  durationMs: number,
): Promise<TaskResult> {
  const keys = staticKeyLookup(records);
  const start = performance.now();
  let count = 0;
  while (performance.now() - start < durationMs) {
    const batch = await Promise.all(Array.from({ length: 16 }, () => verifyReport(jws, keys)));
    count += batch.length;
  }
  return { kind: 'count', count, ms: performance.now() - start };
}

/** Verifies stored reports as replay does: the stored time admits keys revoked later. */
export async function verifyBatch(
  items: { jws: Uint8Array; storedMs: number }[],
  records: KeyRecord[],
): Promise<TaskResult> {
  const keys = staticKeyLookup(records);
  const start = performance.now();
  let ok = 0;
  let failed = 0;
  for (const item of items) {
    try {
      await verifyReport(item.jws, keys, { acceptRevokedBefore: new Date(item.storedMs) });
      ok++;
    } catch {
      failed++;
    }
  }
  return { kind: 'verified', ok, failed, ms: performance.now() - start };
}

async function run(task: Task): Promise<TaskResult> {
  switch (task.kind) {
    case 'crypto-verify':
      return cryptoVerifyLoop(task.jws, task.publicJwk, task.durationMs);
    case 'verify-report':
      return verifyReportLoop(task.jws, task.records, task.durationMs);
    case 'sign': {
      const signer = fastSigner(task.privateJwk);
      const items = Array.from({ length: task.count }, (_, i) => {
        const report = benchReport(task.issuer, task.from + i) as Parameters<
          typeof reportSubject
        >[0];
        return { jws: signer(report), reportId: report.reportId, subject: reportSubject(report) };
      });
      return { kind: 'signed', items };
    }
    case 'verify-batch':
      return verifyBatch(task.items, task.records);
  }
}

parentPort?.on('message', (task: Task) => {
  run(task).then(
    (result) => parentPort?.postMessage({ ok: true, result }),
    (err: unknown) => parentPort?.postMessage({ ok: false, error: String(err) }),
  );
});
