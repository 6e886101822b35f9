export { defaultCacheDir } from './cache.ts';
export {
  debianArchiveKeyring,
  findDebianMirror,
  parseDeb822Sources,
  parseOneLineSources,
  readAptSources,
} from './apt-sources.ts';
export type { AptSource } from './apt-sources.ts';
export { mirrorSuiteSourceLines, ownReleaseSourceLines } from './source-lines.ts';
export { parseAptSimulation } from './apt-output.ts';
export type { AptInstall } from './apt-output.ts';
