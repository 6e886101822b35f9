import { brokerAuthConfig, type IdentitySet } from '@mosaic/identities';

/** Where one node of the cluster listens. */
export interface ClusterNode {
  /** `server_name`, e.g. `mosaic-n1`. */
  name: string;
  /** The address the node listens on and the others reach it at. */
  host: string;
  port: number;
  clusterPort: number;
  /** Monitoring (`/healthz`, `/varz`): what readiness of the services reads. */
  httpPort: number;
  /** Where agencies' leaf nodes connect (`nats-leaf://<host>:<leafPort>`). */
  leafPort: number;
}

/** The node's directories: JetStream store, resolver and ports file. */
export interface NodeDirs {
  dir: string;
  storeDir: string;
  resolverDir: string;
}

/** JetStream store limits of a node. */
export interface StoreLimits {
  maxFileStore: string;
  maxMemoryStore: string;
}

const q = (s: string): string => JSON.stringify(s);

/**
 * The nats-server configuration of one cluster node: client, route, monitoring and leafnode
 * listeners, routes to every other node (no cluster block when it is the only node), JetStream with `sync_interval: always` (a report
 * acknowledged is on disk on a majority of nodes, not in a page cache), store limits, TLS
 * blocks to fill in, and the decentralised JWT auth of `brokerAuthConfig` with a `full`
 * resolver in the node's directory, so account updates pushed through the system account
 * apply on every node without a restart. An agency's leaf node (`mosaic agency leafnode`)
 * connects to the leafnode listener with the agency's own credentials, so it lands in the
 * agency's account; `no_advertise` keeps the cluster's other leafnode addresses to the
 * URLs the agency was given.
 */
export async function renderNodeConfig(c: {
  cluster: string;
  node: ClusterNode;
  nodes: readonly ClusterNode[];
  dirs: NodeDirs;
  limits: StoreLimits;
  agencies: readonly string[];
  identities: IdentitySet;
}): Promise<string> {
  const auth = await brokerAuthConfig(
    { agencies: c.agencies.map((id) => ({ id })) },
    c.identities,
    {
      resolverDir: c.dirs.resolverDir,
    },
  );
  const routes = c.nodes
    .filter((n) => n.name !== c.node.name)
    .map((n) => `    ${q(`nats-route://${n.host}:${String(n.clusterPort)}`)}`);
  return [
    '# Written by mosaic hub init. Fill in the tls blocks before the cluster leaves one machine.',
    `server_name: ${q(c.node.name)}`,
    `host: ${q(c.node.host)}`,
    `port: ${String(c.node.port)}`,
    `http: ${q(`${c.node.host}:${String(c.node.httpPort)}`)}`,
    `ports_file_dir: ${q(c.dirs.dir)}`,
    'max_payload: 2MB',
    '# tls {',
    '#   cert_file: "/etc/mosaic/tls/server.pem"',
    '#   key_file: "/etc/mosaic/tls/server-key.pem"',
    '#   ca_file: "/etc/mosaic/tls/ca.pem"',
    '#   timeout: 2',
    '# }',
    'jetstream {',
    `  store_dir: ${q(c.dirs.storeDir)}`,
    '  sync_interval: always',
    `  max_file_store: ${c.limits.maxFileStore}`,
    `  max_memory_store: ${c.limits.maxMemoryStore}`,
    '}',
    // One node is a server of its own: a JetStream cluster block needs routes.
    ...(c.nodes.length === 1
      ? []
      : [
          'cluster {',
          `  name: ${q(c.cluster)}`,
          `  listen: ${q(`${c.node.host}:${String(c.node.clusterPort)}`)}`,
          '  routes: [',
          ...routes,
          '  ]',
          '  # tls {',
          '  #   cert_file: "/etc/mosaic/tls/route.pem"',
          '  #   key_file: "/etc/mosaic/tls/route-key.pem"',
          '  #   ca_file: "/etc/mosaic/tls/ca.pem"',
          '  #   verify: true',
          '  # }',
          '}',
        ]),
    'leafnodes {',
    `  listen: ${q(`${c.node.host}:${String(c.node.leafPort)}`)}`,
    '  no_advertise: true',
    '  # Agencies connect from their own networks: TLS before the hub leaves one machine.',
    '  # tls {',
    '  #   cert_file: "/etc/mosaic/tls/leaf.pem"',
    '  #   key_file: "/etc/mosaic/tls/leaf-key.pem"',
    '  #   timeout: 2',
    '  # }',
    '}',
    auth,
  ].join('\n');
}
