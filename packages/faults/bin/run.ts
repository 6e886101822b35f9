/**
 * `npm run faults` — the fault-injection suite (not part of `npm test`, whose smoke run is
 * packages/faults/test/smoke.test.ts). Each fault runs on a fresh local 3-node cluster with
 * the services as separate processes, under publish load, and ends with the shared
 * invariant check. Prints a table and writes `packages/faults/results/<timestamp>.json`.
 *
 *   npm run faults                  every fault, full sizes
 *   npm run faults -- --quick       the smoke sizes (one short cycle each)
 *   npm run faults -- --long        F1 and F3 with 200 cycles each
 *   npm run faults -- --only=F4     the partition (nodes in network namespaces: needs root)
 *   options: --only=F1,F3  --cycles=N  --shared (one cluster for all)  --keep (the cluster
 *            directories)  --out=<file>  --help
 * Exits 0 when every verdict is `pass` (a loss the check `detected` is not a pass).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureNatsServer } from '@mosaic/nats-server';
import {
  FaultIds,
  fullSizes,
  renderFaultTable,
  runFaults,
  smokeSizes,
  type FaultId,
  type FaultResult,
} from '../src/index.ts';

const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(`--${name}`);
const option = (name: string): string | undefined =>
  argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

const usage = `Usage: npm run faults -- [--quick | --long] [--only=F1,F3] [--cycles=N] [--shared]
                          [--keep] [--out=<file>]
Each fault on a fresh local 3-node cluster (services as separate processes) under publish
load, then the shared invariant check; prints a table and writes
packages/faults/results/<timestamp>.json. Faults, in this order: ${FaultIds.join(', ')}.
  F1 node crash        SIGKILL a node (the REPORTS leader every 3rd cycle), restart
  F2 cluster crash     SIGKILL all three nodes at once, restart
  F3 pause             SIGSTOP the REPORTS leader beyond the election timeout, SIGCONT
  F4 partition         every node in a network namespace of its own; cut one off (its link
                       down: no node, no client reaches it) for 30 s (--quick 10 s), the
                       REPORTS leader every other cycle, then heal. Needs root (ip netns);
                       otherwise it fails with ERR_NETWORK_NAMESPACE
  F10 unsafe config    restart a node without sync_interval: always, read /readyz
  F7 store limit       REPORTS max_msgs just above what it holds, then lifted
  F9 clock skew        services under faketime +5 min, -5 min, ingest at -6 min
  F8 file corruption   damage a stopped follower's message blocks, move leadership to it
Options:
  --quick       the smoke sizes (one short cycle each)
  --long        F1 and F3 with 200 cycles each
  --only=<ids>  these faults only, comma-separated
  --cycles=N    cycles of F1, F3 and F4
  --shared      one cluster for all the faults (with F4 among them, all in namespaces)
  --keep        keep the clusters' directories (node logs, stores)
  --out=<file>  where to write the results
`;
if (flag('help')) {
  process.stdout.write(usage);
  process.exit(0);
}

const long = flag('long');
const known = new Set<string>(FaultIds);
const only = (option('only') ?? (long ? 'F1,F3' : FaultIds.join(',')))
  .split(',')
  .map((s) => s.trim());
const unknown = only.filter((id) => !known.has(id));
if (unknown.length > 0) {
  process.stderr.write(`unknown fault ${unknown.join(', ')}; known: ${FaultIds.join(', ')}\n`);
  process.exit(2);
}
const base = flag('quick') ? smokeSizes : fullSizes;
const cycles = Number(option('cycles') ?? (long ? 200 : base.cycles));
const sizes = { ...base, cycles };
const log = (line: string): void => {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
};

const binary = await ensureNatsServer();
const started = new Date();
const results: FaultResult[] = await runFaults(only as FaultId[], {
  sizes,
  log,
  keep: flag('keep'),
  shared: flag('shared'),
});

const out =
  option('out') ??
  join(
    fileURLToPath(new URL('../results/', import.meta.url)),
    `${started.toISOString().replace(/[:.]/g, '-')}.json`,
  );
await mkdir(dirname(out), { recursive: true });
await writeFile(
  out,
  `${JSON.stringify(
    {
      startedAt: started.toISOString(),
      seconds: Math.round((Date.now() - started.getTime()) / 1000),
      machine: { cores: cpus().length, loadavg: loadavg() },
      natsServer: binary.version,
      mode: long ? 'long' : flag('quick') ? 'quick' : 'full',
      sizes,
      results,
    },
    null,
    2,
  )}\n`,
);
process.stdout.write(`${renderFaultTable(results)}\n`);
log(`written ${out}`);
process.exitCode = results.every((r) => r.verdict === 'pass') ? 0 : 1;
