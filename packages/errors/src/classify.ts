import { ErrorClass, errorCatalogue, type ErrorCode, type ErrorSpec } from './codes.ts';

const byCode: ReadonlyMap<string, ErrorSpec> = new Map(
  Object.values(errorCatalogue).map((spec: ErrorSpec) => [spec.code, spec]),
);

/** True when `value` is a code of this version's catalogue (a newer peer may send others). */
export function isErrorCode(value: string): value is ErrorCode {
  return byCode.has(value);
}

function specOf(code: ErrorCode): ErrorSpec {
  const spec = byCode.get(code);
  // Only reachable by casting a foreign string to ErrorCode: check with isErrorCode first.
  if (spec === undefined) throw new TypeError(`${code} is not a Mosaic error code`);
  return spec;
}

/**
 * Whose move a failure is: the caller's input, the call's usage, the environment or a bug.
 *
 * @example
 * ```ts
 * errorClass('ERR_SCHEMA'); // 'input'
 * ```
 */
export function errorClass(code: ErrorCode): ErrorClass {
  return specOf(code).class;
}

/**
 * True when sending the same request again, unchanged, may succeed (ERR_UNAVAILABLE, …):
 * the SDK retries, the router redelivers, ingest answers `retryable: true`.
 *
 * @example
 * ```ts
 * if (isRetryable(err.code)) msg.nak(1_000); else msg.term(err.code);
 * ```
 */
export function isRetryable(code: ErrorCode): boolean {
  return specOf(code).retryable;
}

/**
 * The HTTP status of a code: the code's own where it declares one (413 for a too large
 * payload, 403 for what the identity may not do, 409 for conflicts, …), else its class's —
 * input 422, usage 400, internal 500, environment 503 when retryable and 500 otherwise.
 * docs/errors.md lists every code's status.
 *
 * @example
 * ```ts
 * res.statusCode = httpStatus(err.code); // 413 for ERR_PAYLOAD_TOO_LARGE
 * ```
 */
export function httpStatus(code: ErrorCode): number {
  const spec = specOf(code);
  if (spec.status !== undefined) return spec.status;
  switch (spec.class) {
    case ErrorClass.Input:
      return 422;
    case ErrorClass.Usage:
      return 400;
    case ErrorClass.Internal:
      return 500;
    case ErrorClass.Environment:
      return spec.retryable ? 503 : 500;
  }
}
