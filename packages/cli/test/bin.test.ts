import { execFile } from 'node:child_process';
import {
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  realpath,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HUB_NODE_FLAGS, MOSAIC_NODE_FLAGS } from '@mosaic/hub';
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
  dir = await mkdtemp(join(tmpdir(), 'mosaic-bin-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the mosaic command', () => {
  it('starts node with the V8 settings of every mosaic process', async () => {
    const shebang = (await readFile(bin, 'utf8')).split('\n')[0] ?? '';
    expect(shebang).toBe(`#!/usr/bin/env -S node ${MOSAIC_NODE_FLAGS.join(' ')}`);
    // Linux before 5.1 reads at most 127 bytes of it.
    expect(Buffer.byteLength(shebang)).toBeLessThan(128);
  });

  it('names V8 flags this node knows (an unknown one stops node before the command runs)', async () => {
    const { stdout } = await run(process.execPath, ['--v8-options'], {
      maxBuffer: 16 * 1024 * 1024,
    });
    for (const flag of HUB_NODE_FLAGS) expect(stdout).toContain(`  ${flag.split('=')[0] ?? ''} (`);
  });

  /**
   * Runs `file` with `args` and returns the node options its process was started with: a
   * module node loads before the command, through NODE_OPTIONS, writes them.
   */
  async function nodeOptionsOf(file: string, args: string[]): Promise<string[]> {
    const argvFile = join(dir, 'exec-argv.json');
    const preload = join(dir, 'exec-argv.cjs');
    await writeFile(
      preload,
      `require('node:fs').writeFileSync(${JSON.stringify(argvFile)}, JSON.stringify(process.execArgv));\n`,
    );
    const { stdout } = await run(file, args, {
      cwd: repoRoot,
      env: { ...process.env, NODE_OPTIONS: `--require=${JSON.stringify(preload)}` },
    });
    expect(stdout.trim()).toBe(version);
    return JSON.parse(await readFile(argvFile, 'utf8')) as string[];
  }

  it('run as a program (as npx runs it), its node has those settings', async () => {
    const execArgv = await nodeOptionsOf(bin, ['--version']);
    expect(execArgv.slice(0, MOSAIC_NODE_FLAGS.length)).toEqual([...MOSAIC_NODE_FLAGS]);
    // Not those only a hub process gets.
    expect(HUB_NODE_FLAGS.length).toBeGreaterThan(MOSAIC_NODE_FLAGS.length);
    for (const flag of HUB_NODE_FLAGS.slice(MOSAIC_NODE_FLAGS.length))
      expect(execArgv).not.toContain(flag);
  });

  it('npm start runs mosaic dev --demo in a node with the settings of a hub process', async () => {
    const manifest = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const words = (manifest.scripts['start'] ?? '').split(/\s+/);
    expect(words.slice(-2)).toEqual(['dev', '--demo']);
    expect(words[0]).toBe('node');
    // The same command line, asked for the version instead of starting a hub.
    const execArgv = await nodeOptionsOf(process.execPath, [...words.slice(1, -2), '--version']);
    expect(execArgv.slice(0, HUB_NODE_FLAGS.length)).toEqual([...HUB_NODE_FLAGS]);
  });
});

describe('the compiled mosaic command', () => {
  it('runs without tsx, finds the files its sources name relative to themselves, and lists what it was built from', async () => {
    const outfile = join(dir, 'out', 'mosaic.mjs');
    const manifest = await compile({ entry: mainTs, outfile });
    const paths = manifest.inputs.map((i) => i.path);
    expect(paths).toContain(mainTs);
    expect(paths).toContain(join(repoRoot, 'package-lock.json'));
    expect(paths).toContain(join(repoRoot, 'tsconfig.json'));
    expect(manifest.root).toBe(await realpath(repoRoot));
    const lines = (await readFile(join(dir, 'out', 'mosaic.inputs'), 'utf8')).trim().split('\n');
    expect(lines).toEqual([
      manifest.build,
      manifest.root,
      ...manifest.inputs.map((i) => `${String(i.size)} ${String(i.mtimeMs)} ${i.path}`),
    ]);
    // The module's first line names the build.
    expect((await readFile(outfile, 'utf8')).split('\n')[0]).toContain(
      JSON.stringify(manifest.build),
    );

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
    // A repository shaped like this one: the real bin in packages/cli/bin, a compiled copy and
    // a source that each say which one ran, and the repository's node_modules for tsx.
    let root: string;
    let cli: string;
    let input: string;
    const recorded = new Date('2026-01-01T00:00:00Z');
    const compiledSays = (build: string, what = "process.stdout.write('compiled')") =>
      `globalThis[Symbol.for('mosaic.build')] = ${JSON.stringify(build)};\n` +
      `export async function run() { ${what}; return 0; }\n`;
    const writeManifest = async (over: { build?: string; root?: string } = {}) => {
      const { size } = await stat(input);
      await writeFile(
        join(cli, 'dist', 'mosaic.inputs'),
        `${over.build ?? 'b1'}\n${over.root ?? (await realpath(root))}\n${String(size)} ${String(recorded.getTime())} ${input}\n`,
      );
    };
    const ran = async (): Promise<{ stdout: string; stderr: string }> =>
      run(process.execPath, [join(cli, 'bin', 'mosaic.js')], { cwd: dir });
    const ranWhich = async (): Promise<string> => (await ran()).stdout;

    beforeAll(async () => {
      root = join(dir, 'repo');
      cli = join(root, 'packages', 'cli');
      for (const sub of ['bin', 'dist', 'src']) await mkdir(join(cli, sub), { recursive: true });
      await copyFile(bin, join(cli, 'bin', 'mosaic.js'));
      await writeFile(join(cli, 'package.json'), '{ "type": "module" }\n');
      await symlink(join(repoRoot, 'node_modules'), join(root, 'node_modules'));
      await writeFile(
        join(cli, 'src', 'main.ts'),
        "export async function run() { process.stdout.write('source'); return 0; }\n",
      );
      await writeFile(join(cli, 'dist', 'mosaic.mjs'), compiledSays('b1'));
      input = join(cli, 'src', 'input.ts');
      await writeFile(input, 'one');
      await utimes(input, recorded, recorded);
      await writeManifest();
    });

    it('runs the compiled copy while every file it was built from has its recorded size and time', async () => {
      expect(await ranWhich()).toBe('compiled');
    });

    it('runs the source once a file it was built from changed: its time, either way, or its size', async () => {
      await utimes(input, new Date(recorded.getTime() + 1), new Date(recorded.getTime() + 1));
      expect(await ranWhich()).toBe('source');
      // An older time too: a release unpacked with the times it was packed with.
      await utimes(
        input,
        new Date(recorded.getTime() - 60_000),
        new Date(recorded.getTime() - 60_000),
      );
      expect(await ranWhich()).toBe('source');
      await writeFile(input, 'one more');
      await utimes(input, recorded, recorded);
      expect(await ranWhich()).toBe('source');
      await writeFile(input, 'one');
      await utimes(input, recorded, recorded);
      expect(await ranWhich()).toBe('compiled');
    });

    it('runs the source when a file it was built from is gone, or the manifest is', async () => {
      await rm(input);
      expect(await ranWhich()).toBe('source');
      await writeFile(input, 'one');
      await utimes(input, recorded, recorded);
      expect(await ranWhich()).toBe('compiled');
      const manifest = join(cli, 'dist', 'mosaic.inputs');
      const kept = await readFile(manifest, 'utf8');
      await writeFile(manifest, kept.split('\n').slice(0, 2).join('\n'));
      expect(await ranWhich()).toBe('source');
      await rm(manifest);
      expect(await ranWhich()).toBe('source');
      await writeFile(manifest, kept);
      expect(await ranWhich()).toBe('compiled');
    });

    it('runs the source when the compiled module is not the build its manifest names, or was built elsewhere', async () => {
      // Two builds at once: one's module, the other's manifest.
      await writeManifest({ build: 'b2' });
      expect(await ranWhich()).toBe('source');
      // An install copied or moved from where it was built.
      await writeManifest({ root: join(dir, 'elsewhere') });
      expect(await ranWhich()).toBe('source');
      await writeManifest();
      expect(await ranWhich()).toBe('compiled');
    });

    it('runs the source, saying why, when the compiled copy fails to load', async () => {
      const module = join(cli, 'dist', 'mosaic.mjs');
      await writeFile(module, `${compiledSays('b1')}import './missing.mjs';\n`);
      const { stdout, stderr } = await ran();
      expect(stdout).toBe('source');
      expect(stderr).toMatch(
        /^mosaic: the compiled copy \S+mosaic\.mjs did not load .*missing\.mjs.*; running from source/,
      );
      await writeFile(module, compiledSays('b1'));
      expect(await ranWhich()).toBe('compiled');
    });
  });

  it("is what the repository's bin runs once compiled, as npm ci and npm test compile it", async () => {
    // What `npm run compile` does; the preload reports the build the process ran.
    const built = await compile({
      entry: mainTs,
      outfile: join(repoRoot, 'packages', 'cli', 'dist', 'mosaic.mjs'),
    });
    const reported = join(dir, 'build.json');
    const preload = join(dir, 'report-build.cjs');
    await writeFile(
      preload,
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(reported)}, JSON.stringify(globalThis[Symbol.for('mosaic.build')] ?? null)));\n`,
    );
    const { stdout } = await run(bin, ['--version'], {
      env: { ...process.env, NODE_OPTIONS: `--require=${JSON.stringify(preload)}` },
    });
    expect(stdout.trim()).toBe(version);
    expect(JSON.parse(await readFile(reported, 'utf8'))).toBe(built.build);
  }, 120_000);
});
