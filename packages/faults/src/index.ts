export { FaultCluster } from './cluster.ts';
export type {
  FaultNode,
  FaultService,
  StartFaultClusterOptions,
  UnexpectedExit,
} from './cluster.ts';
export { Load, PUBLISHERS, SUBSCRIBERS } from './load.ts';
export { NodeNetwork, networkLeftovers } from './netns.ts';
export type { LoadOptions, Submission } from './load.ts';
export {
  auditVerify,
  checkInvariants,
  compareAlerts,
  readReports,
  routerIdle,
} from './invariants.ts';
export type {
  AlertComparison,
  AlertId,
  AuditVerdict,
  CheckInvariantsOptions,
  CheckedSubmission,
  InvariantReport,
} from './invariants.ts';
export { FaultIds, faultName, fullSizes, longSizes, runFaults, smokeSizes } from './faults.ts';
export { CycleClock, estimateLongRun } from './cycles.ts';
export type { FaultId, FaultResult, FaultSizes, RunFaultsOptions } from './faults.ts';
export { percentile, renderFaultTable } from './table.ts';
export { SERVICE_BURST, readAuditChain } from './services.ts';
export type { AuditChain } from './services.ts';
