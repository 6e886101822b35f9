/**
 * Memory and CPU per leaf of `MerkleLog` (the auditor keeps one over all of AUDIT, in
 * memory): RSS and V8 heap after appending `--leaves` leaf hashes, and CPU per append.
 * Run with `--expose-gc` so the figures are after a full collection. Prints JSON and writes
 * it to the file given.
 *
 *   node --expose-gc --import tsx packages/audit-log/bench/merkle-memory.ts [result.json] [--leaves 200000]
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { MerkleLog, leafHash } from '../src/index.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { leaves: { type: 'string', default: '200000' } },
});
const count = Number(values.leaves);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const hashes = Array.from({ length: 1_000 }, (_, i) =>
  leafHash(new TextEncoder().encode(`e${String(i)}`)),
);
gc();
const before = process.memoryUsage();
const log = new MerkleLog();
const cpu0 = process.cpuUsage();
for (let i = 0; i < count; i++) log.append(hashes[i % hashes.length] as Uint8Array);
const cpu = process.cpuUsage(cpu0);
gc();
const after = process.memoryUsage();
const perLeaf = (k: 'rss' | 'heapUsed' | 'arrayBuffers'): number =>
  Math.round((after[k] - before[k]) / count);
const result = {
  stage: 'merkle-memory',
  leaves: log.size,
  bytesPerLeaf: {
    rss: perLeaf('rss'),
    heapUsed: perLeaf('heapUsed'),
    arrayBuffers: perLeaf('arrayBuffers'),
  },
  appendCpuUs: Math.round(((cpu.user + cpu.system) / count) * 100) / 100,
  cpu: cpus()[0]?.model ?? 'unknown',
  node: process.version,
  loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
};
const text = JSON.stringify(result, null, 2);
process.stdout.write(`${text}\n`);
if (positionals[0] !== undefined) writeFileSync(positionals[0], `${text}\n`);
