export { connectAgency } from './agency.ts';
export type { AgencyClient, ConnectAgencyOptions, PublishReply } from './agency.ts';
export { DEFAULT_RETRY } from './retry.ts';
export type { RetryOptions } from './retry.ts';
export type { IngestAccepted, IngestRejected } from '@mosaic/federation';
