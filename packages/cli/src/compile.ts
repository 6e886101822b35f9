import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build as esbuild, type Plugin } from 'esbuild';
import { BUILD_KEY } from './build.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** What `compile` wrote beside its output: which build, where, and from what. */
export interface CompiledManifest {
  /** Names this build; the compiled module's first line carries it too. */
  build: string;
  /** The repository it was built in, as a real path: a moved or copied install runs from source. */
  root: string;
  /** Every file it was built from: the sources, the TypeScript and package manifests, the lockfile. */
  inputs: { path: string; size: number; mtimeMs: number }[];
}

/**
 * The manifest beside a compiled copy (`dist/mosaic.mjs` → `dist/mosaic.inputs`): the build,
 * the root, then one line per input, `<size> <mtimeMs> <path>`. The bin runs the copy only
 * while every input still has that size and modification time.
 */
function manifestPath(outfile: string): string {
  return `${outfile.replace(/\.mjs$/, '')}.inputs`;
}

/** The compiled module's first line: it names its build (the bin compares it with the manifest's). */
const buildLine = (build: string): string =>
  `globalThis[Symbol.for(${JSON.stringify(BUILD_KEY)})] = ${JSON.stringify(build)};`;

const RESOLVING = Symbol('resolving');

/**
 * The workspace's TypeScript goes into the copy; every other package stays outside it,
 * imported at run time (by file URL) from the very file node resolves from the importing
 * source (a workspace may hold its own version of a package), so their code runs as it does
 * from source. Each source's `import.meta.url` is its own file's URL, so that paths relative
 * to a source (the examples, the package manifest, the bin) still resolve; any other
 * `import.meta` property would not, and fails the build.
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
      return { path: pathToFileURL(found.path).href, external: true };
    });
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const contents = source.replaceAll(
        'import.meta.url',
        JSON.stringify(pathToFileURL(args.path).href),
      );
      const other = /import\.meta\.(?!url)\w+/.exec(contents);
      if (other !== null)
        return {
          errors: [{ text: `${other[0]} has no compiled equivalent: use import.meta.url` }],
        };
      return { contents, loader: 'ts' };
    });
  },
};

async function manifests(): Promise<string[]> {
  const dirs = await Promise.all(
    ['packages', 'services'].map(async (group) =>
      (await readdir(join(repoRoot, group), { withFileTypes: true }))
        .filter((d) => d.isDirectory())
        .map((d) => join(repoRoot, group, d.name, 'package.json')),
    ),
  );
  const candidates = ['package.json', 'package-lock.json', 'tsconfig.json']
    .map((f) => join(repoRoot, f))
    .concat(dirs.flat());
  const present = await Promise.all(
    candidates.map((f) =>
      stat(f).then(
        () => f,
        () => undefined,
      ),
    ),
  );
  return present.filter((f) => f !== undefined);
}

/**
 * Compiles the TypeScript module `entry` and the workspace sources it imports into one ES
 * module, `outfile`, with its source map and its manifest ({@link manifestPath}). Node then
 * runs it without tsx, whose loader thread and transforms cost a hub ~45 MB. Each file is
 * written beside its final name and renamed into place, the manifest last, and the module
 * names its build, so that a process starting meanwhile runs a whole copy that its manifest
 * vouches for, or the source. Throws when a source changed while it was being compiled.
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
  const started = Date.now();
  const build = randomUUID();
  const outfile = resolve(options.outfile);
  const result = await esbuild({
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
    banner: { js: buildLine(build) },
    metafile: true,
    logLevel: 'silent',
    plugins: [workspaceOnly],
  });
  const paths = [
    ...Object.keys(result.metafile.inputs).map((p) => resolve(p)),
    ...(await manifests()),
  ];
  const inputs = await Promise.all(
    paths.map(async (path) => {
      const { size, mtimeMs } = await stat(path);
      return { path, size, mtimeMs };
    }),
  );
  const changed = inputs.filter((i) => i.mtimeMs >= started);
  if (changed.length > 0)
    throw new Error(
      `${changed.map((i) => i.path).join(', ')} changed while the command was compiled: compile again`,
    );
  const manifest: CompiledManifest = { build, root: await realpath(repoRoot), inputs };
  const lines = [
    build,
    manifest.root,
    ...inputs.map((i) => `${String(i.size)} ${String(i.mtimeMs)} ${i.path}`),
  ];
  // The source map first, the code, then the manifest that vouches for both.
  const files: { path: string; contents: Uint8Array | string }[] = [...result.outputFiles]
    .sort((a, b) => Number(b.path.endsWith('.map')) - Number(a.path.endsWith('.map')))
    .map((f) => ({ path: f.path, contents: f.contents }));
  files.push({ path: manifestPath(outfile), contents: `${lines.join('\n')}\n` });
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
