/**
 * The build of the compiled copy this process runs (its first line sets it), or `'source'`
 * when it runs from the TypeScript source: `mosaic serve` and `mosaic dev` log it.
 */
export function runningBuild(): string {
  const build = (globalThis as Record<symbol, unknown>)[Symbol.for('mosaic.build')];
  return typeof build === 'string' ? build : 'source';
}
