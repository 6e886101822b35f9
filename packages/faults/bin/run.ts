/**
 * `npm run faults` — the fault-injection suite (not part of `npm test`, whose smoke run is
 * packages/faults/test/smoke.test.ts). Each fault runs on a fresh local 3-node cluster with
 * the services as separate processes, under publish load, and ends with the shared
 * invariant check. Prints a table and writes `packages/faults/results/<timestamp>.json`.
 *
 *   npm run faults                  every fault, full sizes
 *   npm run faults -- --quick       the smoke sizes (one short cycle each)
 *   npm run faults -- --long        F1 and F3 with 200 cycles each
 *   options: --only=F1,F3  --cycles=N  --shared (one cluster for all)  --keep (the cluster
 *            directories)  --out=<file>  --help
 * F5 and F6 run on a cluster where de-bka connects through a leaf node of its own.
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
Each fault on a fresh local 3-node cluster under publish load, then the shared invariant
check; prints a table and writes packages/faults/results/<timestamp>.json.
  F1 node crash  F2 whole cluster crash  F3 pause  F10 unsafe config  F7 store limit
  F9 clock skew  F8 file corruption
  F6 leaf outage: de-bka's leaf link cut, then its leaf node killed (60 s each; --quick 8 s)
  F5 slow leaf link: de-bka's leaf link at 64 kbit/s and 200 ms each way (60 s; --quick 10 s),
     through a relay in the harness (this kernel has no netem)
F5 and F6 start the cluster with de-bka on a leaf node of its own (its reports queued in
the leaf's OUTBOX, its alerts read from the leaf's copy).
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
