/**
 * An ingest instance in its own process, for crash tests:
 * `node --import tsx ingest-main.ts <ingest-context.json> <federation.yaml> <accounts.json>`
 * (accounts.json: agency id → its broker account's public key).
 * Prints `ready` on stdout once it serves; SIGTERM drains it.
 */
import { readFile } from 'node:fs/promises';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import { loadFederation, staticRegistryView } from '@mosaic/federation';
import { createLogger } from '@mosaic/log';
import { announceReady } from '@mosaic/testkit';
import { connect } from '@nats-io/transport-node';
import { startIngest } from '../../src/index.ts';

const [contextPath, federationPath, accountsPath] = process.argv.slice(2);
if (contextPath === undefined || federationPath === undefined || accountsPath === undefined)
  throw new Error('usage: ingest-main.ts <context.json> <federation.yaml> <accounts.json>');
const accounts = JSON.parse(await readFile(accountsPath, 'utf8')) as Record<string, string>;
const nc = await connect({
  ...contextConnectOptions(await readContextFile(contextPath)),
  maxReconnectAttempts: -1,
});
const service = await startIngest({
  nc,
  registry: staticRegistryView(await loadFederation({ path: federationPath })),
  log: createLogger({ service: 'ingest', pretty: false }),
  accounts: { accountOf: (agency) => accounts[agency] },
});
announceReady(async () => {
  await service.stop();
  await nc.close();
});
