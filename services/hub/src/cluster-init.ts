import { copyFile, mkdir, stat } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { loadFederation } from '@mosaic/federation';
import { contextFile, createIdentities, withAgencies, type NatsIdentity } from '@mosaic/identities';
import { HubServices } from '@mosaic/protocol';
import { DEFAULT_SELECTOR_QUOTA, loadOrCreateSelectorKey } from '@mosaic/selector-keys';
import { writeFileAtomic } from './files.ts';
import { ensureHubKey } from './hub-key.ts';
import { defaultReplicas, renderHubConfig, type HubConfigInput } from './hub-config.ts';
import { readIdentities, updateIdentities, writeIdentities } from './identities-store.ts';
import { renderNodeConfig, type ClusterNode, type StoreLimits } from './node-config.ts';

/** Options of `initCluster`. */
export interface InitClusterOptions {
  /** The federation file: its agencies get accounts; it seeds the registry. */
  federationPath: string;
  /** Where everything is written (created with mode 0700). */
  outDir: string;
  /** The nodes: their names, addresses and ports. See `clusterNodes`. */
  nodes: readonly ClusterNode[];
  /** The cluster's name (`cluster { name }`). Default `mosaic`. */
  clusterName?: string;
  /** Default: 64GB of file store, 1GB of memory store per node. */
  limits?: StoreLimits;
  /** Replicas of streams and buckets. Default: 3 with 3 or more nodes, else 1. */
  replicas?: number;
  /** The HTTP gateway's port in `hub.yaml`. Default 8443 (0: any free one). */
  gatewayPort?: number;
}

/** What `initCluster` did, file by file (paths relative to the output directory). */
export interface InitClusterResult {
  written: string[];
  /** Files that existed and were left as they are: a second run never replaces a key. */
  kept: string[];
  hubConfigFile: string;
  nodeConfigFiles: string[];
}

/**
 * The nodes of a cluster on `hosts`: one host for every node puts them all on it, each on
 * its own ports (base + index); one host per node gives every node the base ports. The
 * conventional bases are NATS's: 4222 clients, 6222 routes, 8222 monitoring, 7422 leaf nodes.
 *
 * @example
 * ```ts
 * clusterNodes(3, ['127.0.0.1'], { port: 4222, clusterPort: 6222, httpPort: 8222, leafPort: 7422 });
 * // mosaic-n1 on 4222/6222/8222/7422, mosaic-n2 on 4223/6223/8223/7423, …
 * ```
 */
export function clusterNodes(
  count: number,
  hosts: readonly string[],
  base: { port: number; clusterPort: number; httpPort: number; leafPort: number },
): ClusterNode[] {
  if (!Number.isInteger(count) || count < 1)
    throw new MosaicError(
      ErrorCode.Usage,
      `a cluster needs at least one node, not ${String(count)}`,
    );
  if (hosts.length !== 1 && hosts.length !== count)
    throw new MosaicError(
      ErrorCode.Usage,
      `give one host for all nodes or one per node (${String(count)}), not ${String(hosts.length)}`,
    );
  return Array.from({ length: count }, (_, i) => {
    const shared = hosts.length === 1;
    const offset = shared ? i : 0;
    return {
      name: `mosaic-n${String(i + 1)}`,
      host: hosts[shared ? 0 : i] ?? '127.0.0.1',
      port: base.port + offset,
      clusterPort: base.clusterPort + offset,
      httpPort: base.httpPort + offset,
      leafPort: base.leafPort + offset,
    };
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return false;
    throw new MosaicError(ErrorCode.Io, `cannot read ${path}`, { details: { path }, cause: err });
  }
}

async function makeDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new MosaicError(ErrorCode.Io, `cannot create ${dir}`, {
      details: { path: dir },
      cause: err,
    });
  }
}

/**
 * Writes everything an operator needs to run the hub on a NATS cluster into `outDir`:
 *
 * ```
 * identities.json               every NATS key (operator, accounts, users; seeds) — 0600
 * nodes/<name>/nats-server.conf one per node; JetStream store and resolver beside it
 * contexts/<agency>.json        each agency's context — 0600
 * contexts/operator.json        the routine operator's — 0600
 * services/<service>.json       ingest, router, auditor, selector-keys, holdings, hub, system — 0600
 * breakglass/admin.json         stream administration, audited — 0600
 * hub.jwk, hub.jwks             the checkpoint signing key (0600) and its public half
 * selector-key.json             the selector key service's OPRF key (0600)
 * federation.yaml               a copy of the federation file: seeds an empty registry
 * hub.yaml                      what `mosaic serve --config` reads
 * ```
 *
 * A file that exists is kept, never replaced: running it again gives new agencies of the
 * federation their keys and writes what is missing, and leaves every key as it was.
 *
 * @example
 * ```ts
 * await initCluster({ federationPath: 'federation.yaml', outDir: 'hub',
 *   nodes: clusterNodes(3, ['127.0.0.1'], { port: 4222, clusterPort: 6222, httpPort: 8222, leafPort: 7422 }) });
 * ```
 */
