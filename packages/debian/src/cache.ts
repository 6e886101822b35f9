import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The cache directory of one kind of fetched thing: `$MOSAIC_CACHE_DIR/<name>` when
 * `MOSAIC_CACHE_DIR` is set, else `<repo root>/.cache/<name>` (git-ignored).
 *
 * @example
 * ```ts
 * defaultCacheDir('nats-server'); // /…/mosaic/.cache/nats-server
 * ```
 */
export function defaultCacheDir(name: string): string {
  const base = process.env['MOSAIC_CACHE_DIR'];
  return base !== undefined && base !== ''
    ? join(resolve(base), name)
    : join(repoRoot, '.cache', name);
}

/** `text` safe as part of a file name (a Debian version may hold `:`). */
export function safeName(text: string): string {
  return text.replace(/[^\w.+~-]/g, '_');
}
