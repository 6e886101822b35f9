import { ErrorCode } from './codes.ts';
import { MosaicError, isMosaicError } from './mosaic-error.ts';

/**
 * The error for a failed call to the broker or the hub's storage: ERR_UNAVAILABLE, nothing
 * was decided and the same request may be sent again. `details.operation` names what
 * failed. A MosaicError cause already says what went wrong and is returned as it is.
 *
 * @example
 * ```ts
 * try {
 *   return await js.publish(subject, data);
 * } catch (err) {
 *   throw unavailable('REPORTS append', err);
 * }
 * ```
 */
export function unavailable(operation: string, cause: unknown): MosaicError {
  if (isMosaicError(cause)) return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new MosaicError(ErrorCode.Unavailable, `${operation} failed: ${reason}`, {
    details: { operation },
    cause,
  });
}
