import { lstat, mkdir, readdir, readFile, readlink, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ErrorCode, MosaicError, errnoOf, isMosaicError } from '@mosaic/errors';
import type { AptInstall } from './apt-output.ts';
import { openPrivateApt } from './apt.ts';
import { defaultCacheDir, safeName } from './cache.ts';
import { findOnPath, run } from './exec.ts';
import { findOrFetch } from './lock.ts';

/** A program from a Debian package. */
export interface DebianToolRequest {
  /** The Debian package, e.g. `iproute2`. */
  package: string;
  /** The program in it, e.g. `ip`. */
  binary: string;
  /**
   * Arguments that make the program print something and exit 0 (`['-V']`): run to check a
   * program before it is used. Without them a program is used when the file is there.
   */
  probe?: readonly string[];
  /** The variable naming a program to use instead. Default: `MOSAIC_<BINARY>` (`MOSAIC_IP`). */
  envVar?: string;
}

export interface EnsureDebianToolOptions {
  /** Default: `$MOSAIC_CACHE_DIR/debian`, else `<repo root>/.cache/debian`. */
  cacheDir?: string;
  /** Receives one line per step. Default: silent. */
  log?: (line: string) => void;
  /** Where the machine's apt configuration lives (for tests). Default: `/etc/apt`. */
  etcApt?: string;
}

/** Where a program came from: the override variable, `PATH`, the cache, or fetched now. */
export type DebianToolSource = 'env' | 'path' | 'cache' | 'debian';

export interface DebianTool {
  /** Absolute path of the program. */
  path: string;
  package: string;
  /** The Debian version unpacked; absent for `env` and `path`. */
  version?: string;
  source: DebianToolSource;
  /** The tree the program lives in: `/` for an installed one, the unpacked tree for the cache. */
  root: string;
  /**
   * Variables to run it with: `LD_LIBRARY_PATH` naming the library directories of the
   * unpacked tree, which holds those dependencies the machine lacks. Empty for `env`/`path`.
   */
  env: Record<string, string>;
}

/** What a cache entry holds, in `<entry>/manifest.json`; the tree is `<entry>/root`. */
interface Manifest {
  package: string;
  version: string;
  /** The Debian packages unpacked into the tree: the package and its missing dependencies. */
  unpacked: Pick<AptInstall, 'name' | 'version'>[];
}

const manifestFile = 'manifest.json';
const binDirs = ['usr/bin', 'usr/sbin', 'bin', 'sbin'];

