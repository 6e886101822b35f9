/**
 * vitest global setup (see vitest.config.ts): fetches nats-server once before any worker
 * starts, and gives the workers a run directory where every spawned server registers its
 * pid; the teardown kills whatever is still registered (e.g. a worker killed with SIGKILL
 * could not stop its servers) and removes the directory. Run directories of earlier runs
 * whose vitest process is gone (killed before its teardown) are reaped at setup.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureNatsServer } from '@mosaic/nats-server';
import { isRunning, reapRegisteredServers, runDirEnv } from './children.ts';
import { testNatsMode } from './mode.ts';

const runDirPrefix = 'mosaic-testkit-run-';

async function reap(runDir: string): Promise<void> {
  const reaped = await reapRegisteredServers(runDir);
  if (reaped.length > 0)
    process.stderr.write(
      `testkit: killed ${reaped.length} nats-server process(es) left behind by a test run: ${reaped.join(', ')}\n`,
    );
  await rm(runDir, { recursive: true, force: true });
}

async function reapAbandonedRuns(): Promise<void> {
  for (const name of await readdir(tmpdir())) {
    if (!name.startsWith(runDirPrefix)) continue;
    const dir = join(tmpdir(), name);
    const owner = await readFile(join(dir, 'owner'), 'utf8').then(
      (text) => Number.parseInt(text, 10),
      (err: unknown) => {
        if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return undefined;
        throw err;
      },
    );
    if (owner !== undefined && !Number.isNaN(owner) && !isRunning(owner)) await reap(dir);
  }
}

export default async function setup(): Promise<() => Promise<void>> {
  if (testNatsMode() === 'local') await ensureNatsServer();
  await reapAbandonedRuns();
  const runDir = await mkdtemp(join(tmpdir(), runDirPrefix));
  await writeFile(join(runDir, 'owner'), `${process.pid}\n`);
  // Forked workers inherit the environment as it is when they start, after this.
  process.env[runDirEnv] = runDir;
  return () => reap(runDir);
}
