import {
  ConnectionError,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from '@nats-io/transport-node';
import { isErrorCode, isRetryable } from '@mosaic/errors';
import type { IngestRejected } from '@mosaic/protocol';

/** How `publish` retries transport failures. */
export interface RetryOptions {
  /** Attempts in all, the first included; default 6. */
  attempts?: number;
  /** Delay before the first retry; doubles each time up to `maxDelayMs`; default 250 ms. */
  initialDelayMs?: number;
  /** Longest delay between attempts; default 5 000 ms. */
  maxDelayMs?: number;
}

export const DEFAULT_RETRY = { attempts: 6, initialDelayMs: 250, maxDelayMs: 5_000 } as const;

/**
 * True for failures where the hub may not have seen the submission, or not finished it:
 * no answer in time, nobody serving the subject (ingest restarting), the connection lost.
 * Sending the same bytes again is safe because ingest is idempotent.
 */
export function isTransportFailure(err: unknown): boolean {
  return (
    err instanceof TimeoutError ||
    err instanceof NoRespondersError ||
    err instanceof RequestError ||
    err instanceof ConnectionError
  );
}

/**
 * True when the hub's refusal is worth sending the same bytes again: its code is retryable
 * in the catalogue (ERR_UNAVAILABLE: nothing was decided). A code this version does not
 * know comes from a newer hub, whose `retryable` flag decides.
 */
export function shouldRetry(reply: IngestRejected): boolean {
  return isErrorCode(reply.code) ? isRetryable(reply.code) : reply.retryable === true;
}

/** The longest delay before retry `n` (1-based): doubling from the first, up to the maximum. */
function backoffCeiling(n: number, options: Required<RetryOptions>): number {
  return Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** (n - 1));
}

/** The delay before retry `n` (1-based): exponential with full jitter in its upper half. */
export function backoffDelay(n: number, options: Required<RetryOptions>): number {
  const ceiling = backoffCeiling(n, options);
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/**
 * The longest a request with these retries can take before it gives up: every attempt
 * waiting its full `timeoutMs`, plus the longest backoff between attempts.
 */
export function longestRetriedMs(timeoutMs: number, options: Required<RetryOptions>): number {
  let ms = options.attempts * timeoutMs;
  for (let n = 1; n < options.attempts; n++) ms += backoffCeiling(n, options);
  return ms;
}
