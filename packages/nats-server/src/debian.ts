import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { debianArchiveKeyring, findDebianMirror, readAptSources } from './apt-sources.ts';
import { findOnPath, isAtLeast, probeNatsServer, run } from './exec.ts';
import { debianUpstreamVersion } from './version.ts';

/** Newest first: apt picks the highest version among them anyway. */
const suites = ['unstable', 'testing', 'stable'] as const;

function unavailable(reason: string): MosaicError {
  return new MosaicError(ErrorCode.NatsServerUnavailable, reason);
}

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
  const tools = ['apt-get', 'apt-cache', 'dpkg-deb'].map((name) => ({
    name,
    path: findOnPath(name),
  }));
  const missing = tools.filter((t) => t.path === undefined).map((t) => t.name);
  if (missing.length > 0)
    throw unavailable(`cannot fetch from Debian: ${missing.join(', ')} not found on PATH`);
  const [aptGet = '', aptCache = '', dpkgDeb = ''] = tools.map((t) => t.path ?? '');

  const etcApt = options.etcApt ?? '/etc/apt';
  const mirror = findDebianMirror(readAptSources(etcApt));
  if (mirror === undefined)
    throw unavailable(
      `cannot fetch from Debian: no Debian archive mirror (a "deb" entry for a release such as ` +
        `bookworm with component main) in ${etcApt}/sources.list or ${etcApt}/sources.list.d`,
    );

  await mkdir(options.cacheDir, { recursive: true });
  const tmp = await mkdtemp(join(options.cacheDir, '.fetch-'));
  try {
    const keyring = mirror.signedBy ?? debianArchiveKeyring;
    await writeFile(
      join(tmp, 'sources.list'),
      suites.map((suite) => `deb [signed-by=${keyring}] ${mirror.uri} ${suite} main\n`).join(''),
    );
    await mkdir(join(tmp, 'lists', 'partial'), { recursive: true });
    await mkdir(join(tmp, 'cache', 'archives', 'partial'), { recursive: true });
    const aptOptions = [
      `Dir::Etc::SourceList=${join(tmp, 'sources.list')}`,
      'Dir::Etc::SourceParts=/dev/null',
      `Dir::State::Lists=${join(tmp, 'lists')}`,
      `Dir::Cache=${join(tmp, 'cache')}`,
      'Debug::NoLocking=1',
      'Acquire::Languages=none',
      // apt drops privileges to _apt, which cannot write to our private directories.
      ...(process.getuid?.() === 0 ? ['APT::Sandbox::User=root'] : []),
    ].flatMap((o) => ['-o', o]);

    options.log(
      `fetching nats-server with apt from ${mirror.uri} (suites ${suites.join(', ')}; ` +
        `mirror taken from ${mirror.file})`,
    );
    const update = await run(aptGet, ['-q', ...aptOptions, 'update'], {
      timeoutMs: 10 * 60_000,
      label: 'apt-get update',
    });
    if (!update.ok) throw unavailable(`cannot fetch from Debian: ${update.reason}`);

    const policy = await run(aptCache, [...aptOptions, 'policy', 'nats-server'], {
      timeoutMs: 60_000,
      label: 'apt-cache policy nats-server',
    });
    if (!policy.ok) throw unavailable(`cannot fetch from Debian: ${policy.reason}`);
    const candidate = /^\s*Candidate:\s*(\S+)/m.exec(policy.stdout)?.[1];
    const upstream = candidate === undefined ? undefined : debianUpstreamVersion(candidate);
    if (candidate === undefined || upstream === undefined)
      throw unavailable(
        `cannot fetch from Debian: no nats-server package in ${suites.join('/')} at ${mirror.uri}` +
          (candidate === undefined ? '' : ` (candidate ${candidate})`),
      );
    if (!isAtLeast(upstream, options.minVersion))
      throw unavailable(
        `cannot fetch from Debian: the newest nats-server at ${mirror.uri} is ${candidate}, ` +
          `older than ${options.minVersion}`,
      );

    const download = await run(aptGet, ['-q', ...aptOptions, 'download', 'nats-server'], {
      cwd: tmp,
      timeoutMs: 10 * 60_000,
      label: 'apt-get download nats-server',
    });
    if (!download.ok) throw unavailable(`cannot fetch from Debian: ${download.reason}`);
    const deb = (await readdir(tmp)).find(
      (f) => f.startsWith('nats-server_') && f.endsWith('.deb'),
    );
    if (deb === undefined)
      throw unavailable('cannot fetch from Debian: apt-get download left no nats-server .deb');

    const unpacked = join(tmp, 'x');
    const extract = await run(dpkgDeb, ['-x', join(tmp, deb), unpacked], {
      timeoutMs: 120_000,
      label: `dpkg-deb -x ${deb}`,
    });
    if (!extract.ok) throw unavailable(`cannot fetch from Debian: ${extract.reason}`);
    const inside = await firstExisting([
      join(unpacked, 'usr', 'sbin', 'nats-server'),
      join(unpacked, 'usr', 'bin', 'nats-server'),
    ]);
    if (inside === undefined)
      throw unavailable(
        `cannot fetch from Debian: ${deb} holds no usr/sbin or usr/bin/nats-server`,
      );
    const probe = await probeNatsServer(inside);
    if (!probe.ok) throw unavailable(`cannot fetch from Debian: ${probe.reason}`);
    if (!isAtLeast(probe.version, options.minVersion))
      throw unavailable(
        `cannot fetch from Debian: ${deb} holds nats-server ${probe.version}, older than ${options.minVersion}`,
      );

    // Copy under a temporary name, then rename: the cache never holds half a binary.
    const dest = join(options.cacheDir, probe.version);
    await mkdir(dest, { recursive: true });
    const partial = join(dest, `.nats-server.${process.pid}.partial`);
    await copyFile(inside, partial);
    await chmod(partial, 0o755);
    const final = join(dest, 'nats-server');
    await rename(partial, final);
    const check = await probeNatsServer(final);
    if (!check.ok) throw unavailable(`cannot fetch from Debian: ${check.reason}`);
    return { path: final, version: check.version };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function firstExisting(paths: readonly string[]): Promise<string | undefined> {
  for (const p of paths) {
    const found = await stat(p).then(
      (s) => s.isFile(),
      (err: unknown) => {
        if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return false;
        throw err;
      },
    );
    if (found) return p;
  }
  return undefined;
}
