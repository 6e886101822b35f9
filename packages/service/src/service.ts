/**
 * Whether a service does its work; when not, what it found. A service that can be unhealthy
 * while it runs (the auditor on a damaged log) says so through `health()`; its own type may
 * add fields where the problem lies.
 */
export type Health = { ok: true } | { ok: false; problem: string; reason: string };

/** A running service instance. */
export interface Service extends AsyncDisposable {
  /**
   * Stops taking work, finishes the work in hand, then resolves. Calling it again returns
   * the same promise.
   */
  stop(): Promise<void>;
}

/** A service that can be unhealthy while it runs; `H` may say more about where. */
export interface HealthReportingService<H extends Health = Health> extends Service {
  /** Whether it does its work now; when not, what it found. */
  health(): H;
}

/**
 * The handle of a running service: `stop` runs `drain` once — every later call, and
 * `Symbol.asyncDispose`, returns the same promise — and `extra` adds what else the service
 * offers.
 *
 * @example
 * ```ts
 * return serviceHandle(async () => {
 *   await drainSubscription(nc, sub);
 *   await tasks.idle();
 *   log.info('ingest stopped');
 * });
 * ```
 */
export function serviceHandle<T extends object = object>(
  drain: () => Promise<void>,
  extra?: T,
): T & Service {
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= drain());
  return { ...(extra as T), stop, [Symbol.asyncDispose]: stop };
}
