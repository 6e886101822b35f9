import { readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openPrivateApt, safeName } from '@mosaic/debian/internal';
import type { AptInstall } from '@mosaic/debian/internal';
import { ErrorCode, errnoOf } from '@mosaic/errors';
import { packagesToProvide, topLevelModules } from './modules.ts';
import type { PackageModules } from './modules.ts';
import { canImport, importableModules } from './python.ts';
import type { PythonInfo } from './python.ts';

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
    if (errnoOf(err) === 'ENOENT') return [];
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
  await using apt = await openPrivateApt({
    workDir: options.cacheDir,
    code: ErrorCode.PythonPackageUnavailable,
    ...(options.etcApt === undefined ? {} : { etcApt: options.etcApt }),
  });
  options.log(
    `fetching ${options.package} with apt from ${apt.mirror.suite} (${apt.sourceLines.length} ` +
      `source(s) taken from ${apt.mirror.file}) for ${options.python.path} ${options.python.version}`,
  );
  await apt.update();
  const installs = await apt.simulateInstall([options.package]);
  const wanted = installs.find((i) => i.name.split(':')[0] === options.package);
  if (wanted === undefined)
    throw apt.fail(
      `apt finds ${options.package} and its dependencies installed, yet ` +
        `${options.python.path} cannot import ${options.imports.join(', ')}`,
    );

  const files = await apt.download(installs.map((i) => `${i.name}=${i.version}`));
  const debOf = new Map(installs.map((install, i) => [install.name, files[i] ?? '']));
  const contents: PackageModules[] = [];
  for (const install of installs) {
    const into = join(apt.dir, 'x', install.name);
    await apt.extract(debOf.get(install.name) ?? '', into);
    const entries = (
      await Promise.all(distPackages(into, options.python).map(listOptional))
    ).flat();
    contents.push({ name: install.name, modules: topLevelModules(entries) });
  }
  const importable = await importableModules(
    options.python.path,
    contents.flatMap((c) => c.modules),
  );
  if (!importable.ok) throw apt.fail(importable.reason);
  const { provide, unprovidable } = packagesToProvide(contents, importable.value);
  if (unprovidable.length > 0)
    throw apt.fail(
      `${options.package} needs ${unprovidable.join(', ')}, which must be installed system-wide ` +
        `(no Python modules to put on sys.path)`,
    );

  const root = join(apt.dir, 'root');
  for (const name of provide) await apt.extract(debOf.get(name) ?? '', root);
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
  if (!check.ok) throw apt.fail(`unpacked ${provide.join(', ')}, yet ${check.reason}`);
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
}
