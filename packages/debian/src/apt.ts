import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { parseAptSimulation } from './apt-output.ts';
import type { AptInstall } from './apt-output.ts';
import { findDebianMirror, readAptSources } from './apt-sources.ts';
import type { AptSource } from './apt-sources.ts';
import { findOnPath, run } from './exec.ts';
import { mirrorSuiteSourceLines, ownReleaseSourceLines } from './source-lines.ts';

export interface PrivateAptOptions {
  /** The temporary apt state is made in a new directory inside it, removed by `close()`. */
  workDir: string;
  /**
   * Which suites apt sees: `'own-release'` (default) is the machine's release with its
   * updates and security suites; a list names suites of the machine's Debian mirror
   * (`['unstable', 'testing', 'stable']`).
   */
  suites?: 'own-release' | readonly string[];
  /** Where the machine's apt configuration lives (for tests). Default: `/etc/apt`. */
  etcApt?: string;
  /** The code of every error thrown. Default: `ERR_DEBIAN_TOOL_UNAVAILABLE`. */
  code?: ErrorCode;
}

/** apt with state of its own; the system's package lists, cache and locks are left alone. */
export interface PrivateApt extends AsyncDisposable {
  /** The machine's Debian mirror the sources were taken from. */
  readonly mirror: AptSource;
  /** The `sources.list` lines apt reads. */
  readonly sourceLines: readonly string[];
  /** The temporary directory holding the state; downloads and unpacked trees go inside. */
  readonly dir: string;
  /** `apt-get update` of the private lists. */
  update(): Promise<void>;
  /** The version `apt-cache policy` names as candidate, undefined when there is none. */
  candidate(pkg: string): Promise<string | undefined>;
  /**
   * What `apt-get --simulate --no-install-recommends install` would install or upgrade,
   * judged against the system's dpkg status: the package and those of its dependencies the
   * machine lacks (an upgrade carries `installed`).
   */
  simulateInstall(packages: readonly string[]): Promise<AptInstall[]>;
  /** `apt-get download` of `name` or `name=version` each; the `.deb` files, in that order. */
  download(packages: readonly string[]): Promise<string[]>;
  /** `dpkg-deb -x deb into`. */
  extract(deb: string, into: string): Promise<void>;
  /** An error with this session's code: `cannot fetch from Debian: <reason>`. */
  fail(reason: string): MosaicError;
  /** Removes the temporary directory. */
  close(): Promise<void>;
}

/**
 * Prepares apt with private state in a temporary directory inside `workDir`: its own
 * `sources.list` (the machine's own Debian mirror, so no host name is written anywhere),
 * lists and archive cache, no locking. Throws (with `code`) `cannot fetch from Debian: …`
 * when apt, apt-cache or dpkg-deb is missing or the apt sources name no Debian mirror.
 *
 * @example
 * ```ts
 * await using apt = await openPrivateApt({ workDir: cacheDir });
 * await apt.update();
 * const [deb] = await apt.download(['faketime']);
 * await apt.extract(deb, join(apt.dir, 'root'));
 * ```
 */
