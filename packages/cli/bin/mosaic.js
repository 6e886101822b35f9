#!/usr/bin/env -S node --heap-growing-percent=50
// The node flag is the V8 setting of every mosaic process, HUB_NODE_FLAGS of @mosaic/hub
// (why: its doc comment). The command runs compiled (../dist/mosaic.mjs, which `npm ci`,
// `npm start`, `npm run setup` and `npm test` build) while no file it was built from has
// changed since; otherwise from its TypeScript source through tsx, which costs a process
// ~75–90 MB more.
import { readFileSync, statSync } from 'node:fs';

const compiled = new URL('../dist/mosaic.mjs', import.meta.url);
// Its manifest: the time the build started (ms), then each file it read, one per line.
const manifest = new URL('../dist/mosaic.inputs', import.meta.url);
// A file saved this shortly before the build started counts as newer than the build: some
// file systems keep modification times to the second or two.
const MARGIN_MS = 2_000;

/** True when the compiled copy exists and every file it was built from is older. */
function compiledIsCurrent() {
  let lines;
  try {
    lines = readFileSync(manifest, 'utf8').split('\n').filter(Boolean);
    statSync(compiled);
  } catch {
    return false;
  }
  const [builtAt, ...inputs] = lines;
  const since = Number(builtAt) - MARGIN_MS;
  if (!Number.isFinite(since) || inputs.length === 0) return false;
  return inputs.every((input) => {
    const stat = statSync(input, { throwIfNoEntry: false });
    return stat !== undefined && stat.mtimeMs < since;
  });
}

/* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access -- the compiled copy of src/main.ts, which has no types of its own */
const cli = compiledIsCurrent()
  ? await import(compiled.href)
  : await import('tsx/esm/api').then(({ register }) => {
      register();
      return import('../src/main.ts');
    });
process.exitCode = await cli.run(process.argv.slice(2));
