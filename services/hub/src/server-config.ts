import { brokerAuthConfig, type IdentitySet } from '@mosaic/identities';
import type { DataDirLayout } from './files.ts';
import { restrictedTo } from './identities-store.ts';

/** What the hub's nats-server configuration is made of. */
export interface HubServerConfig {
  layout: DataDirLayout;
  /** A fixed client port, or -1 for a free one. */
  port: number;
  /** The agencies whose accounts the resolver is preloaded with: those of the registry. */
  agencies: readonly string[];
  identities: IdentitySet;
  /** Where agencies' leaf nodes connect (`nats-leaf://…`); none when absent. */
  leafnodes?: { host: string; port: number };
}

const q = (s: string): string => JSON.stringify(s);

/**
 * The nats-server configuration of the hub: loopback only, JetStream in the data dir,
 * 2 MB messages (a 1 MiB report stream limit plus headers), a monitoring port for
 * `/healthz`, the ports file in the data dir, and decentralised JWT auth with a `full`
 * account resolver in the data dir, so accounts added later apply without a reload.
 */
export async function renderServerConfig(c: HubServerConfig): Promise<string> {
  const auth = await brokerAuthConfig(
    { agencies: c.agencies.map((id) => ({ id })) },
    restrictedTo(c.identities, c.agencies),
    { resolverDir: c.layout.resolverDir },
  );
  return [
    '# Written by the Mosaic hub (mosaic dev) at every start; do not edit.',
    'server_name: "mosaic-hub"',
    'host: "127.0.0.1"',
    `port: ${c.port}`,
    'http_port: -1',
    `ports_file_dir: ${q(c.layout.dataDir)}`,
    `jetstream { store_dir: ${q(c.layout.storeDir)} }`,
    'max_payload: 2MB',
    ...(c.leafnodes === undefined
      ? []
      : // One node: a leaf knows the one address it was given; advertising the listener
        // (a loopback address here) would only hand leaves a second, wrong way in.
        [
          `leafnodes { listen: ${q(`${c.leafnodes.host}:${String(c.leafnodes.port)}`)}, no_advertise: true }`,
        ]),
    auth,
  ].join('\n');
}
