export { defaultCacheDir, ensurePythonPackage, jwcrypto, systemPython } from './ensure.ts';
export type {
  EnsurePythonPackageOptions,
  PythonPackage,
  PythonPackageSource,
  PythonRequirement,
} from './ensure.ts';
export { pythonArgs } from './python.ts';
export { packagesToProvide, topLevelModules } from './modules.ts';
export type { PackageModules } from './modules.ts';
