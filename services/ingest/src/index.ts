export {
  startIngest,
  DEFAULT_CLOCK_SKEW_MS,
  DEFAULT_INGEST_CONCURRENCY,
  DEFAULT_MAX_REPORT_AGE_MS,
} from './ingest.ts';
export type { IngestObserver, IngestOptions, IngestService } from './ingest.ts';
export { SUBMISSION_CAP_BYTES, DETAILS_CAP_CHARS } from './rejection.ts';
export type { RejectionRecord } from './rejection.ts';
