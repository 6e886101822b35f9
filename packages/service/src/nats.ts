import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';

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
