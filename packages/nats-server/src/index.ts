export { ensureNatsServer, defaultCacheDir, minNatsServerVersion } from './ensure.ts';
export type { EnsureNatsServerOptions, NatsServerBinary, NatsServerSource } from './ensure.ts';
export { compareVersions, debianUpstreamVersion, parseNatsVersion } from './version.ts';
export {
  debianArchiveKeyring,
  findDebianMirror,
  parseDeb822Sources,
  parseOneLineSources,
  readAptSources,
} from './apt-sources.ts';
export type { AptSource } from './apt-sources.ts';
export { startNatsServerProcess } from './process.ts';
export type {
  NatsServerPorts,
  NatsServerProcess,
  StartNatsServerProcessOptions,
} from './process.ts';
export { canConnect, httpGet, waitFor } from './wait.ts';
export type { HttpResult } from './wait.ts';