/** `MOSAIC_IP` for `ip`, `MOSAIC_NATS_SERVER` for `nats-server`. */
export function toolEnvVar(binary: string): string {
  return `MOSAIC_${binary.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

function unavailable(
  request: DebianToolRequest,
  envVar: string,
  reasons: readonly string[],
  cause?: unknown,
): MosaicError {
  const command = `sudo apt-get install ${request.package}`;
  return new MosaicError(
    ErrorCode.DebianToolUnavailable,
    `no usable ${request.binary} (Debian package ${request.package}): ${reasons.join('; ')}.\n` +
      `Provide it in any of these ways:\n` +
      `  - install it with the package manager: ${command}\n` +
      `  - set ${envVar}=/path/to/${request.binary}\n`,
    {
      details: { package: request.package, binary: request.binary, envVar, command, reasons },
      ...(cause === undefined ? {} : { cause }),
    },
  );
}

/**
 * The absolute path of a program from a Debian package, never installing anything. In
 * order: the override variable (`MOSAIC_<BINARY>`, which must work: it is never passed
 * over), the program on `PATH`, a tree unpacked earlier into the cache, and the package
 * fetched now with apt from the machine's own Debian release, together with those of its
 * dependencies the machine lacks, unpacked into `<cache>/<package>_<version>/root` (under
 * a lock, renamed into place whole). Run it with `env` added to the environment. Throws
 * MosaicError `ERR_DEBIAN_TOOL_UNAVAILABLE`, whose message gives the ways out.
 *
 * @example
 * ```ts
 * const ip = await ensureDebianTool({ package: 'iproute2', binary: 'ip', probe: ['-V'] });
 * execFile(ip.path, ['-V'], { env: { ...process.env, ...ip.env } });
 * ```
 */
export async function ensureDebianTool(
  request: DebianToolRequest,
  options: EnsureDebianToolOptions = {},
): Promise<DebianTool> {
  const envVar = request.envVar ?? toolEnvVar(request.binary);
  const log = options.log ?? (() => undefined);
  const use = (tool: DebianTool): DebianTool => {
    log(
      `using ${request.binary} at ${tool.path} (${tool.source}` +
        `${tool.version === undefined ? '' : ` ${request.package} ${tool.version}`})`,
    );
    return tool;
  };
  const installed = (path: string, source: 'env' | 'path'): DebianTool => ({
    path,
    package: request.package,
    source,
    root: installRoot(path),
    env: {},
  });

  const fromEnv = process.env[envVar];
  if (fromEnv !== undefined && fromEnv !== '') {
    const tool = installed(resolve(fromEnv), 'env');
    const works = await probe(tool, request);
    if (!works.ok)
      throw unavailable(request, envVar, [`${envVar}=${fromEnv} cannot be used: ${works.reason}`]);
    return use(tool);
  }

  const reasons: string[] = [];
  const onPath = findOnPath(request.binary);
  if (onPath === undefined) reasons.push(`no ${request.binary} on PATH`);
  else {
    const tool = installed(onPath, 'path');
    const works = await probe(tool, request);
    if (works.ok) return use(tool);
    log(`skipping ${onPath}: ${works.reason}`);
    reasons.push(`${onPath} cannot be used: ${works.reason}`);
  }

  const cacheDir = resolve(options.cacheDir ?? defaultCacheDir('debian'));
  try {
    return use(
      await findOrFetch(cacheDir, {
        find: () => findCached(request, cacheDir, log),
        fetch: async () => {
          reasons.push(`none cached in ${cacheDir}`);
          return fetchTool(request, cacheDir, log, options.etcApt);
        },
        onWait: log,
      }),
    );
  } catch (err) {
    if (isMosaicError(err, ErrorCode.DebianToolUnavailable))
      throw unavailable(request, envVar, [...reasons, err.message], err);
    throw err;
  }
}

/** Fetches the package into the cache and finds the program in it. */
async function fetchTool(
  request: DebianToolRequest,
  cacheDir: string,
  log: (line: string) => void,
  etcApt: string | undefined,
): Promise<DebianTool> {
  const entry = await fetchPackage(request.package, cacheDir, log, etcApt);
  const tool = await toolIn(entry, request, 'debian');
  if (tool === undefined)
    throw new MosaicError(
      ErrorCode.DebianToolUnavailable,
      `${request.package} ${entry.manifest.version} holds no ` +
        binDirs.map((d) => `${d}/${request.binary}`).join(', '),
    );
  const works = await probe(tool, request);
  if (!works.ok)
    throw new MosaicError(
      ErrorCode.DebianToolUnavailable,
      `the fetched ${tool.path} cannot be used: ${works.reason}`,
    );
  return tool;
}

/** `/` for `/usr/sbin/ip`; `<tree>` for `<tree>/usr/bin/faketime`. */
function installRoot(path: string): string {
  const m = /^(.*?)\/(?:usr\/)?s?bin\/[^/]+$/.exec(path);
  return m === null ? dirname(path) : m[1] === '' ? '/' : (m[1] ?? '/');
}

async function probe(
  tool: DebianTool,
  request: DebianToolRequest,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const found = await lstat(tool.path).then(
    () => true,
    (err: unknown) => {
      if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return false;
      throw err;
    },
  );
  if (!found) return { ok: false, reason: `${tool.path} does not exist` };
  if (request.probe === undefined) return { ok: true };
  const out = await run(tool.path, request.probe, { env: tool.env, timeoutMs: 30_000 });
  return out.ok ? { ok: true } : { ok: false, reason: out.reason };
}

interface Entry {
  dir: string;
  manifest: Manifest;
}

/** The newest cache entry of the package that holds a working program. */
async function findCached(
  request: DebianToolRequest,
  cacheDir: string,
  log: (line: string) => void,
): Promise<DebianTool | undefined> {
  const prefix = `${safeName(request.package)}_`;
  const names = (await listOptional(cacheDir)).filter((n) => n.startsWith(prefix));
  for (const name of names.sort().reverse()) {
    const dir = join(cacheDir, name);
    const manifest = await readFile(join(dir, manifestFile), 'utf8').then(
      (text) => JSON.parse(text) as Manifest,
      (err: unknown) => {
        if (errnoOf(err) === 'ENOENT') return undefined;
        throw err;
      },
    );
    if (manifest?.package !== request.package) continue;
    const tool = await toolIn({ dir, manifest }, request, 'cache');
    if (tool === undefined) {
      log(`ignoring cached ${dir}: no ${request.binary} in it`);
      continue;
    }
    const works = await probe(tool, request);
    if (works.ok) return tool;
    log(`ignoring cached ${dir}: ${works.reason}`);
  }
  return undefined;
}

/** The program in an unpacked tree; a symbolic link is followed inside the tree only. */
async function toolIn(
  entry: Entry,
  request: DebianToolRequest,
  source: 'cache' | 'debian',
): Promise<DebianTool | undefined> {
  const root = join(entry.dir, 'root');
  for (const dir of binDirs) {
    const path = await inTree(root, join(root, dir, request.binary));
    if (path !== undefined)
      return {
        path,
        package: request.package,
        version: entry.manifest.version,
        source,
        root,
        env: await libraryEnv(root),
      };
  }
  return undefined;
}

/** `path` inside `root` as a regular file, following links (absolute ones re-rooted). */
async function inTree(root: string, path: string, hops = 0): Promise<string | undefined> {
  const info = await lstat(path).catch((err: unknown) => {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return undefined;
    throw err;
  });
  if (info === undefined) return undefined;
  if (info.isFile()) return path;
  if (!info.isSymbolicLink() || hops >= 8) return undefined;
  const target = await readlink(path);
  const next = isAbsolute(target) ? join(root, target) : resolve(dirname(path), target);
  const inside = relative(root, next);
  if (inside.startsWith(`..${sep}`) || inside === '..') return undefined;
  return inTree(root, next, hops + 1);
}

/** `LD_LIBRARY_PATH` for the multiarch library directories of an unpacked tree. */
async function libraryEnv(root: string): Promise<Record<string, string>> {
  const dirs: string[] = [];
  for (const lib of ['usr/lib', 'lib'])
    for (const name of (await listOptional(join(root, lib))).sort())
      if (name.includes('-linux-')) dirs.push(join(root, lib, name));
  return dirs.length === 0 ? {} : { LD_LIBRARY_PATH: dirs.join(':') };
}

async function listOptional(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return [];
    throw err;
  }
}

/**
 * Fetches the candidate of `pkg` from the machine's own Debian release with those of its
 * dependencies that are not installed (no upgrades of installed ones: the unpacked tree
 * never shadows the system's libc), unpacks them into one tree and renames the entry into
 * `<cacheDir>/<pkg>_<version>`. The package itself is fetched even when it is installed.
 */
async function fetchPackage(
  pkg: string,
  cacheDir: string,
  log: (line: string) => void,
  etcApt: string | undefined,
): Promise<Entry> {
  await using apt = await openPrivateApt({
    workDir: cacheDir,
    ...(etcApt === undefined ? {} : { etcApt }),
  });
  log(
    `fetching ${pkg} with apt from ${apt.mirror.suite} (${apt.sourceLines.length} source(s) ` +
      `taken from ${apt.mirror.file})`,
  );
  await apt.update();
  const version = await apt.candidate(pkg);
  if (version === undefined)
    throw apt.fail(`no ${pkg} package in ${apt.mirror.suite} at ${apt.mirror.uri}`);
  const missing = (await apt.simulateInstall([pkg])).filter(
    (i) => i.installed === undefined && i.name.split(':')[0] !== pkg,
  );
  const unpacked = [
    { name: pkg, version },
    ...missing.map(({ name, version }) => ({ name, version })),
  ];
  const debs = await apt.download(unpacked.map((p) => `${p.name}=${p.version}`));
  const entry = join(apt.dir, 'entry');
  for (const deb of debs) await apt.extract(deb, join(entry, 'root'));
  const manifest: Manifest = { package: pkg, version, unpacked };
  await writeFile(join(entry, manifestFile), `${JSON.stringify(manifest, null, 2)}\n`);

  // Renamed into place whole: the cache never holds half an entry.
  const dir = join(cacheDir, `${safeName(pkg)}_${safeName(version)}`);
  await mkdir(cacheDir, { recursive: true });
  await rm(dir, { recursive: true, force: true });
  await rename(entry, dir);
  log(`unpacked ${unpacked.map((p) => `${p.name} ${p.version}`).join(', ')} into ${dir}`);
  return { dir, manifest };
}
