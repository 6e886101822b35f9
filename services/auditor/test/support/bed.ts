import { generateHubKey } from '@mosaic/audit-log';
import { createLogger } from '@mosaic/log';
import { ensureAuditStreams, streamConfigs, type Stream } from '@mosaic/protocol';
import { startServer, type NatsServerHandle } from '@mosaic/testkit';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';

/** What an auditor test runs against: one nats-server, a connection, the hub's key. */
export interface AuditorTestBed {
  server: NatsServerHandle;
  nc: NatsConnection;
  jsm: JetStreamManager;
  key: Awaited<ReturnType<typeof generateHubKey>>;
  close(): Promise<void>;
}

/** The auditor's logger in tests: silent unless MOSAIC_LOG_LEVEL says otherwise. */
export const testLog = createLogger({
  service: 'auditor',
  level: process.env['MOSAIC_LOG_LEVEL'] ?? 'silent',
});

/** A fresh nats-server with `streams` and the audit streams created, and a hub key. */
export async function openAuditorTestBed(streams: readonly Stream[]): Promise<AuditorTestBed> {
  const server = await startServer();
  const nc = await connect({ servers: server.url });
  const jsm = await jetstreamManager(nc);
  const configs = streamConfigs();
  for (const stream of streams) await jsm.streams.add(configs[stream]);
  await ensureAuditStreams(jsm);
  const key = await generateHubKey('mosaic-test');
  return {
    server,
    nc,
    jsm,
    key,
    async close() {
      await nc.close();
      await server[Symbol.asyncDispose]();
    },
  };
}
