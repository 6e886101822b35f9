// Build and verify rate of a 100,000-entry audit log: `npx tsx packages/audit-log/bench/verify-100k.ts`.
import { performance } from 'node:perf_hooks';
import { generateHubKey, hubJwks, hubKeysFromJwks, verifyAuditLog } from '../src/index.ts';
import { buildLog } from '../test/support/log.ts';

const n = Number(process.argv[2] ?? 100_000);
const key = await generateHubKey('mosaic-hub');
let t = performance.now();
const { items, checkpoints } = buildLog(key, n, 1_000);
const buildMs = performance.now() - t;
t = performance.now();
const verdict = await verifyAuditLog(items, checkpoints, hubKeysFromJwks(hubJwks([key])));
const verifyMs = performance.now() - t;
const rate = (ms: number): number => Math.round(n / (ms / 1000));
process.stdout.write(
  `${JSON.stringify({ entries: n, checkpoints: checkpoints.length, ok: verdict.ok, buildMs: Math.round(buildMs), buildPerSec: rate(buildMs), verifyMs: Math.round(verifyMs), verifyPerSec: rate(verifyMs) })}\n`,
);
