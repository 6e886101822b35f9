export { ErrorClass, ErrorCode, errorCatalogue } from './codes.ts';
export type { ErrorSpec } from './codes.ts';
export { errorClass, httpStatus, isErrorCode, isRetryable } from './classify.ts';
export { MosaicError, isMosaicError } from './mosaic-error.ts';
export type { ErrorBody } from './mosaic-error.ts';
export { unavailable } from './unavailable.ts';
