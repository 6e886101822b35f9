import {
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import {
  NoRespondersError,
  RequestError,
  TimeoutError,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';

/**
 * Stops a subscription so that what the server already sent is still handled: drained on a
 * live connection (the iterator ends after the last message), merely unsubscribed on a
 * closed one (nothing more can arrive).
 */
export async function drainSubscription(nc: NatsConnection, sub: Subscription): Promise<void> {
  if (nc.isClosed()) sub.unsubscribe();
  else await sub.drain();
}

/**
 * A JetStream client and manager on a service identity's connection. `checkAPI: false`: a
 * service identity may not call `$JS.API.INFO`.
 */
export async function serviceJetStream(
  nc: NatsConnection,
  timeoutMs: number,
): Promise<{ js: JetStreamClient; jsm: JetStreamManager }> {
  const jsm = await jetstreamManager(nc, { checkAPI: false, timeout: timeoutMs });
  return { js: jetstream(nc, { timeout: timeoutMs }), jsm };
}

/**
 * nats-server's JSClusterNotAvailErr (503 "JetStream system temporarily unavailable"): the
 * stream's group has no leader. Other 503s (a store failure, a limit) are not an election.
 */
const JS_CLUSTER_NOT_AVAILABLE = 10008;

/**
 * True when a JetStream request went unanswered or found nobody to answer it — what a
 * stream shows while its leader is gone and no other replica has taken over (a follower
 * answers nothing until its election timeout, 4–9 s in nats-server, runs out): no reply
 * in time, no responders, or the server's 503 "JetStream system temporarily unavailable".
 * Asking again is the way to reach the next leader.
 */
export function isLeaderless(err: unknown): boolean {
  // nats.js wraps a publish's no-responders in a JetStreamNotEnabled, with it as the cause.
  for (let e = err; e instanceof Error; e = e.cause)
    if (
      e instanceof TimeoutError ||
      e instanceof NoRespondersError ||
      (e instanceof RequestError && e.isNoResponders()) ||
      (e instanceof JetStreamApiError && e.code === JS_CLUSTER_NOT_AVAILABLE)
    )
      return true;
  return false;
}

/**
 * Runs a JetStream request (`op`, given the time its attempt may wait) again while it goes
 * unanswered (`isLeaderless`), each attempt waiting at most `attemptMs`, until `timeoutMs`
 * in all have passed; then, or on any other failure, throws what the last attempt threw.
 * So a request sent while a stream elects a new leader is answered soon after the
 * election, not a whole timeout later. Only for requests that may be repeated: reads, and
 * publishes with a message id (JetStream's duplicate window stores one copy).
 */
export async function retryLeaderless<T>(
  op: (attemptMs: number) => Promise<T>,
  options: { attemptMs: number; timeoutMs: number; pauseMs?: number },
): Promise<T> {
  const deadline = performance.now() + options.timeoutMs;
  for (;;) {
    const left = deadline - performance.now();
    const attemptMs = Math.max(1, Math.min(options.attemptMs, Math.ceil(left)));
    const started = performance.now();
    try {
      return await op(attemptMs);
    } catch (err) {
      if (!isLeaderless(err)) throw err;
      // A refusal that came at once (no responders, 503) is not asked again at once.
      const pause = Math.max(0, (options.pauseMs ?? 100) - (performance.now() - started));
      if (performance.now() + pause >= deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}
