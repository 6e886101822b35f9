export { ensureNatsServer, defaultCacheDir, minNatsServerVersion } from './ensure.ts';
export type { EnsureNatsServerOptions, NatsServerBinary, NatsServerSource } from './ensure.ts';
export { compareVersions, debianUpstreamVersion, parseNatsVersion } from './version.ts';
export { startNatsServerProcess } from './process.ts';
export type {
  NatsServerPorts,
  NatsServerProcess,
  StartNatsServerProcessOptions,
} from './process.ts';
export { canConnect, httpGet, waitFor } from './wait.ts';
export type { HttpResult } from './wait.ts';
export { ephemeralPortsFrom, freePort, freePorts, portFree } from './ports.ts';
