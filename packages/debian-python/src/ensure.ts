import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { defaultCacheDir as cacheDirOf } from '@mosaic/debian';
import { findOrFetch, safeName } from '@mosaic/debian/internal';
import { ErrorCode, MosaicError, errnoOf, isMosaicError } from '@mosaic/errors';
import { fetchFromDebian, manifestFile } from './fetch.ts';
import type { Manifest } from './fetch.ts';
import { canImport, probePython } from './python.ts';
import type { PythonInfo } from './python.ts';

/** A Debian Python package and the imports that prove it works. */
export interface PythonRequirement {
  /** The Debian package, e.g. `python3-jwcrypto`. */
  package: string;
  /** Modules that must import, e.g. `jwcrypto.jws`. */
  imports: readonly string[];
  /** Its name on PyPI, for the way out on systems without apt. */
  pip?: string;
}

/** What the JOSE interop test needs: Debian's python3-jwcrypto under the system python3. */
export const jwcrypto = {
  package: 'python3-jwcrypto',
  imports: ['jwcrypto.jwk', 'jwcrypto.jws'],
  pip: 'jwcrypto',
} as const satisfies PythonRequirement;

export interface EnsurePythonPackageOptions {
  /** Default: `/usr/bin/python3`, the interpreter Debian's packages are built for. */
  python?: string;
  /** Default: `$MOSAIC_CACHE_DIR/python`, else `<repo root>/.cache/python`. */
  cacheDir?: string;
  /** Receives one line per step. Default: silent. */
  log?: (line: string) => void;
  /** Where the machine's apt configuration lives (for tests). Default: `/etc/apt`. */
  etcApt?: string;
}

/** Where the package was found: installed, unpacked earlier, or fetched now. */
export type PythonPackageSource = 'system' | 'cache' | 'debian';

export interface PythonPackage {
  /** The interpreter to run. */
  python: string;
  /** Directories to put first on its `sys.path` (see `pythonArgs`); empty for `system`. */
  paths: string[];
  source: PythonPackageSource;
}

/** The system interpreter Debian's Python packages are built for. */
export const systemPython = '/usr/bin/python3';

/** The cache directory used when `ensurePythonPackage` is given none. */
export function defaultCacheDir(): string {
  return cacheDirOf('python');
}

function unavailable(
  requirement: PythonRequirement,
  python: string,
  reasons: readonly string[],
  cause?: unknown,
): MosaicError {
  const command = `sudo apt-get install ${requirement.package}`;
  return new MosaicError(
    ErrorCode.PythonPackageUnavailable,
    `${python} cannot import ${requirement.imports.join(', ')} and ${requirement.package} could ` +
      `not be fetched: ${reasons.join('; ')}.\n` +
      `Install it system-wide:\n  ${command}\n` +
      (requirement.pip === undefined
        ? ''
        : `or, on a system without apt:\n  sudo ${python} -m pip install ${requirement.pip}\n`),
    { details: { reasons, command }, ...(cause === undefined ? {} : { cause }) },
  );
}

/**
 * Makes a Debian Python package importable by the system python3 without installing
 * anything: it is used as installed when it imports, else from the cache, else fetched with
 * apt from the machine's own Debian release together with those of its dependencies the
 * interpreter cannot import, and unpacked into the cache (under a lock, renamed into place
 * whole). Throws MosaicError `ERR_PYTHON_PACKAGE_UNAVAILABLE`, whose message gives the
 * command that installs it, when none of this works.
 *
 * @example
 * ```ts
 * const found = await ensurePythonPackage(jwcrypto);
 * execFile(found.python, pythonArgs(found.paths, 'verify_jws.py'));
 * ```
 */
export async function ensurePythonPackage(
  requirement: PythonRequirement,
  options: EnsurePythonPackageOptions = {},
): Promise<PythonPackage> {
  const python = options.python ?? systemPython;
  const log = options.log ?? (() => undefined);
  const use = (found: PythonPackage): PythonPackage => {
    log(
      `using ${requirement.package} for ${python} (${found.source})` +
        (found.paths.length === 0 ? '' : ` from ${found.paths.join(', ')}`),
    );
    return found;
  };

  const probe = await probePython(python);
  if (!probe.ok) throw unavailable(requirement, python, [probe.reason]);
  const installed = await canImport(python, [], requirement.imports);
  if (installed.ok) return use({ python, paths: [], source: 'system' });
  const reasons = [`not installed (${lastLine(installed.reason)})`];

  const cacheDir = resolve(options.cacheDir ?? defaultCacheDir());
  try {
    const found = await findOrFetch(cacheDir, {
      find: () => findCached(requirement, probe.value, cacheDir, log),
      fetch: async () => {
        const { dir, manifest } = await fetchFromDebian({
          package: requirement.package,
          imports: requirement.imports,
          python: probe.value,
          cacheDir,
          log,
          ...(options.etcApt === undefined ? {} : { etcApt: options.etcApt }),
        });
        const paths = manifest.paths.map((p) => join(dir, p));
        return { python, paths, source: 'debian' as const };
      },
      onWait: log,
      code: ErrorCode.PythonPackageUnavailable,
    });
    return use(found);
  } catch (err) {
    if (isMosaicError(err, ErrorCode.PythonPackageUnavailable))
      throw unavailable(requirement, python, [...reasons, err.message], err);
    throw err;
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? text;
}

/** A cache entry for this package and interpreter ABI whose imports work. */
async function findCached(
  requirement: PythonRequirement,
  python: PythonInfo,
  cacheDir: string,
  log: (line: string) => void,
): Promise<PythonPackage | undefined> {
  let names: string[];
  try {
    names = await readdir(cacheDir);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw err;
  }
  const prefix = `${safeName(requirement.package)}_`;
  const suffix = `_${safeName(python.soabi)}`;
  for (const name of names
    .filter((n) => n.startsWith(prefix) && n.endsWith(suffix))
    .sort()
    .reverse()) {
    const dir = join(cacheDir, name);
    const manifest = await readFile(join(dir, manifestFile), 'utf8').then(
      (text) => JSON.parse(text) as Manifest,
      (err: unknown) => {
        if (errnoOf(err) === 'ENOENT') return undefined;
        throw err;
      },
    );
    if (manifest === undefined) continue;
    const paths = manifest.paths.map((p) => join(dir, p));
    const works = await canImport(python.path, paths, requirement.imports);
    if (works.ok) return { python: python.path, paths, source: 'cache' };
    log(`ignoring cached ${dir}: ${lastLine(works.reason)}`);
  }
  return undefined;
}
