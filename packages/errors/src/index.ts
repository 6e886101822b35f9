export { ErrorClass, ErrorCode, errorCatalogue } from './codes.ts';
export type { ErrorSpec } from './codes.ts';
export { errorClass, httpStatus, isErrorCode, isRetryable } from './classify.ts';
export { issuePath, toIssues } from './issues.ts';
export type { Issue, IssueSource } from './issues.ts';
export { MosaicError, isMosaicError } from './mosaic-error.ts';
export type { ErrorBody } from './mosaic-error.ts';
export { unavailable } from './unavailable.ts';
export { errnoOf, isProcessAlive } from './system-error.ts';
