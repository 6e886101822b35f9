import { fmtCreds } from '@nats-io/jwt';
import { fromSeed } from '@nats-io/nkeys';
import type { NatsContext } from './context.ts';

/** The JetStream domain of an agency's leaf node (its own, apart from the hub's). */
export function leafDomain(agency: string): string {
  return `leaf-${agency}`;
}

/** Options of `leafNodeConfig`. */
export interface LeafNodeConfigOptions {
  agency: string;
  /** The hub's leafnode URLs (`nats-leaf://host:7422`); several for a cluster. */
  hubUrls: readonly string[];
  /** Absolute path of the agency's credentials file (`leafCredentials`). */
  credentialsPath: string;
  /** Absolute path of the leaf's JetStream store. */
  storeDir: string;
  /** Where the agency's applications connect; default 127.0.0.1:4222. */
  listen?: { host: string; port: number };
  /** The leaf's JetStream domain; default `leaf-<agency>`. */
  domain?: string;
}

const q = (s: string): string => JSON.stringify(s);

/**
 * The nats-server configuration of a leaf node an agency runs on its own premises. Its one
 * remote connects to the hub with the agency's own credentials, so on the hub it lands in
 * the agency's account, with the agency's permissions, and reaches exactly what that
 * account imports. Its JetStream has its own domain, so its streams (the local copy of the
 * agency's alerts, the outbox of submissions) stay on the leaf and apart from the hub's.
 * Local clients need no credentials: the leaf listens on the loopback interface unless
 * told otherwise, and what they can reach on the hub is bounded by the agency's account.
 *
 * @example
 * ```ts
 * const conf = leafNodeConfig({ agency: 'nl-police', hubUrls: ['nats-leaf://hub:7422'],
 *   credentialsPath: '/etc/mosaic/nl-police.creds', storeDir: '/var/lib/mosaic-leaf' });
 * ```
 */
export function leafNodeConfig(o: LeafNodeConfigOptions): string {
  const listen = o.listen ?? { host: '127.0.0.1', port: 4222 };
  return [
    `# Written by mosaic agency leafnode for agency ${o.agency}. The leaf node of the agency:`,
    '# its applications connect here; the remote below links it to the hub as the agency.',
    `server_name: ${q(`leaf-${o.agency}`)}`,
    `listen: ${q(`${listen.host}:${String(listen.port)}`)}`,
    'jetstream {',
    `  domain: ${q(o.domain ?? leafDomain(o.agency))}`,
    `  store_dir: ${q(o.storeDir)}`,
    '  # Acknowledged writes (queued submissions, the copy of the alerts) survive an OS crash.',
    '  sync_interval: always',
    '}',
    'leafnodes {',
    '  reconnect: "1s"',
    '  remotes: [',
    '    {',
    `      urls: [${o.hubUrls.map(q).join(', ')}]`,
    `      credentials: ${q(o.credentialsPath)}`,
    '    }',
    '  ]',
    '}',
    '',
  ].join('\n');
}

/**
 * The credentials file (`.creds`: user JWT and NKey seed) of an agency's identity, for its
 * leaf node's remote. It holds the seed: write it with mode 0600, never log or commit it.
 */
export function leafCredentials(context: Pick<NatsContext, 'jwt' | 'nkeySeed'>): string {
  const kp = fromSeed(new TextEncoder().encode(context.nkeySeed));
  return new TextDecoder().decode(fmtCreds(context.jwt, kp));
}
