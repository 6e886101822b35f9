#!/usr/bin/env -S node --heap-growing-percent=50
// The node flag is the V8 setting of every mosaic process, MOSAIC_NODE_FLAGS of @mosaic/hub
// (why: its doc comment); a hub process gets HUB_NODE_FLAGS from what starts it. The
// command runs compiled (../dist/mosaic.mjs, which `npm ci`, `npm run setup`, `npm test`
// and `npm run compile` build) while every file it was built from is as it was then;
// otherwise from its TypeScript source through tsx, which costs a hub ~45 MB more
// (docs/architecture.md, "Source first").
import { closeSync, openSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = new URL('../dist/mosaic.mjs', import.meta.url);
// Its manifest: the build, the repository it was built in, then `<size> <mtimeMs> <path>`
// for each file it was built from.
const manifest = new URL('../dist/mosaic.inputs', import.meta.url);

/** The compiled module's first line, which names its build. */
function firstLine() {
  const fd = openSync(compiled, 'r');
  try {
    const head = Buffer.alloc(200);
    return head
      .subarray(0, readSync(fd, head, 0, head.length, 0))
      .toString('utf8')
      .split('\n')[0];
  } finally {
    closeSync(fd);
  }
}

/** True when the compiled copy is whole, was built here, and no file it was built from changed. */
function compiledIsCurrent() {
  let lines;
  let head;
  let root;
  try {
    lines = readFileSync(manifest, 'utf8').split('\n').filter(Boolean);
    head = firstLine();
    root = realpathSync(fileURLToPath(new URL('../../../', import.meta.url)));
  } catch {
    return false;
  }
  const [build, builtIn, ...inputs] = lines;
  if (build === undefined || !head.includes(JSON.stringify(build))) return false;
  if (builtIn !== root || inputs.length === 0) return false;
  return inputs.every((line) => {
    const [size, mtimeMs, ...path] = line.split(' ');
    const stat = statSync(path.join(' '), { throwIfNoEntry: false });
    return stat !== undefined && String(stat.size) === size && String(stat.mtimeMs) === mtimeMs;
  });
}

/** The command from its TypeScript source. */
async function fromSource() {
  const { register } = await import('tsx/esm/api');
  register();
  return import('../src/main.ts');
}

/* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access -- the compiled copy of src/main.ts, which has no types of its own */
let cli;
if (compiledIsCurrent()) {
  try {
    cli = await import(compiled.href);
  } catch (err) {
    process.stderr.write(
      `mosaic: the compiled copy ${fileURLToPath(compiled)} did not load (${String(err)}); running from source (npm run compile rebuilds it)\n`,
    );
  }
}
cli ??= await fromSource();
process.exitCode = await cli.run(process.argv.slice(2));
