import { spawnSync } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode, isMosaicError } from '@mosaic/errors';
import { startHub } from '../src/index.ts';
import { quietLog, tempDir } from './helpers.ts';

/** Every path under `dir` with its size and modification time. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    const s = await stat(path);
    out.set(path, `${entry.isDirectory() ? 'd' : 'f'} ${s.size} ${s.mtimeMs} ${s.mode}`);
  }
  return out;
}

/** The pid of a process that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

describe('the data dir lock', () => {
  it('a second hub on a running hub’s dir fails with ERR_HUB_LOCKED and touches nothing', async () => {
    await using dir = await tempDir();
    const hub = await startHub({ dataDir: dir.path, port: 0, log: quietLog });
    try {
      expect(await readFile(join(dir.path, 'hub.lock'), 'utf8')).toBe(`${process.pid}\n`);
      const before = await snapshot(dir.path);
      const second = await startHub({ dataDir: dir.path, port: 0, log: quietLog }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(isMosaicError(second, ErrorCode.HubLocked), String(second)).toBe(true);
      expect((second as Error).message).toContain(
        `another hub (pid ${process.pid}) is using ${dir.path}`,
      );
      expect(await snapshot(dir.path)).toEqual(before);
    } finally {
      await hub.stop();
    }
    expect(await readdir(dir.path)).not.toContain('hub.lock');
    // Released: the dir serves a hub again.
    await using again = await startHub({ dataDir: dir.path, port: 0, log: quietLog });
    expect(again.url).toMatch(/^nats:/);
  });

  it('a lock left by a process that died is taken over', async () => {
    await using dir = await tempDir();
    const pid = deadPid();
    await writeFile(join(dir.path, 'hub.lock'), `${pid}\n`);
    await using hub = await startHub({ dataDir: dir.path, port: 0, log: quietLog });
    expect(await readFile(join(dir.path, 'hub.lock'), 'utf8')).toBe(`${process.pid}\n`);
    expect((await readdir(dir.path)).filter((f) => f.includes('.stale'))).toEqual([]);
    expect(hub.url).toMatch(/^nats:/);
  });
});
