import { execFile } from 'node:child_process';
import {
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../src/index.ts';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const bin = fileURLToPath(new URL('../bin/mosaic.js', import.meta.url));
const mainTs = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const version = (
  JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-compile-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the compiled mosaic command', () => {
  it('runs without tsx, finds the files its sources name relative to themselves, and lists what it was built from', async () => {
    const outfile = join(dir, 'out', 'mosaic.mjs');
    const before = Date.now();
    const manifest = await compile({ entry: mainTs, outfile });
    expect(manifest.builtAt).toBeGreaterThanOrEqual(before);
    expect(manifest.inputs).toContain(mainTs);
    expect(manifest.inputs).toContain(join(repoRoot, 'package-lock.json'));
    const lines = (await readFile(join(dir, 'out', 'mosaic.inputs'), 'utf8')).trim().split('\n');
    expect(lines).toEqual([String(manifest.builtAt), ...manifest.inputs]);

    // Run as the bin runs it, from another directory, with no loader: node and the file.
    const runner = join(dir, 'runner.mjs');
    await writeFile(
      runner,
      'const { run } = await import(process.argv[2]);\nprocess.exitCode = await run(process.argv.slice(3));\n',
    );
    const mosaic = (...args: string[]) =>
      run(process.execPath, [runner, outfile, ...args], { cwd: dir });
    expect((await mosaic('--version')).stdout.trim()).toBe(version);
    // `mosaic demo` reads the schema examples at a path relative to its source file.
    expect((await mosaic('demo')).stdout).toContain('ERR_SIG_INVALID');
    // A usage error is one, as from source.
    const usage = await mosaic('publish', '--no-such-option').catch(
      (err: unknown) => err as { code: number; stderr: string },
    );
    expect(usage).toMatchObject({ code: 2 });
  }, 120_000);

  describe('the bin', () => {
    // A tree shaped like packages/cli: the real bin, a compiled copy and a source that each
    // say which one ran, and the repository's node_modules for tsx.
    let tree: string;
    let input: string;
    const builtAt = Date.parse('2026-01-01T00:00:00Z');
    const setInputTime = async (ms: number): Promise<void> => {
      await utimes(input, new Date(ms), new Date(ms));
    };
    const ran = async (): Promise<string> =>
      (await run(process.execPath, [join(tree, 'bin', 'mosaic.js')], { cwd: tree })).stdout;

    beforeAll(async () => {
      tree = join(dir, 'tree');
      for (const sub of ['bin', 'dist', 'src']) await mkdir(join(tree, sub), { recursive: true });
      await copyFile(bin, join(tree, 'bin', 'mosaic.js'));
      await writeFile(join(tree, 'package.json'), '{ "type": "module" }\n');
      await symlink(join(repoRoot, 'node_modules'), join(tree, 'node_modules'));
      const says = (what: string) =>
        `export async function run() { process.stdout.write('${what}'); return 0; }\n`;
      await writeFile(join(tree, 'dist', 'mosaic.mjs'), says('compiled'));
      await writeFile(join(tree, 'src', 'main.ts'), says('source'));
      input = join(tree, 'src', 'input.ts');
      await writeFile(input, '');
      await writeFile(join(tree, 'dist', 'mosaic.inputs'), `${String(builtAt)}\n${input}\n`);
    });

    it('runs the compiled copy while every file it was built from is older than its build', async () => {
      await setInputTime(builtAt - 60_000);
      expect(await ran()).toBe('compiled');
    });

    it('runs the source once a file changed after the build, or within two seconds before it', async () => {
      await setInputTime(builtAt + 1);
      expect(await ran()).toBe('source');
      await setInputTime(builtAt - 1_000);
      expect(await ran()).toBe('source');
      await setInputTime(builtAt - 60_000);
      expect(await ran()).toBe('compiled');
    });

    it('runs the source when a file it was built from is gone, or the manifest is', async () => {
      await rm(input);
      expect(await ran()).toBe('source');
      await writeFile(input, '');
      await setInputTime(builtAt - 60_000);
      expect(await ran()).toBe('compiled');
      const manifest = join(tree, 'dist', 'mosaic.inputs');
      const kept = await readFile(manifest, 'utf8');
      await writeFile(manifest, `${String(builtAt)}\n`);
      expect(await ran()).toBe('source');
      await writeFile(manifest, `not a time\n${input}\n`);
      expect(await ran()).toBe('source');
      await rm(manifest);
      expect(await ran()).toBe('source');
      await writeFile(manifest, kept);
      expect(await ran()).toBe('compiled');
    });
  });
});
