import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, MosaicError, errnoOf, isProcessAlive } from '@mosaic/errors';

/** The lock a running hub holds on its data dir; release it once (idempotent). */
export interface DataDirLock {
  readonly path: string;
  release(): Promise<void>;
}

function ioError(path: string, cause: unknown): MosaicError {
  return new MosaicError(ErrorCode.Io, `cannot lock ${path}: ${(cause as Error).message}`, {
    details: { path },
    cause,
  });
}

/** The pid in a lock file; undefined when there is no file, NaN when it holds no pid. */
async function ownerOf(path: string): Promise<number | undefined> {
  try {
    const text = await readFile(path, 'utf8');
    return /^\d+\n?$/.test(text) ? Number.parseInt(text, 10) : Number.NaN;
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw ioError(path, err);
  }
}

/**
 * Moves a lock file whose owner `pid` is dead out of the way. Two hubs may find the same
 * stale lock; the rename lets only one of them take it, and a hub that moved a lock which
 * by then held a live pid puts it back (with `link`, which never replaces a file).
 */
async function takeOverStale(path: string, pid: number): Promise<void> {
  const aside = `${path}.${randomBytes(6).toString('hex')}.stale`;
  try {
    await rename(path, aside);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return;
    throw ioError(path, err);
  }
  const moved = await ownerOf(aside);
  if (moved !== undefined && moved !== pid && !Number.isNaN(moved) && isProcessAlive(moved))
    await link(aside, path).catch((err: unknown) => {
      if (errnoOf(err) !== 'EEXIST') throw ioError(path, err);
    });
  await unlink(aside).catch((err: unknown) => {
    if (errnoOf(err) !== 'ENOENT') throw ioError(aside, err);
  });
}

/**
 * Takes the exclusive lock of a hub data dir: `<dataDir>/hub.lock`, created with O_EXCL and
 * holding this process's pid. A lock whose pid is no longer running is taken over. Creates
 * `dataDir` (mode 0700) when missing and touches nothing else in it. Throws ERR_HUB_LOCKED
 * when another live process holds it.
 *
 * @example
 * ```ts
 * const lock = await lockDataDir('.mosaic');
 * try { … } finally { await lock.release(); }
 * ```
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const path = join(dataDir, 'hub.lock');
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw ioError(dataDir, err);
  }
  for (let attempt = 1; ; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o644);
      try {
        await handle.writeFile(`${process.pid}\n`, 'utf8');
      } finally {
        await handle.close();
      }
      break;
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw ioError(path, err);
    }
    const owner = await ownerOf(path);
    if (owner === undefined) continue;
    // A lock without a pid is one being written right now, or a crash in between: both
    // are treated as held, so a hub never starts on a dir another one is taking.
    if (Number.isNaN(owner) || isProcessAlive(owner) || attempt >= 5)
      throw new MosaicError(
        ErrorCode.HubLocked,
        `another hub (pid ${Number.isNaN(owner) ? 'unknown' : String(owner)}) is using ${dataDir}` +
          ` (lock ${path}; remove it only if no hub runs on this dir)`,
        { details: { dataDir, lock: path, pid: Number.isNaN(owner) ? null : owner } },
      );
    await takeOverStale(path, owner);
  }

  let released = false;
  // A process that exits without stop() (an uncaught error) still frees the dir.
  const onExit = (): void => {
    if (released) return;
    released = true;
    try {
      unlinkSync(path);
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw err;
    }
  };
  process.once('exit', onExit);
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      process.off('exit', onExit);
      // Only our own lock: never remove one a later hub took after a stale takeover.
      if ((await ownerOf(path)) !== process.pid) return;
      await unlink(path).catch((err: unknown) => {
        if (errnoOf(err) !== 'ENOENT') throw ioError(path, err);
      });
    },
  };
}
