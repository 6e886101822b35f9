/**
 * Latency to check 1,000 selectors against private holdings through a real single-node hub
 * (`hubCorrelation` of bench/lib/holdings.ts, which the `correlation` stage of
 * `npm run bench` also runs): ro-dicot registers 1,000 phone holdings, de-bka checks 1,000
 * phone numbers of which half are held. Prints JSON and writes it to the file given.
 *
 *   npx tsx packages/cli/bench/holdings-check.ts [result.json] [--rounds 3]
 */
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { hubCorrelation } from '../../../bench/lib/holdings.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string', default: '3' } },
});
const { holdings } = await hubCorrelation({ selectors: 1_000, rounds: Number(values.rounds) });
const result = {
  stage: 'holdings-check',
  ...holdings,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
  node: process.version,
};
const text = JSON.stringify(result, null, 2);
process.stdout.write(`${text}\n`);
if (positionals[0] !== undefined) await writeFile(positionals[0], `${text}\n`);
