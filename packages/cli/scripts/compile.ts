/**
 * Compiles the mosaic command into `packages/cli/dist/mosaic.mjs`, which its bin runs
 * while no source it was built from has changed since (otherwise it runs the TypeScript
 * source through tsx). `npm ci`, `npm run setup` and `npm test` run this; `--quiet` prints
 * nothing when it succeeds.
 */
import { fileURLToPath } from 'node:url';
import { compile } from '../src/compile.ts';

const entry = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const outfile = fileURLToPath(new URL('../dist/mosaic.mjs', import.meta.url));
const started = performance.now();
const { inputs } = await compile({ entry, outfile });
if (!process.argv.includes('--quiet'))
  process.stdout.write(
    `compiled the mosaic command from ${String(inputs.length)} files into ${outfile} in ${String(Math.round(performance.now() - started))} ms\n`,
  );
