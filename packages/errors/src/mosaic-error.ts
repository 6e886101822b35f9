import type { ErrorCode } from './codes.ts';

/** What crosses the wire or the CLI's stderr when an operation fails. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: unknown;
}

/**
 * The one error class of Mosaic. Match on `code`, never on `message`.
 *
 * @example
 * ```ts
 * throw new MosaicError('ERR_SCHEMA', 'report does not match the schema', { details: issues });
 * ```
 */
export class MosaicError extends Error {
  override readonly name = 'MosaicError';
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: unknown; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }

  toJSON(): ErrorBody {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/** True when `err` is a MosaicError, optionally with the given code. */
export function isMosaicError(err: unknown, code?: ErrorCode): err is MosaicError {
  return err instanceof MosaicError && (code === undefined || err.code === code);
}
