export { startHub } from './hub.ts';
export type { Hub, StartHubOptions } from './hub.ts';
export { DEMO_KEY_ID } from './demo-keys.ts';
export { initCluster, clusterNodes } from './cluster-init.ts';
export type { InitClusterOptions, InitClusterResult } from './cluster-init.ts';
export type { ClusterNode, StoreLimits } from './node-config.ts';
export {
  HUB_CONFIG_JSON_SCHEMA_ID,
  ServeServices,
  generateHubConfigJsonSchema,
  hubConfigSchema,
  readHubConfig,
} from './hub-config.ts';
export type { HubConfig, ServeService } from './hub-config.ts';
export { serve } from './serve.ts';
export { announceServices } from './service-api.ts';
export type { AnnouncedServices } from './service-api.ts';
export type { ServeOptions, Served } from './serve.ts';
export { NotReady, readinessProblems } from './readiness.ts';
export type { ReadinessProblem, ReadinessTarget } from './readiness.ts';
export { HUB_NODE_FLAGS, MOSAIC_NODE_FLAGS } from './node-flags.ts';
export { startDevCluster } from './dev-cluster.ts';
export type { DevCluster, DevClusterProcess, StartDevClusterOptions } from './dev-cluster.ts';
