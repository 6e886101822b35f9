import { JetStreamApiError } from '@nats-io/jetstream';
import { jserrors } from '@nats-io/jetstream/internal';
import { errors } from '@nats-io/transport-node';
import type { Logger } from '@mosaic/log';

/**
 * JetStream's "no suitable peers for placement" and "insufficient resources": a stream
 * with more replicas than the peers the meta leader knows of yet.
 */
const PEERS_NOT_YET_KNOWN = new Set([10005, 10023]);

/**
 * What a clustered nats-server answered, under load at start-up, to a stream create it was
 * still applying (the create asked again after a time-out): the stream's store could not be
 * made because the first create was making it. Asking again finds the stream.
 */
const STORE_BEING_CREATED = /error creating store for stream/;

/**
 * True for what a cluster answers while it is still forming: no meta leader yet, the
 * account's JetStream not yet enabled on the node asked (HTTP-like status 503), not yet
 * enough peers for the replicas, a stream's store still being made by an earlier create, a
 * request nobody answered in time, or nobody listening.
 */
function isStartingUp(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause)
    if (
      (e instanceof JetStreamApiError &&
        (e.status === 503 ||
          PEERS_NOT_YET_KNOWN.has(e.code) ||
          STORE_BEING_CREATED.test(e.message))) ||
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
