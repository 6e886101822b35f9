import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { findDebianMirror, readAptSources } from '@mosaic/nats-server';
import { findOnPath, run } from '@mosaic/nats-server/internal';
import { parseAptSimulation } from './apt-output.ts';
import type { AptInstall } from './apt-output.ts';
import { packagesToProvide, topLevelModules } from './modules.ts';
import type { PackageModules } from './modules.ts';
import { canImport, importableModules } from './python.ts';
import type { PythonInfo } from './python.ts';
import { ownReleaseSourceLines } from './sources.ts';

/** Thrown with the reason; `ensurePythonPackage` adds the way out. */
function cannot(reason: string): MosaicError {
  return new MosaicError(ErrorCode.PythonPackageUnavailable, `cannot fetch from Debian: ${reason}`);
}

export interface FetchOptions {
  package: string;
  imports: readonly string[];
  python: PythonInfo;
  cacheDir: string;
  log: (line: string) => void;
  /** Where the machine's apt configuration lives (for tests). */
  etcApt?: string;
}

/** What a cache entry holds, in `<entry>/manifest.json`. */
export interface Manifest {
  package: string;
  version: string;
  python: string;
  soabi: string;
  /** Relative to the entry: the directories to put on `sys.path`. */
  paths: string[];
  /** The Debian packages unpacked into the entry. */
  unpacked: AptInstall[];
}

export const manifestFile = 'manifest.json';

/** `text` safe as part of a file name (a Debian version may hold `:`). */
export function safeName(text: string): string {
  return text.replace(/[^\w.+~-]/g, '_');
}

/** `<package>_<version>_<soabi>`: one entry per package version and interpreter ABI. */
function cacheEntryName(pkg: string, version: string, soabi: string): string {
  return [pkg, version, soabi].map(safeName).join('_');
}

function distPackages(root: string, python: PythonInfo): string[] {
  const minor = python.version.split('.').slice(0, 2).join('.');
  return [
    join(root, 'usr/lib/python3/dist-packages'),
    join(root, `usr/lib/python${minor}/dist-packages`),
  ];
}

