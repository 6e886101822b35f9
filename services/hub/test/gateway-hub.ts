/**
 * A real hub with its HTTP gateway for the gateway, TAXII and hit-alert tests: a gateway
 * token per demo agency, and the break-glass identity to read the streams.
 */
import { join } from 'node:path';
import { connectOperator, issueGatewayToken } from '@mosaic/operator';
import { ROUTER_CONSUMER, Streams } from '@mosaic/protocol';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { startHub, type Hub, type StartHubOptions } from '../src/index.ts';
import { connectContext, quietLog, tempDir } from './helpers.ts';

/** The demo agencies and their countries. */
export const AGENCIES = [
  ['nl-police', 'NL'],
  ['de-bka', 'DE'],
  ['ro-dicot', 'RO'],
  ['ngo-lastrada', 'NL'],
] as const;

/** Raised enough for a test that pages thousands of alerts as one agency. */
export const GENEROUS_RATE_LIMIT = { rateLimit: { max: 100_000, windowMs: 60_000 } };

export interface GatewayHub {
  hub: Hub;
  /** The break-glass identity's connection and its JetStream manager. */
  admin: NatsConnection;
  adminJsm: JetStreamManager;
  /** Each agency's gateway token and its record id. */
  tokens: Map<string, { token: string; id: string }>;
  stop(): Promise<void>;
}

/** Starts the hub in a temp dir and issues every demo agency a gateway token. */
export async function startGatewayHub(
  justification: string,
  gateway?: StartHubOptions['gateway'],
): Promise<GatewayHub> {
  const dir = await tempDir();
  const hub = await startHub({
    dataDir: dir.path,
    port: 0,
    log: quietLog,
    ...(gateway === undefined ? {} : { gateway }),
  });
  const admin = await connectContext(join(dir.path, 'breakglass', 'admin.json'));
  const tokens = new Map<string, { token: string; id: string }>();
  await using op = await connectOperator(join(hub.contextsDir, 'operator.json'));
  for (const [agency] of AGENCIES) {
    const { token, record } = await issueGatewayToken(op, { agency, justification });
    tokens.set(agency, { token, id: record.id });
  }
  return {
    hub,
    admin,
    adminJsm: await jetstreamManager(admin),
    tokens,
    async stop() {
      await admin.close();
      await hub.stop();
      await dir[Symbol.asyncDispose]();
    },
  };
}

/** An HTTP Basic authorization header. */
export function basic(user: string, token: string): string {
  return `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`;
}

/** Waits (bounded) until the router has routed every stored report. */
export async function routerIdle(jsm: JetStreamManager, timeoutMs = 60_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
    const info = await jsm.consumers.info(Streams.Reports, ROUTER_CONSUMER);
    if (info.num_pending + info.num_ack_pending === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the router did not route every report within ${String(timeoutMs / 1000)} s`);
}
