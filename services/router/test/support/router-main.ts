/**
 * A router instance in its own process, for crash tests:
 * `node --import tsx router-main.ts <router-context.json> <federation.json> <ackWaitMs> [index]`
 * (`index`: with the selector index, `indexSelectors`).
 * Prints `ready` on stdout once it consumes; SIGTERM drains it.
 */
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import { loadFederation, staticRegistryView } from '@mosaic/federation';
import { createLogger } from '@mosaic/log';
import { announceReady } from '@mosaic/testkit';
import { connect } from '@nats-io/transport-node';
import { startRouter } from '../../src/index.ts';

const [contextPath, federationPath, ackWait, index] = process.argv.slice(2);
if (contextPath === undefined || federationPath === undefined)
  throw new Error('usage: router-main.ts <context.json> <federation.json> [ackWaitMs]');
const nc = await connect({
  ...contextConnectOptions(await readContextFile(contextPath)),
  maxReconnectAttempts: -1,
});
const service = await startRouter({
  nc,
  registry: staticRegistryView(await loadFederation({ path: federationPath })),
  log: createLogger({ service: 'router', pretty: false }),
  ...(ackWait === undefined ? {} : { ackWaitMs: Number(ackWait) }),
  indexSelectors: index === 'index',
});
announceReady(async () => {
  await service.stop();
  await nc.close();
});
