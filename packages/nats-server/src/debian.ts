import { chmod, copyFile, mkdir, rename, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ErrorCode, errnoOf } from '@mosaic/errors';
import { openPrivateApt } from '@mosaic/debian/internal';
import { isAtLeast, probeNatsServer } from './probe.ts';
import { debianUpstreamVersion } from './version.ts';

/** Newest first: apt picks the highest version among them anyway. */
const suites = ['unstable', 'testing', 'stable'] as const;

export interface FetchOptions {
  cacheDir: string;
  minVersion: string;
  log: (line: string) => void;
  /** Where the machine's apt configuration lives (for tests). */
  etcApt?: string;
}

/**
 * Downloads Debian's nats-server package from a newer suite, using the Debian mirror the
 * machine's apt is already configured with and private apt state (the system's package
 * lists and cache are left alone), and unpacks the binary to `<cacheDir>/<version>/`.
 * Throws MosaicError `ERR_NATS_SERVER_UNAVAILABLE` with the reason when that is not possible.
 */
export async function fetchFromDebian(
  options: FetchOptions,
): Promise<{ path: string; version: string }> {
  await using apt = await openPrivateApt({
    workDir: options.cacheDir,
    suites,
    code: ErrorCode.NatsServerUnavailable,
    ...(options.etcApt === undefined ? {} : { etcApt: options.etcApt }),
  });
  const { mirror } = apt;
  options.log(
    `fetching nats-server with apt from ${mirror.uri} (suites ${suites.join(', ')}; ` +
      `mirror taken from ${mirror.file})`,
  );
  await apt.update();
  const candidate = await apt.candidate('nats-server');
  const upstream = candidate === undefined ? undefined : debianUpstreamVersion(candidate);
  if (candidate === undefined || upstream === undefined)
    throw apt.fail(
      `no nats-server package in ${suites.join('/')} at ${mirror.uri}` +
        (candidate === undefined ? '' : ` (candidate ${candidate})`),
    );
  if (!isAtLeast(upstream, options.minVersion))
    throw apt.fail(
      `the newest nats-server at ${mirror.uri} is ${candidate}, older than ${options.minVersion}`,
    );

  const [deb = ''] = await apt.download(['nats-server']);
  const file = basename(deb);
  const unpacked = join(apt.dir, 'x');
  await apt.extract(deb, unpacked);
  const inside = await firstExisting([
    join(unpacked, 'usr', 'sbin', 'nats-server'),
    join(unpacked, 'usr', 'bin', 'nats-server'),
  ]);
  if (inside === undefined) throw apt.fail(`${file} holds no usr/sbin or usr/bin/nats-server`);
  const probe = await probeNatsServer(inside);
  if (!probe.ok) throw apt.fail(probe.reason);
  if (!isAtLeast(probe.version, options.minVersion))
    throw apt.fail(`${file} holds nats-server ${probe.version}, older than ${options.minVersion}`);

  // Copy under a temporary name, then rename: the cache never holds half a binary.
  const dest = join(options.cacheDir, probe.version);
  await mkdir(dest, { recursive: true });
  const partial = join(dest, `.nats-server.${process.pid}.partial`);
  await copyFile(inside, partial);
  await chmod(partial, 0o755);
  const final = join(dest, 'nats-server');
  await rename(partial, final);
  const check = await probeNatsServer(final);
  if (!check.ok) throw apt.fail(check.reason);
  return { path: final, version: check.version };
}

async function firstExisting(paths: readonly string[]): Promise<string | undefined> {
  for (const p of paths) {
    const found = await stat(p).then(
      (s) => s.isFile(),
      (err: unknown) => {
        if (errnoOf(err) === 'ENOENT') return false;
        throw err;
      },
    );
    if (found) return p;
  }
  return undefined;
}
