/**
 * Key-service evaluation rate on one core, next to the raw ristretto255 scalar
 * multiplication rate measured in the same run (`oprfRates` of bench/lib/oprf.ts, which the
 * `correlation` stage of `npm run bench` also runs).
 *
 *   npx tsx packages/selectors/bench/oprf.ts [result.json] [--batch 64] [--seconds 3]
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { oprfRates } from '../../../bench/lib/oprf.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { batch: { type: 'string', default: '64' }, seconds: { type: 'string', default: '3' } },
});
const rates = oprfRates(Number(values.batch), Number(values.seconds));
const result = {
  ...rates,
  cpu: cpus()[0]?.model ?? 'unknown',
  node: process.version,
  // Other processes share the cores: read the rates next to each other, not alone.
  loadAverage: loadavg()[0],
};
process.stdout.write(
  `key-service evaluations/s (batch ${result.batch}, one core): ${result.evaluationsPerSecond}\n` +
    `ristretto255 scalar multiplications/s (same run):     ${result.scalarMultiplicationsPerSecond}\n` +
    `evaluations per multiplication: ${result.evaluationsPerMultiplication}\n`,
);
const out = positionals[0];
if (out !== undefined) writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
