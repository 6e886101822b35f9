/**
 * A broker as the hub configures it, for the tests of the packages above this one: a real
 * nats-server (`@mosaic/testkit`) with the accounts and permissions of `brokerAuthConfig`,
 * the hub streams, and connections as any identity. Exported as
 * `@mosaic/identities/test-support`: the test kit sits below this package (whose own tests
 * use it), so it cannot hold a broker that needs identities; the services sit above, so
 * their tests build their own service on top of this one.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Federation } from '@mosaic/federation';
import { ensureStreams } from '@mosaic/protocol';
import { startServer, type NatsServerHandle } from '@mosaic/testkit';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  brokerAuthConfig,
  contextConnectOptions,
  contextFile,
  createIdentities,
  parseContextFile,
  type IdentitySet,
  type NatsIdentity,
} from '../../src/index.ts';

export interface BrokerHubOptions {
  /** Extra server configuration, e.g. `max_payload: 2MB`. */
  config?: string;
  /** Create the hub streams (`ensureStreams`); default true. */
  streams?: boolean;
  /** Prefix of the temp dir for context files. */
  dirPrefix?: string;
}

/** See the module comment. Dispose it to stop what it started, in reverse order. */
export interface BrokerHub extends AsyncDisposable {
  server: NatsServerHandle;
  federation: Federation;
  ids: IdentitySet;
  /** A temp dir, removed on dispose. */
  dir: string;
  /** The break-glass identity's JetStream manager, to inspect and change the streams. */
  jsm: JetStreamManager;
  /** A new connection as the identity (reconnecting), closed on dispose. */
  connectAs: (identity: NatsIdentity) => Promise<NatsConnection>;
  /** Writes the identity's context file into `dir`; its path. */
  contextPath: (identity: NatsIdentity) => Promise<string>;
  /** Something to stop on dispose, before the connections close (a service under test). */
  stopOnDispose: (stoppable: { stop(): Promise<void> }) => void;
}

export async function startBrokerHub(
  federation: Federation,
  options: BrokerHubOptions = {},
): Promise<BrokerHub> {
  const ids = await createIdentities(federation);
  const auth = await brokerAuthConfig(federation, ids);
  const server = await startServer({
    config: options.config === undefined ? auth : `${options.config}\n${auth}`,
  });
  const dir = await mkdtemp(join(tmpdir(), options.dirPrefix ?? 'mosaic-broker-test-'));
  const connections: NatsConnection[] = [];
  const stoppables: { stop(): Promise<void> }[] = [];
  const connectAs = async (identity: NatsIdentity): Promise<NatsConnection> => {
    const nc = await connect({
      ...contextConnectOptions(parseContextFile(contextFile(identity, server.url))),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
    });
    connections.push(nc);
    return nc;
  };
  const jsm = await jetstreamManager(await connectAs(ids.admin));
  if (options.streams ?? true) await ensureStreams(jsm);
  return {
    server,
    federation,
    ids,
    dir,
    jsm,
    connectAs,
    async contextPath(identity) {
      const path = join(dir, `${identity.agency ?? identity.role}.json`);
      await writeFile(path, contextFile(identity, server.url), { mode: 0o600 });
      return path;
    },
    stopOnDispose(stoppable) {
      stoppables.push(stoppable);
    },
    async [Symbol.asyncDispose]() {
      for (const s of stoppables.reverse()) await s.stop();
      for (const nc of connections) if (!nc.isClosed()) await nc.close();
      await server[Symbol.asyncDispose]();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export { startLeafNode, startLinkRelay } from './leaf-node.ts';
export type { LeafNode, LinkRelay } from './leaf-node.ts';
