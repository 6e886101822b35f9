import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, MosaicError, errnoOf, isProcessAlive } from '@mosaic/errors';

/**
 * Takes an exclusive lock shared between processes: a directory created with `mkdir`, which
 * is atomic. A lock whose owner process is gone is taken over. Resolves to the release
 * function.
 *
 * @example
 * ```ts
 * const release = await acquireLock(cacheDir, { onWait: log });
 * try { … } finally { await release(); }
 * ```
 */
export async function acquireLock(
  dir: string,
  options: {
    timeoutMs?: number;
    onWait?: (owner: string) => void;
    /** The code of the error thrown when the lock stays taken. Default: `ERR_DEBIAN_TOOL_UNAVAILABLE`. */
    code?: ErrorCode;
  } = {},
): Promise<() => Promise<void>> {
  const lock = join(dir, '.lock');
  const ownerFile = join(lock, 'owner');
  const deadline = Date.now() + (options.timeoutMs ?? 5 * 60_000);
  await mkdir(dir, { recursive: true });
  let told = false;
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(ownerFile, `${process.pid}\n`);
      return () => rm(lock, { recursive: true, force: true });
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw err;
    }
    const owner = await readFile(ownerFile, 'utf8').then(
      (text) => Number.parseInt(text, 10),
      (err: unknown) => {
        if (errnoOf(err) === 'ENOENT') return undefined;
        throw err;
      },
    );
    // Without an owner file the lock is either being created right now or was abandoned
    // between mkdir and writeFile; only the latter leaves it that way for long.
    const stale =
      owner === undefined
        ? await stat(lock).then(
            (s) => Date.now() - s.mtimeMs > 30_000,
            (err: unknown) => {
              if (errnoOf(err) === 'ENOENT') return false;
              throw err;
            },
          )
        : Number.isNaN(owner) || !isProcessAlive(owner);
    if (stale) {
      await rm(lock, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline)
      throw new MosaicError(
        options.code ?? ErrorCode.DebianToolUnavailable,
        `another setup (pid ${owner ?? 'unknown'}) still holds ${lock}; remove it if no setup is running`,
      );
    if (!told) options.onWait?.(`waiting for another setup (pid ${owner ?? 'unknown'}) to finish`);
    told = true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * What `find` finds in the cache, else what `fetch` puts there, fetched by one process at a
 * time: `find` runs again once the lock of `cacheDir` is held, since another process may
 * have filled the cache while this one waited.
 *
 * @example
 * ```ts
 * const tool = await findOrFetch(cacheDir, { find: () => findCached(cacheDir), fetch: () => fetchInto(cacheDir) });
 * ```
 */
export async function findOrFetch<T>(
  cacheDir: string,
  options: {
    find: () => Promise<T | undefined>;
    fetch: () => Promise<T>;
    onWait?: (line: string) => void;
    /** The code of the error thrown when the lock stays taken. */
    code?: ErrorCode;
  },
): Promise<T> {
  const cached = await options.find();
  if (cached !== undefined) return cached;
  const release = await acquireLock(cacheDir, {
    ...(options.onWait === undefined ? {} : { onWait: options.onWait }),
    ...(options.code === undefined ? {} : { code: options.code }),
  });
  try {
    return (await options.find()) ?? (await options.fetch());
  } finally {
    await release();
  }
}
