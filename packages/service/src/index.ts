export { serviceLogger } from './logger.ts';
export { limit } from './limit.ts';
export type { Limit, LimitOptions } from './limit.ts';
export { serviceHandle } from './service.ts';
export type { Health, HealthReportingService, Service } from './service.ts';
export { drainSubscription, isLeaderless, retryLeaderless, serviceJetStream } from './nats.ts';
