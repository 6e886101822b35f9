import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** What `compile` wrote beside its output: when it started, and what it read. */
export interface CompiledManifest {
  /** When the build started (ms since the epoch): a source changed later is newer than the copy. */
  builtAt: number;
  /** Every file the copy was built from, absolute: the sources and the package manifests. */
  inputs: string[];
}

/**
 * The manifest beside a compiled copy (`dist/mosaic.mjs` → `dist/mosaic.inputs`): the time
 * its build started, in ms since the epoch, then each file it was built from, one per line.
 */
function manifestPath(outfile: string): string {
  return `${outfile.replace(/\.mjs$/, '')}.inputs`;
}

const RESOLVING = Symbol('resolving');

/**
 * The workspace's TypeScript goes into the copy; every other package stays outside it,
 * imported at run time from the very file node resolves from the importing source (a
 * workspace may hold its own version of a package), so their code runs as it does from
 * source. Each source's `import.meta.url` is its own file's URL, so that paths relative to
 * a source (the examples, the package manifest, the bin) still resolve.
 */
const workspaceOnly: Plugin = {
  name: 'mosaic-workspace-only',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === RESOLVING) return undefined;
      if (isBuiltin(args.path)) return { path: args.path, external: true };
      if (args.path.startsWith('@mosaic/')) return undefined;
      const found = await b.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: RESOLVING,
      });
      if (found.errors.length > 0) return { errors: found.errors };
      return { path: found.path, external: true };
    });
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const url = JSON.stringify(pathToFileURL(args.path).href);
      return { contents: source.replaceAll('import.meta.url', url), loader: 'ts' };
    });
  },
};

async function packageManifests(): Promise<string[]> {
  const dirs = await Promise.all(
    ['packages', 'services'].map(async (group) =>
      (await readdir(join(repoRoot, group), { withFileTypes: true }))
        .filter((d) => d.isDirectory())
        .map((d) => join(repoRoot, group, d.name, 'package.json')),
    ),
  );
  return [join(repoRoot, 'package.json'), join(repoRoot, 'package-lock.json'), ...dirs.flat()];
}

/**
 * Compiles the TypeScript module `entry` and the workspace sources it imports into one ES
 * module, `outfile`, with its source map and its manifest ({@link manifestPath}). Node then
 * runs it without tsx, whose loader thread and transforms cost a process ~75–90 MB. Each
 * file is written beside its final name first and renamed into place, the manifest last:
 * a process starting meanwhile finds the previous copy whole, or this one.
 *
 * @example
 * ```ts
 * await compile({ entry: 'packages/cli/src/main.ts', outfile: 'packages/cli/dist/mosaic.mjs' });
 * ```
 */
export async function compile(options: {
  entry: string;
  outfile: string;
}): Promise<CompiledManifest> {
  const builtAt = Date.now();
  const outfile = resolve(options.outfile);
  const result = await build({
    entryPoints: [resolve(options.entry)],
    outfile,
    write: false,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Node's own resolution: no `module` condition or field, which esbuild adds by default.
    conditions: [],
    mainFields: ['main'],
    // Classes and functions keep their names (error names, logs) where bundling renames them.
    keepNames: true,
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'silent',
    plugins: [workspaceOnly],
  });
  const inputs = [
    ...Object.keys(result.metafile.inputs).map((p) => resolve(p)),
    ...(await packageManifests()),
  ];
  const manifest: CompiledManifest = { builtAt, inputs };
  // The source map first, the code, then the manifest that vouches for both.
  const files: { path: string; contents: Uint8Array | string }[] = [...result.outputFiles]
    .sort((a, b) => Number(b.path.endsWith('.map')) - Number(a.path.endsWith('.map')))
    .map((f) => ({ path: f.path, contents: f.contents }));
  files.push({ path: manifestPath(outfile), contents: `${[builtAt, ...inputs].join('\n')}\n` });
  await mkdir(dirname(outfile), { recursive: true });
  for (const file of files) {
    const staging = `${file.path}.${String(process.pid)}.tmp`;
    try {
      await writeFile(staging, file.contents);
      await rename(staging, file.path);
    } finally {
      await rm(staging, { force: true });
    }
  }
  return manifest;
}
