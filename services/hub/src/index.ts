export { startHub } from './hub.ts';
export type { Hub, StartHubOptions } from './hub.ts';
export { DEMO_KEY_ID } from './demo-keys.ts';
export { connectOperator, parseTime } from './operator.ts';
export type {
  OperatorAudit,
  OperatorSession,
  RegistryAgreement,
  RegistryChange,
} from './operator.ts';
export { waitForAgency, waitForAgencyGone } from './agency-ready.ts';
