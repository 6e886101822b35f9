export { ensureDebianTool, toolEnvVar } from './tool.ts';
export type {
  DebianTool,
  DebianToolRequest,
  DebianToolSource,
  EnsureDebianToolOptions,
} from './tool.ts';
export { debianTools, parseToolArg } from './tools.ts';
export { ensureFaketime } from './faketime.ts';
export type { Faketime } from './faketime.ts';
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