export async function initCluster(options: InitClusterOptions): Promise<InitClusterResult> {
  const out = resolvePath(options.outDir);
  const written: string[] = [];
  const kept: string[] = [];
  const rel = (path: string): string => path.slice(out.length + 1);
  const writeNew = async (path: string, text: () => Promise<string> | string, mode = 0o600) => {
    if (await exists(path)) kept.push(rel(path));
    else {
      await writeFileAtomic(path, await text(), mode);
      written.push(rel(path));
    }
  };
  const federation = await loadFederation({ path: options.federationPath });
  const agencies = federation.agencies.map((a) => a.id).sort();
  for (const dir of ['contexts', 'services', 'breakglass', 'nodes']) await makeDir(join(out, dir));

  const identitiesFile = join(out, 'identities.json');
  const previous = await readIdentities(identitiesFile);
  let identities = previous ?? (await createIdentities(federation));
  if (previous === undefined) {
    await writeIdentities(identitiesFile, identities);
    written.push(rel(identitiesFile));
  } else {
    // Keys already there stay; only agencies new to the federation get theirs, and a
    // service newer than the file (made at read) its user, so its context matches the file.
    const next = await withAgencies(previous, agencies);
    identities = next.set;
    await updateIdentities(identitiesFile, identities);
    kept.push(rel(identitiesFile));
  }

  const hubKeyFile = join(out, 'hub.jwk');
  const hubJwksFile = join(out, 'hub.jwks');
  const hadHubKey = await exists(hubKeyFile);
  await ensureHubKey(hubKeyFile, hubJwksFile);
  (hadHubKey ? kept : written).push(rel(hubKeyFile));

  // The selector key service's OPRF key: made once here, read by every key service process.
  const selectorKeyFile = join(out, 'selector-key.json');
  const hadSelectorKey = await exists(selectorKeyFile);
  await loadOrCreateSelectorKey(selectorKeyFile);
  (hadSelectorKey ? kept : written).push(rel(selectorKeyFile));

  const federationCopy = join(out, 'federation.yaml');
  if (await exists(federationCopy)) kept.push(rel(federationCopy));
  else {
    await copyFile(options.federationPath, federationCopy);
    written.push(rel(federationCopy));
  }

  const nodes = options.nodes;
  const clusterName = options.clusterName ?? 'mosaic';
  const limits = options.limits ?? { maxFileStore: '64GB', maxMemoryStore: '1GB' };
  const nodeConfigFiles: string[] = [];
  for (const node of nodes) {
    const dir = join(out, 'nodes', node.name);
    const dirs = { dir, storeDir: join(dir, 'jetstream'), resolverDir: join(dir, 'accounts') };
    await makeDir(dirs.resolverDir);
    const file = join(dir, 'nats-server.conf');
    nodeConfigFiles.push(file);
    await writeNew(
      file,
      () =>
        renderNodeConfig({ cluster: clusterName, node, nodes, dirs, limits, agencies, identities }),
      0o600,
    );
  }

  const first = nodes[0];
  if (first === undefined)
    throw new MosaicError(ErrorCode.Usage, 'a cluster needs at least one node');
  const url = `nats://${first.host}:${String(first.port)}`;
  const context = (path: string, identity: NatsIdentity) =>
    writeNew(path, () => contextFile(identity, url));
  for (const agency of agencies) {
    const identity = identities.agencies.get(agency);
    if (identity !== undefined) await context(join(out, 'contexts', `${agency}.json`), identity);
  }
  await context(join(out, 'contexts', 'operator.json'), identities.operator);
  await context(join(out, 'breakglass', 'admin.json'), identities.admin);
  for (const service of Object.values(HubServices))
    await context(join(out, 'services', `${service}.json`), identities.services[service]);
  await context(join(out, 'services', 'hub.json'), identities.hub);
  await context(join(out, 'services', 'system.json'), identities.system);

  const hubConfigFile = join(out, 'hub.yaml');
  const config: HubConfigInput = {
    version: 1,
    cluster: {
      servers: nodes.map((n) => `nats://${n.host}:${String(n.port)}`),
      monitoring: nodes.map((n) => `http://${n.host}:${String(n.httpPort)}`),
      leafnodes: nodes.map((n) => `nats-leaf://${n.host}:${String(n.leafPort)}`),
      replicas: options.replicas ?? defaultReplicas(nodes.length),
      minServerVersion: '2.12.0',
    },
    contexts: {
      ingest: 'services/ingest.json',
      router: 'services/router.json',
      auditor: 'services/auditor.json',
      hub: 'services/hub.json',
      system: 'services/system.json',
      selectorKeys: `services/${HubServices.SelectorKeys}.json`,
      holdings: `services/${HubServices.Holdings}.json`,
    },
    identities: 'identities.json',
    agencyContexts: 'contexts',
    federation: 'federation.yaml',
    hubKey: 'hub.jwk',
    hubJwks: 'hub.jwks',
    http: { host: '127.0.0.1', port: 9464 },
    gateway: { host: '127.0.0.1', port: options.gatewayPort ?? 8443 },
    selectorKeys: { keyFile: 'selector-key.json', quotaPerDay: DEFAULT_SELECTOR_QUOTA },
    correlation: true,
  };
  await writeNew(hubConfigFile, () => renderHubConfig(config), 0o644);
  return { written, kept, hubConfigFile, nodeConfigFiles };
}
