import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import setupGlobal from '../src/global-setup.ts';
import { isRunning, reapRegisteredServers, runDirEnv, testNatsMode } from '../src/index.ts';

const fixture = fileURLToPath(new URL('./fixtures/child-server.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

let runDir: string;
const owners: ChildProcess[] = [];
beforeEach(() => {
  // A private run directory, so reaping here cannot touch other test files' servers.
  runDir = mkdtempSync(join(tmpdir(), 'testkit-cleanup-'));
});
afterEach(async () => {
  // A failed test may leave its owner process running; end it before reaping its servers.
  await Promise.all(
    owners.splice(0).map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }),
  );
  await reapRegisteredServers(runDir);
  rmSync(runDir, { recursive: true, force: true });
});

/** Starts the fixture in a child node process; resolves once its server is up. */
function startChild(mode: 'exit' | 'wait', dir = runDir) {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, mode], {
    cwd: repoRoot,
    env: { ...process.env, [runDirEnv]: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  owners.push(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
    }),
  );
  const server = new Promise<{ pid: number; dir: string }>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line !== undefined)
        resolve(JSON.parse(line) as { pid: number; dir: string });
    });
    void exited.then(({ code }) => {
      reject(new Error(`child exited (${code}) early: ${stderr}`));
    });
  });
  return { child, exited, server };
}

async function gone(pid: number): Promise<boolean> {
  await expect.poll(() => isRunning(pid), { timeout: 5_000, interval: 20 }).toBe(false);
  return true;
}

describe.skipIf(testNatsMode() !== 'local')(
  'servers die with the process that started them',
  () => {
    it('on process.exit (synchronous exit handler)', async () => {
      const { exited, server } = startChild('exit');
      const { pid, dir } = await server;
      expect(await exited).toEqual({ code: 0, signal: null });
      expect(await gone(pid)).toBe(true);
      // The exit handler could not remove the temp dir; the reaper does.
      expect(await reapRegisteredServers(runDir)).toEqual([]);
      expect(existsSync(dir)).toBe(false);
    });

    it('on SIGTERM, and the process still ends by that signal', async () => {
      const { child, exited, server } = startChild('wait');
      const { pid, dir } = await server;
      expect(isRunning(pid)).toBe(true);
      child.kill('SIGTERM');
      expect(await exited).toEqual({ code: null, signal: 'SIGTERM' });
      expect(await gone(pid)).toBe(true);
      await reapRegisteredServers(runDir);
      expect(existsSync(dir)).toBe(false);
    });

    it('on SIGKILL of the owner, through the pid registry (reapRegisteredServers)', async () => {
      const { child, exited, server } = startChild('wait');
      const { pid, dir } = await server;
      expect(readdirSync(runDir)).toEqual([`nats-server-${pid}.json`]);
      child.kill('SIGKILL');
      expect(await exited).toEqual({ code: null, signal: 'SIGKILL' });
      // Nothing could run in the owner: the orphaned server is still up…
      expect(isRunning(pid)).toBe(true);
      // …until the reaper kills it.
      expect(await reapRegisteredServers(runDir)).toEqual([pid]);
      expect(await gone(pid)).toBe(true);
      expect(readdirSync(runDir)).toEqual([]);
      expect(existsSync(dir)).toBe(false);
    });

    it('after a worker was SIGKILLed, through the vitest global teardown', async () => {
      const outer = process.env[runDirEnv];
      const teardown = await setupGlobal();
      const globalRunDir = process.env[runDirEnv] ?? '';
      process.env[runDirEnv] = outer ?? '';
      try {
        expect(globalRunDir).not.toBe(outer);
        const { child, exited, server } = startChild('wait', globalRunDir);
        const { pid, dir } = await server;
        child.kill('SIGKILL');
        await exited;
        expect(isRunning(pid)).toBe(true);
        await teardown();
        expect(await gone(pid)).toBe(true);
        expect(existsSync(globalRunDir)).toBe(false);
        expect(existsSync(dir)).toBe(false);
      } finally {
        await teardown();
      }
    });
  },
);
