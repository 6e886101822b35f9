/** The `Symbol.for` key under which a compiled copy's first line stores its build. */
export const BUILD_KEY = 'mosaic.build';

/**
 * The build of the compiled copy this process runs (its first line sets it), or `'source'`
 * when it runs from the TypeScript source: `mosaic serve` and `mosaic dev` log it.
 */
export function runningBuild(): string {
  const build = (globalThis as Record<symbol, unknown>)[Symbol.for(BUILD_KEY)];
  return typeof build === 'string' ? build : 'source';
}
