/**
 * An ingest instance in its own process, for crash tests:
 * `node --import tsx ingest-main.ts <ingest-context.json> <federation.yaml>`.
 * Prints `ready` on stdout once it serves; SIGTERM drains it.
 */
import {
  contextConnectOptions,
  loadFederation,
  readContextFile,
  staticRegistryView,
} from '@mosaic/federation';
import { createLogger } from '@mosaic/log';
import { connect } from '@nats-io/transport-node';
import { startIngest } from '../../src/index.ts';

const [contextPath, federationPath] = process.argv.slice(2);
if (contextPath === undefined || federationPath === undefined)
  throw new Error('usage: ingest-main.ts <context.json> <federation.yaml>');
const nc = await connect({
  ...contextConnectOptions(await readContextFile(contextPath)),
  maxReconnectAttempts: -1,
});
const service = await startIngest({
  nc,
  registry: staticRegistryView(await loadFederation({ path: federationPath })),
  log: createLogger({ service: 'ingest', pretty: false }),
});
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void service
    .stop()
    .then(() => nc.close())
    .then(() => process.exit(0));
});
