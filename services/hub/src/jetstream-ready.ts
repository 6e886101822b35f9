import { JetStreamApiError } from '@nats-io/jetstream';
import { jserrors } from '@nats-io/jetstream/internal';
import { errors } from '@nats-io/transport-node';
import type { Logger } from '@mosaic/log';

/**
 * True for what a cluster answers while it is still forming: no meta leader yet, the
 * account's JetStream not yet enabled on the node asked (HTTP-like status 503), a request
 * nobody answered in time, or nobody listening yet.
 */
export function isStartingUp(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause)
    if (
      (e instanceof JetStreamApiError && e.status === 503) ||
      e instanceof jserrors.JetStreamNotEnabled ||
      e instanceof errors.TimeoutError ||
      e instanceof errors.NoRespondersError
    )
      return true;
  return false;
}

/**
 * Runs `step` until it succeeds, retrying while the cluster is still starting up
 * (`isStartingUp`) for at most `timeoutMs`; anything else, or still failing after that,
 * is thrown. Logs once when it starts waiting, naming what the cluster answered.
 */
export async function whenJetStreamReady<T>(
  step: () => Promise<T>,
  options: { log: Logger; timeoutMs: number; what: string },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let waiting = false;
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (!isStartingUp(err) || Date.now() >= deadline) throw err;
      if (!waiting) {
        waiting = true;
        options.log.warn(
          { err, timeoutSeconds: options.timeoutMs / 1000 },
          `waiting for JetStream to ${options.what}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 100 * attempt)));
    }
  }
}
