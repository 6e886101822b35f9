export { connectAgency } from './agency.ts';
export type { AgencyClient, ConnectAgencyOptions, PublishReply } from './agency.ts';
export { DEFAULT_RETRY } from './retry.ts';
export type { RetryOptions } from './retry.ts';
export type { IngestAccepted, IngestRejected, RelatedReport } from '@mosaic/protocol';
export { keysFromHub } from './keys.ts';
export type { KeysFromHubOptions } from './keys.ts';
export type {
  Alert,
  AlertReason,
  HitNotice,
  InvalidAlert,
  SubscribeOptions,
  SubscribeSummary,
} from './subscribe.ts';
export { selectorKeyInfo, selectorTokens } from './selector-tokens.ts';
export type { SelectorKeyInfo, SelectorTokensOptions } from './selector-tokens.ts';
export { registerHoldings, withdrawHoldings, checkSelectors } from './holdings.ts';
export type { Holding, HoldingsOptions } from './holdings.ts';
export {
  LeafStreams,
  HUB_SEQ_HEADER,
  outboxSubject,
  ensureLeafStreams,
  queueSubmission,
  forwardOutbox,
  checkLeafAlerts,
} from './leaf.ts';
export type { ForwardOutboxOptions, LeafAlertsCheck } from './leaf.ts';