async function listOptional(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * Resolves `options.package` with apt against the machine's own Debian release (private apt
 * state, the system's dpkg status: apt names what is not installed), downloads those
 * packages, keeps the ones with a module the interpreter cannot import, and unpacks them into
 * `<cacheDir>/<package>_<version>_<soabi>/`, renamed into place only when complete.
 * Throws MosaicError `ERR_PYTHON_PACKAGE_UNAVAILABLE` with the reason.
 */
export async function fetchFromDebian(
  options: FetchOptions,
): Promise<{ dir: string; manifest: Manifest }> {
  const tools = ['apt-get', 'dpkg-deb'].map((name) => ({ name, path: findOnPath(name) }));
  const missing = tools.filter((t) => t.path === undefined).map((t) => t.name);
  if (missing.length > 0)
    throw cannot(`${missing.join(', ')} not found on PATH (not a Debian system?)`);
  const [aptGet = '', dpkgDeb = ''] = tools.map((t) => t.path ?? '');

  const etcApt = options.etcApt ?? '/etc/apt';
  const sources = readAptSources(etcApt);
  const mirror = findDebianMirror(sources);
  if (mirror === undefined)
    throw cannot(
      `no Debian archive mirror (a "deb" entry for a release such as bookworm with component ` +
        `main) in ${etcApt}/sources.list or ${etcApt}/sources.list.d`,
    );
  const lines = ownReleaseSourceLines(sources, mirror.suite);

  await mkdir(options.cacheDir, { recursive: true });
  const tmp = await mkdtemp(join(options.cacheDir, '.fetch-'));
  try {
    await writeFile(join(tmp, 'sources.list'), lines.map((l) => `${l}\n`).join(''));
    await mkdir(join(tmp, 'lists', 'partial'), { recursive: true });
    await mkdir(join(tmp, 'cache', 'archives', 'partial'), { recursive: true });
    await mkdir(join(tmp, 'debs'));
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
      `fetching ${options.package} with apt from ${mirror.suite} (${lines.length} source(s) ` +
        `taken from ${mirror.file}) for ${options.python.path} ${options.python.version}`,
    );
    const update = await run(aptGet, ['-q', ...aptOptions, 'update'], {
      timeoutMs: 10 * 60_000,
      label: 'apt-get update',
    });
    if (!update.ok) throw cannot(update.reason);

    const simulate = await run(
      aptGet,
      ['-q', ...aptOptions, '--simulate', '--no-install-recommends', 'install', options.package],
      { timeoutMs: 120_000, label: `apt-get --simulate install ${options.package}` },
    );
    if (!simulate.ok) throw cannot(simulate.reason);
    const installs = parseAptSimulation(simulate.stdout);
    const wanted = installs.find((i) => i.name.split(':')[0] === options.package);
    if (wanted === undefined)
      throw cannot(
        `apt finds ${options.package} and its dependencies installed, yet ` +
          `${options.python.path} cannot import ${options.imports.join(', ')}`,
      );

    const debs = join(tmp, 'debs');
    const download = await run(
      aptGet,
      ['-q', ...aptOptions, 'download', ...installs.map((i) => `${i.name}=${i.version}`)],
      { cwd: debs, timeoutMs: 10 * 60_000, label: 'apt-get download' },
    );
    if (!download.ok) throw cannot(download.reason);
    const files = await readdir(debs);
    const debOf = new Map<string, string>();
    for (const install of installs) {
      const base = install.name.split(':')[0] ?? install.name;
      const file = files.find((f) => f.startsWith(`${base}_`) && f.endsWith('.deb'));
      if (file === undefined) throw cannot(`apt-get download left no .deb of ${install.name}`);
      debOf.set(install.name, join(debs, file));
    }

    const unpack = async (deb: string, into: string): Promise<void> => {
      await mkdir(into, { recursive: true });
      const out = await run(dpkgDeb, ['-x', deb, into], {
        timeoutMs: 120_000,
        label: `dpkg-deb -x ${deb}`,
      });
      if (!out.ok) throw cannot(out.reason);
    };
    const contents: PackageModules[] = [];
    for (const install of installs) {
      const into = join(tmp, 'x', install.name);
      await unpack(debOf.get(install.name) ?? '', into);
      const entries = (
        await Promise.all(distPackages(into, options.python).map(listOptional))
      ).flat();
      contents.push({ name: install.name, modules: topLevelModules(entries) });
    }
    const importable = await importableModules(
      options.python.path,
      contents.flatMap((c) => c.modules),
    );
    if (!importable.ok) throw cannot(importable.reason);
    const { provide, unprovidable } = packagesToProvide(contents, importable.value);
    if (unprovidable.length > 0)
      throw cannot(
        `${options.package} needs ${unprovidable.join(', ')}, which must be installed system-wide ` +
          `(no Python modules to put on sys.path)`,
      );

    const root = join(tmp, 'root');
    for (const name of provide) await unpack(debOf.get(name) ?? '', root);
    const dirs = [];
    for (const dir of distPackages(root, options.python))
      if ((await listOptional(dir)).length > 0) dirs.push(dir);
    const manifest: Manifest = {
      package: options.package,
      version: wanted.version,
      python: options.python.version,
      soabi: options.python.soabi,
      paths: dirs.map((d) => d.slice(root.length + 1)),
      unpacked: installs.filter((i) => provide.includes(i.name)),
    };
    const check = await canImport(options.python.path, dirs, options.imports);
    if (!check.ok) throw cannot(`unpacked ${provide.join(', ')}, yet ${check.reason}`);
    await writeFile(join(root, manifestFile), `${JSON.stringify(manifest, null, 2)}\n`);

    // Renamed into place whole: the cache never holds half an entry.
    const dir = join(
      options.cacheDir,
      cacheEntryName(options.package, wanted.version, options.python.soabi),
    );
    await rm(dir, { recursive: true, force: true });
    await rename(root, dir);
    options.log(
      `unpacked ${manifest.unpacked.map((i) => `${i.name} ${i.version}`).join(', ')} into ${dir}`,
    );
    return { dir, manifest };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
