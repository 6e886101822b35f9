/**
 * Latency to check 1,000 selectors against private holdings through a real single-node hub
 * (mosaic dev): ro-dicot registers 1,000 phone holdings, de-bka checks 1,000 phone numbers
 * of which half are held. Each figure is the wall time of the whole SDK call: canonical
 * selectors in, blinding, the key service's evaluations and proofs, unblinding, the holdings
 * requests, hit alerts and audit entries. Prints JSON and writes it to the file given.
 *
 *   npx tsx packages/cli/bench/holdings-check.ts [result.json] [--rounds 3]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startHub } from '@mosaic/hub';
import { createLogger } from '@mosaic/log';
import { checkSelectors, connectAgency, registerHoldings } from '@mosaic/sdk';
import { canonicalSelector } from '@mosaic/selectors';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string', default: '3' } },
});
const rounds = Number(values.rounds);
const N = 1_000;
const number = (i: number) => canonicalSelector('phone', `+4072${String(i).padStart(7, '0')}`);

const dir = await mkdtemp(join(tmpdir(), 'mosaic-bench-holdings-'));
const hub = await startHub({
  dataDir: dir,
  port: 0,
  log: createLogger({ service: 'hub', level: 'silent' }),
  selectorQuotaPerDay: 1_000_000,
});
try {
  const ro = await connectAgency({ context: join(hub.contextsDir, 'ro-dicot.json') });
  const de = await connectAgency({ context: join(hub.contextsDir, 'de-bka.json') });
  const holdings = Array.from({ length: N }, (_, i) => ({
    selector: number(2 * i),
    reference: `ro-${i}`,
  }));
  let start = performance.now();
  await registerHoldings(ro.connection, 'ro-dicot', holdings);
  const registerMs = performance.now() - start;
  const checkMs: number[] = [];
  let hits = 0;
  for (let r = 0; r < rounds; r++) {
    // Every other number is held: 500 hits, 500 no-hits (and 500 hit alerts) per round.
    const selectors = Array.from({ length: N }, (_, i) => number(i));
    start = performance.now();
    const { results } = await checkSelectors(de.connection, 'de-bka', selectors);
    checkMs.push(performance.now() - start);
    hits = [...results.values()].filter((x) => x.hit).length;
  }
  await ro.close();
  await de.close();
  const result = {
    stage: 'holdings-check',
    selectors: N,
    registerMs: Math.round(registerMs),
    checkMs: checkMs.map(Math.round),
    hitsLastRound: hits,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
    node: process.version,
  };
  const text = JSON.stringify(result, null, 2);
  process.stdout.write(`${text}\n`);
  if (positionals[0] !== undefined) await writeFile(positionals[0], `${text}\n`);
} finally {
  await hub.stop();
  await rm(dir, { recursive: true, force: true });
}
