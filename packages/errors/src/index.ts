export { ErrorCode } from './codes.ts';
export { MosaicError, isMosaicError } from './mosaic-error.ts';
export type { ErrorBody } from './mosaic-error.ts';
export { errnoOf, isProcessAlive } from './system-error.ts';
