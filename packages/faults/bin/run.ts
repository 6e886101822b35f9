/**
 * `npm run faults` — the fault-injection suite (not part of `npm test`, whose smoke run is
 * packages/faults/test/smoke.test.ts). Each fault runs on a fresh local 3-node cluster with
 * the services as separate processes, under publish load, and ends with the shared
 * invariant check. Prints a table and writes `packages/faults/results/<timestamp>.json`.
 *
 *   npm run faults                  every fault, full sizes
 *   npm run faults -- --quick       the smoke sizes (one short cycle each)
 *   npm run faults -- --long        F1 and F3 with 200 cycles each on two clusters at once,
 *                                   no harness waits beyond each cycle's checks; prints an estimate
 *   npm run faults -- --only=F4     the partition (nodes in network namespaces: needs root)
 *   options: --only=F1,F3  --cycles=N  --shared (one cluster for all)  --keep (the cluster
 *            directories)  --out=<file>  --help
 * Exits 0 when every verdict is `pass` (a loss the check `detected` is not a pass).
 * F5 and F6 run on a cluster where de-bka connects through a leaf node of its own.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureNatsServer } from '@mosaic/nats-server';
import {
  FaultIds,
  estimateLongRun,
  faultName,
  fullSizes,
  longSizes,
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

const usage = [
  'Usage: npm run faults -- [--quick | --long] [--only=F1,S2] [--cycles=N] [--shared] [--keep]',
  '                          [--out=<file>]',
  'Each fault on a fresh local 3-node cluster (services as separate processes) under publish',
  'load from three agencies, then the shared invariant check; prints a table and writes',
  'packages/faults/results/<timestamp>.json. Exits 0 when every verdict is `pass` (a loss the',
  'check `detected` is not a pass).',
  '',
  'Faults, in the order they run:',
  ...FaultIds.map((id) => `  ${id.padEnd(4)} ${faultName(id)}`),
  '',
  'F4 puts every node in a network namespace of its own and needs root (ip netns); without it',
  'it fails with ERR_NETWORK_NAMESPACE. S1-S3 run a second instance of the service and SIGKILL',
  'it while a burst of submissions is in flight, then restart it. F5 and F6 start the cluster',
  "with de-bka on a leaf node of its own (its reports queued in the leaf's OUTBOX, its alerts",
  "read from the leaf's copy); F5 slows its link through a relay in the harness (this kernel",
  'has no netem): 64 kbit/s and 200 ms each way.',
  '',
  'Options:',
  '  --quick       the smoke sizes (one short cycle each)',
  '  --long        F1 and F3 with 200 cycles each, on two clusters at the same time, no',
  '                waiting beyond what each cycle checks (F1 restarts at once; F3 resumes',
  '                the leader once another node leads); prints an estimate of its duration',
  '  --only=<ids>  these faults only, comma-separated (default: all)',
  '  --cycles=N    cycles of F1, F3, F4 and S1-S3',
  '  --shared      one cluster for all the faults instead of a fresh one each',
  "  --keep        keep the clusters' directories (node logs, stores, service logs in logs/)",
  '  --out=<file>  where to write the results',
  '',
].join('\n');
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
const base = long ? longSizes : flag('quick') ? smokeSizes : fullSizes;
const cycles = Number(option('cycles') ?? (long ? 200 : base.cycles));
const sizes = { ...base, cycles };
const log = (line: string): void => {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
};

if (long) log(estimateLongRun(only, cycles));
const binary = await ensureNatsServer();
const started = new Date();
const results: FaultResult[] = await runFaults(only as FaultId[], {
  sizes,
  log,
  keep: flag('keep'),
  shared: flag('shared'),
  parallel: long,
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
