import { fileURLToPath } from 'node:url';
import { run } from '@mosaic/debian/internal';

const bootstrap = fileURLToPath(new URL('./bootstrap.py', import.meta.url));

/**
 * Arguments for the interpreter to run `script` (or `-c`, code) isolated (`-I`: no
 * PYTHONPATH, no user site) with `paths` first on `sys.path`.
 *
 * @example
 * ```ts
 * execFile(found.python, pythonArgs(found.paths, 'verify_jws.py'));
 * ```
 */
export function pythonArgs(
  paths: readonly string[],
  script: string,
  ...args: readonly string[]
): string[] {
  return ['-I', bootstrap, JSON.stringify(paths), script, ...args];
}

export interface PythonInfo {
  path: string;
  /** `3.11.2` */
  version: string;
  /** The ABI tag of compiled modules, e.g. `cpython-311-x86_64-linux-gnu`. */
  soabi: string;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; reason: string };

async function runJson(python: string, paths: readonly string[], code: string, arg = '') {
  const out = await run(python, pythonArgs(paths, '-c', code, arg), {
    timeoutMs: 60_000,
    label: `${python} -I`,
  });
  if (!out.ok) return { ok: false as const, reason: out.reason };
  return { ok: true as const, value: JSON.parse(out.stdout) as unknown };
}

/** The interpreter's version and ABI tag, or why it cannot be run. */
export async function probePython(python: string): Promise<Outcome<PythonInfo>> {
  const out = await runJson(
    python,
    [],
    'import json, sys, sysconfig\n' +
      'print(json.dumps(["%d.%d.%d" % sys.version_info[:3], sysconfig.get_config_var("SOABI")]))',
  );
  if (!out.ok) return out;
  const [version, soabi] = out.value as [string, string | null];
  if (soabi === null) return { ok: false, reason: `${python} reports no SOABI` };
  return { ok: true, value: { path: python, version, soabi } };
}

/** Whether `import <imports>` works with `paths` first on `sys.path`; else the error. */
export async function canImport(
  python: string,
  paths: readonly string[],
  imports: readonly string[],
): Promise<Outcome<true>> {
  const out = await run(python, pythonArgs(paths, '-c', `import ${imports.join(', ')}`), {
    timeoutMs: 60_000,
    label: `${python} -I -c 'import ${imports.join(', ')}'`,
  });
  return out.ok ? { ok: true, value: true } : { ok: false, reason: out.reason };
}

/** Those of the top-level module `names` the interpreter finds without extra paths. */
export async function importableModules(
  python: string,
  names: readonly string[],
): Promise<Outcome<Set<string>>> {
  const out = await runJson(
    python,
    [],
    'import importlib.util, json, sys\n' +
      'print(json.dumps([n for n in json.loads(sys.argv[1]) if importlib.util.find_spec(n)]))',
    JSON.stringify(names),
  );
  if (!out.ok) return out;
  return { ok: true, value: new Set(out.value as string[]) };
}
