/**
 * The top-level importable names among the entries of a `dist-packages` directory: package
 * directories (`jwcrypto`), modules (`typing_extensions.py`) and extension modules
 * (`_cffi_backend.cpython-311-x86_64-linux-gnu.so`). Metadata (`*.dist-info`, `*.egg-info`),
 * `.pth` files and caches are not modules.
 */
export function topLevelModules(entries: readonly string[]): string[] {
  const names = new Set<string>();
  for (const entry of entries) {
    const name = /^([A-Za-z_]\w*)(?:\.py|(?:\.[\w-]+)?\.so)?$/.exec(entry)?.[1];
    if (name !== undefined && name !== '__pycache__') names.add(name);
  }
  return [...names].sort();
}

/** A Debian package and the top-level Python modules it ships. */
export interface PackageModules {
  name: string;
  modules: readonly string[];
}

/**
 * Of the packages apt would install, those to put on `sys.path`: every package with a module
 * the interpreter cannot import already. A package without any Python module (a C library,
 * say) cannot be provided through `sys.path`; those are returned apart.
 */
export function packagesToProvide(
  packages: readonly PackageModules[],
  importable: ReadonlySet<string>,
): { provide: string[]; unprovidable: string[] } {
  const provide: string[] = [];
  const unprovidable: string[] = [];
  for (const p of packages) {
    if (p.modules.length === 0) unprovidable.push(p.name);
    else if (p.modules.some((m) => !importable.has(m))) provide.push(p.name);
  }
  return { provide, unprovidable };
}
