import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, MosaicError, errnoOf } from '@mosaic/errors';
import { ensureDebianTool } from './tool.ts';
import { debianTools } from './tools.ts';
import type { DebianTool, EnsureDebianToolOptions } from './tool.ts';

/** libfaketime, ready to be preloaded into a child process. */
export interface Faketime {
  /** The `faketime` program (its wrapper looks for the library only under `/usr/lib`). */
  tool: DebianTool;
  /** Absolute path of `libfaketime.so.1`. */
  library: string;
  /**
   * The variables that make a child see the time `spec` (libfaketime's syntax: `-15d`,
   * `+2h`, `@2001-02-03 04:05:06`, `2001-02-03 04:05:06`): `LD_PRELOAD` of the library
   * (before any preload already in `base`) and `FAKETIME`.
   */
  env(spec: string, base?: Readonly<Record<string, string | undefined>>): Record<string, string>;
}

/**
 * Provides libfaketime (Debian's `faketime` and `libfaketime`, see `ensureDebianTool`) and
 * the environment that preloads it. The library is preloaded directly rather than through
 * the `faketime` wrapper, which names `/usr/$LIB/faketime/libfaketime.so.1` and so cannot
 * use an unpacked copy. Throws `ERR_DEBIAN_TOOL_UNAVAILABLE`.
 *
 * @example
 * ```ts
 * const faketime = await ensureFaketime();
 * execFile('date', [], { env: { ...process.env, ...faketime.env('@2001-02-03 04:05:06') } });
 * ```
 */
export async function ensureFaketime(options: EnsureDebianToolOptions = {}): Promise<Faketime> {
  const tool = await ensureDebianTool(debianTools.faketime, options);
  const library = await findLibfaketime(tool.root);
  if (library === undefined)
    throw new MosaicError(
      ErrorCode.DebianToolUnavailable,
      `${tool.path} has no libfaketime.so.1 beside it (${join(tool.root, 'usr/lib/<arch>/faketime')}, ` +
        `Debian package libfaketime): sudo apt-get install libfaketime, or unset ` +
        `MOSAIC_FAKETIME to have it fetched`,
      { details: { root: tool.root, command: 'sudo apt-get install libfaketime' } },
    );
  return {
    tool,
    library,
    env(spec, base = process.env) {
      const preload = base['LD_PRELOAD'];
      return {
        ...tool.env,
        LD_PRELOAD: preload === undefined || preload === '' ? library : `${library}:${preload}`,
        FAKETIME: spec,
      };
    },
  };
}

async function findLibfaketime(root: string): Promise<string | undefined> {
  const lib = join(root, 'usr', 'lib');
  let names: string[];
  try {
    names = await readdir(lib);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw err;
  }
  const candidates = [
    ...names.filter((n) => n.includes('-linux-')).map((n) => join(lib, n, 'faketime')),
    join(lib, 'faketime'),
  ].map((dir) => join(dir, 'libfaketime.so.1'));
  for (const path of candidates) {
    const isFile = await stat(path).then(
      (s) => s.isFile(),
      (err: unknown) => {
        if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return false;
        throw err;
      },
    );
    if (isFile) return path;
  }
  return undefined;
}
