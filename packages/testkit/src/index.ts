export { startServer } from './server.ts';
export type { NatsServerHandle, StartServerOptions } from './server.ts';
export { startCluster } from './cluster.ts';
export type { NatsClusterHandle, StartClusterOptions } from './cluster.ts';
export { testNatsMode } from './mode.ts';
export type { TestNatsMode } from './mode.ts';
export { isRunning, reapRegisteredServers, runDirEnv } from './children.ts';
