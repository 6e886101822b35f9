import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HUB_NODE_FLAGS } from '@mosaic/hub';

const bin = fileURLToPath(new URL('../bin/mosaic.js', import.meta.url));
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
    expect(shebang).toBe(`#!/usr/bin/env -S node ${HUB_NODE_FLAGS.join(' ')}`);
    // Linux before 5.1 reads at most 127 bytes of it.
    expect(Buffer.byteLength(shebang)).toBeLessThan(128);
  });

  it('names V8 flags this node knows (an unknown one stops node before the command runs)', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--v8-options'], {
      maxBuffer: 16 * 1024 * 1024,
    });
    for (const flag of HUB_NODE_FLAGS) expect(stdout).toContain(`  ${flag.split('=')[0] ?? ''} (`);
  });

  it('run as a program (as npm start, npx and the systemd units run it), its node has those settings', async () => {
    // A module node loads before the command, through NODE_OPTIONS: it writes the node
    // options the process was started with, which the shebang's are part of.
    const argvFile = join(dir, 'exec-argv.json');
    const preload = join(dir, 'exec-argv.cjs');
    await writeFile(
      preload,
      `require('node:fs').writeFileSync(${JSON.stringify(argvFile)}, JSON.stringify(process.execArgv));\n`,
    );
    const { stdout } = await promisify(execFile)(bin, ['--version'], {
      env: { ...process.env, NODE_OPTIONS: `--require=${JSON.stringify(preload)}` },
    });
    expect(stdout.trim()).toBe(version);
    const execArgv = JSON.parse(await readFile(argvFile, 'utf8')) as string[];
    expect(execArgv.slice(0, HUB_NODE_FLAGS.length)).toEqual([...HUB_NODE_FLAGS]);
  });
});