export async function openPrivateApt(options: PrivateAptOptions): Promise<PrivateApt> {
  const code = options.code ?? ErrorCode.DebianToolUnavailable;
  const fail = (reason: string): MosaicError =>
    new MosaicError(code, `cannot fetch from Debian: ${reason}`);

  const tools = ['apt-get', 'apt-cache', 'dpkg-deb'].map((name) => ({
    name,
    path: findOnPath(name),
  }));
  const missing = tools.filter((t) => t.path === undefined).map((t) => t.name);
  if (missing.length > 0)
    throw fail(`${missing.join(', ')} not found on PATH (not a Debian system?)`);
  const [aptGet = '', aptCache = '', dpkgDeb = ''] = tools.map((t) => t.path ?? '');

  const etcApt = options.etcApt ?? '/etc/apt';
  const sources = readAptSources(etcApt);
  const mirror = findDebianMirror(sources);
  if (mirror === undefined)
    throw fail(
      `no Debian archive mirror (a "deb" entry for a release such as bookworm with component ` +
        `main) in ${etcApt}/sources.list or ${etcApt}/sources.list.d`,
    );
  const suites = options.suites ?? 'own-release';
  const sourceLines =
    suites === 'own-release'
      ? ownReleaseSourceLines(sources, mirror.suite)
      : mirrorSuiteSourceLines(mirror, suites);

  await mkdir(options.workDir, { recursive: true });
  const dir = await mkdtemp(join(options.workDir, '.fetch-'));
  const debs = join(dir, 'debs');
  await writeFile(join(dir, 'sources.list'), sourceLines.map((l) => `${l}\n`).join(''));
  await mkdir(join(dir, 'lists', 'partial'), { recursive: true });
  await mkdir(join(dir, 'cache', 'archives', 'partial'), { recursive: true });
  await mkdir(debs);
  const aptOptions = [
    `Dir::Etc::SourceList=${join(dir, 'sources.list')}`,
    'Dir::Etc::SourceParts=/dev/null',
    `Dir::State::Lists=${join(dir, 'lists')}`,
    `Dir::Cache=${join(dir, 'cache')}`,
    'Debug::NoLocking=1',
    'Acquire::Languages=none',
    // apt drops privileges to _apt, which cannot write to our private directories.
    ...(process.getuid?.() === 0 ? ['APT::Sandbox::User=root'] : []),
  ].flatMap((o) => ['-o', o]);

  const close = (): Promise<void> => rm(dir, { recursive: true, force: true });
  return {
    mirror,
    sourceLines,
    dir,
    fail,
    close,
    [Symbol.asyncDispose]: close,
    async update() {
      const out = await run(aptGet, ['-q', ...aptOptions, 'update'], {
        timeoutMs: 10 * 60_000,
        label: 'apt-get update',
      });
      if (!out.ok) throw fail(out.reason);
    },
    async candidate(pkg) {
      const out = await run(aptCache, [...aptOptions, 'policy', pkg], {
        timeoutMs: 60_000,
        label: `apt-cache policy ${pkg}`,
      });
      if (!out.ok) throw fail(out.reason);
      const version = /^\s*Candidate:\s*(\S+)/m.exec(out.stdout)?.[1];
      return version === undefined || version === '(none)' ? undefined : version;
    },
    async simulateInstall(packages) {
      const out = await run(
        aptGet,
        ['-q', ...aptOptions, '--simulate', '--no-install-recommends', 'install', ...packages],
        { timeoutMs: 120_000, label: `apt-get --simulate install ${packages.join(' ')}` },
      );
      if (!out.ok) throw fail(out.reason);
      return parseAptSimulation(out.stdout);
    },
    async download(packages) {
      const out = await run(aptGet, ['-q', ...aptOptions, 'download', ...packages], {
        cwd: debs,
        timeoutMs: 10 * 60_000,
        label: `apt-get download ${packages.length === 1 ? packages.join('') : `(${packages.length} packages)`}`,
      });
      if (!out.ok) throw fail(out.reason);
      const files = await readdir(debs);
      return packages.map((spec) => {
        const name = (spec.split('=')[0] ?? spec).split(':')[0] ?? spec;
        const file = files.find((f) => f.startsWith(`${name}_`) && f.endsWith('.deb'));
        if (file === undefined) throw fail(`apt-get download left no .deb of ${name}`);
        return join(debs, file);
      });
    },
    async extract(deb, into) {
      await mkdir(into, { recursive: true });
      const out = await run(dpkgDeb, ['-x', deb, into], {
        timeoutMs: 120_000,
        label: `dpkg-deb -x ${basename(deb)}`,
      });
      if (!out.ok) throw fail(out.reason);
    },
  };
}
