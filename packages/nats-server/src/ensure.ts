import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { defaultCacheDir as cacheDirOf } from '@mosaic/debian';
import { findOnPath, findOrFetch } from '@mosaic/debian/internal';
import { ErrorCode, MosaicError, errnoOf, isMosaicError } from '@mosaic/errors';
import { fetchFromDebian } from './debian.ts';
import { isAtLeast, probeNatsServer } from './probe.ts';
import { compareVersions, parseNatsVersion } from './version.ts';

/** Where a nats-server binary came from. */
export type NatsServerSource = 'env' | 'path' | 'cache' | 'debian';

export interface NatsServerBinary {
  /** Absolute path of the executable. */
  path: string;
  /** As printed by `--version`, without the `v`: `2.15.1`. */
  version: string;
  source: NatsServerSource;
}

export interface EnsureNatsServerOptions {
  /** Default: `$MOSAIC_CACHE_DIR/nats-server`, else `<repo root>/.cache/nats-server`. */
  cacheDir?: string;
  /** Default: `2.12.0`. */
  minVersion?: string;
  /** Receives one line per step (what was skipped, what is used). Default: silent. */
  log?: (line: string) => void;
}

/**
 * The oldest nats-server Mosaic supports (`sync_interval`, multi-filter consumers, atomic
 * batch publish for the audit log).
 */
export const minNatsServerVersion = '2.12.0';

/** The cache directory used when `ensureNatsServer` is given none. */
export function defaultCacheDir(): string {
  return cacheDirOf('nats-server');
}

function unavailable(minVersion: string, reasons: readonly string[], cause?: unknown): MosaicError {
  const short = minVersion.replace(/\.0$/, '');
  return new MosaicError(
    ErrorCode.NatsServerUnavailable,
    `no usable nats-server >= ${short}: ${reasons.join('; ')}.\n` +
      `Provide one in any of these ways:\n` +
      `  - install nats-server >= ${short} with a package manager ` +
      `(e.g. on Debian trixie or newer: apt-get install nats-server);\n` +
      `  - download a release binary from the NATS project's GitHub releases (nats-io/nats-server) ` +
      `and set MOSAIC_NATS_SERVER=/path/to/nats-server;\n` +
      `  - for tests, point NATS_URL at a running nats-server (e.g. NATS_URL=nats://127.0.0.1:4222).`,
    { details: { reasons }, ...(cause === undefined ? {} : { cause }) },
  );
}

/**
 * Finds a nats-server >= 2.12, or fetches one. In order: `MOSAIC_NATS_SERVER` (which must
 * work: it is never silently passed over), `nats-server` on `PATH`, a binary unpacked
 * earlier into the cache, and Debian's package from a newer suite fetched with apt through
 * the machine's own Debian mirror. Concurrent calls (tests, CLI) are serialised by a lock
 * in the cache directory. Throws MosaicError `ERR_NATS_SERVER_UNAVAILABLE`, whose message
 * says how to provide one, when nothing works.
 *
 * @example
 * ```ts
 * const { path, version } = await ensureNatsServer({ log: (line) => logger.info(line) });
 * ```
 */
export async function ensureNatsServer(
  options: EnsureNatsServerOptions = {},
): Promise<NatsServerBinary> {
  const minVersion = options.minVersion ?? minNatsServerVersion;
  const log = options.log ?? (() => undefined);
  const use = (binary: NatsServerBinary): NatsServerBinary => {
    log(`using nats-server ${binary.version} at ${binary.path} (${binary.source})`);
    return binary;
  };

  const fromEnv = process.env['MOSAIC_NATS_SERVER'];
  if (fromEnv !== undefined && fromEnv !== '') {
    const path = resolve(fromEnv);
    const probe = await probeNatsServer(path);
    if (!probe.ok)
      throw unavailable(minVersion, [
        `MOSAIC_NATS_SERVER=${fromEnv} cannot be used: ${probe.reason}`,
      ]);
    if (!isAtLeast(probe.version, minVersion))
      throw unavailable(minVersion, [
        `MOSAIC_NATS_SERVER=${fromEnv} is nats-server ${probe.version}, older than ${minVersion}`,
      ]);
    return use({ path, version: probe.version, source: 'env' });
  }

  const reasons: string[] = [];
  const onPath = findOnPath('nats-server');
  if (onPath === undefined) {
    reasons.push('no nats-server on PATH');
  } else {
    const probe = await probeNatsServer(onPath);
    if (probe.ok && isAtLeast(probe.version, minVersion))
      return use({ path: onPath, version: probe.version, source: 'path' });
    const why = probe.ok
      ? `${onPath} is nats-server ${probe.version}, older than ${minVersion}` +
        (probe.version.startsWith('2.9.') ? ' (Debian 12 ships 2.9)' : '')
      : `${onPath} cannot be used: ${probe.reason}`;
    log(`skipping ${why}`);
    reasons.push(why);
  }

  const cacheDir = resolve(options.cacheDir ?? defaultCacheDir());
  try {
    const found = await findOrFetch(cacheDir, {
      find: () => findCached(cacheDir, minVersion, log),
      fetch: async () => {
        reasons.push(`none cached in ${cacheDir}`);
        const fetched = await fetchFromDebian({ cacheDir, minVersion, log });
        return { ...fetched, source: 'debian' as const };
      },
      onWait: log,
      code: ErrorCode.NatsServerUnavailable,
    });
    return use(found);
  } catch (err) {
    if (isMosaicError(err, ErrorCode.NatsServerUnavailable))
      throw unavailable(minVersion, [...reasons, err.message], err);
    throw err;
  }
}

/** The newest working binary at `<cacheDir>/<version>/nats-server` that is new enough. */
async function findCached(
  cacheDir: string,
  minVersion: string,
  log: (line: string) => void,
): Promise<NatsServerBinary | undefined> {
  let names: string[];
  try {
    names = await readdir(cacheDir);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw err;
  }
  const versions = names
    .filter((name) => parseNatsVersion(name) === name && isAtLeast(name, minVersion))
    .sort((a, b) => compareVersions(b, a));
  for (const version of versions) {
    const path = join(cacheDir, version, 'nats-server');
    const exists = await stat(path).then(
      (s) => s.isFile(),
      (err: unknown) => {
        if (errnoOf(err) === 'ENOENT') return false;
        throw err;
      },
    );
    if (!exists) continue;
    const probe = await probeNatsServer(path);
    if (probe.ok && isAtLeast(probe.version, minVersion))
      return { path, version: probe.version, source: 'cache' };
    log(`ignoring cached ${path}: ${probe.ok ? `reports ${probe.version}` : probe.reason}`);
  }
  return undefined;
}
