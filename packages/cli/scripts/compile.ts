/**
 * Compiles the mosaic command into `packages/cli/dist/mosaic.mjs`, which its bin runs while
 * every file it was built from is as it was then (otherwise it runs the TypeScript source
 * through tsx). `npm ci`, `npm run setup`, `npm test`, `npm run bench` and `npm run compile`
 * run this. `--quiet` prints nothing when it succeeds; `--or-warn` (what
 * `npm ci` uses) reports a failure as a warning and exits 0, the command then running from
 * source.
 */
import { fileURLToPath } from 'node:url';
import { compile } from '../src/compile.ts';

const entry = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const outfile = fileURLToPath(new URL('../dist/mosaic.mjs', import.meta.url));
const started = performance.now();
try {
  const { inputs } = await compile({ entry, outfile });
  if (!process.argv.includes('--quiet'))
    process.stdout.write(
      `compiled the mosaic command from ${String(inputs.length)} files into ${outfile} in ${String(Math.round(performance.now() - started))} ms\n`,
    );
} catch (err) {
  if (!process.argv.includes('--or-warn')) throw err;
  process.stderr.write(
    `warning: the mosaic command was not compiled, it will run from source: ${String(err)}\n`,
  );
}
