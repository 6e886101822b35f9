import { readFile, rm } from 'node:fs/promises';
import { resolve as resolvePath, join } from 'node:path';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { DEMO_FEDERATION_PATH, loadFederation, type Federation } from '@mosaic/federation';
import {
  GATEWAY_TOKENS_BUCKET,
  HOLDINGS_BUCKET,
  PUBLIC_KEYS_BUCKET,
  REGISTRY_BUCKET,
  RegistryKeys,
  ensureStreams,
  seedRegistry,
  syncPublicKeys,
  watchRegistry,
  type LiveRegistryView,
} from '@mosaic/protocol';
import {
  contextConnectOptions,
  contextFile,
  createIdentities,
  parseContextFile,
  withAgencies,
  type IdentitySet,
  type NatsIdentity,
} from '@mosaic/identities';
import {
  HubServices,
  auditClient,
  ensureAuditStreams,
  ensureSelectorIndexStream,
  multiplexRequests,
} from '@mosaic/protocol';
import { loadOrCreateSelectorKey, startSelectorKeys } from '@mosaic/selector-keys';
import { startAuditor, type Auditor } from '@mosaic/auditor';
import { startHoldings } from '@mosaic/holdings';
import { startIngest, type IngestService } from '@mosaic/ingest';
import { startRouter, type RouterService } from '@mosaic/router';
import { createLogger, type Logger } from '@mosaic/log';
import {
  ensureNatsServer,
  portFree,
  startNatsServerProcess,
  type NatsServerProcess,
} from '@mosaic/nats-server';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { withDemoKeys } from './demo-keys.ts';
import { startHubGateway, type HubGatewayListen } from './hub-gateway.ts';
import {
  adoptGlobalAccountStore,
  fileExists,
  dataDirLayout,
  makeDataDir,
  writeFileAtomic,
  type DataDirLayout,
} from './files.ts';
import { ensureHubKey } from './hub-key.ts';
import { syncAgencyAccounts } from './accounts.ts';
import { lockDataDir } from './lock.ts';
import { readIdentities, writeIdentities } from './identities-store.ts';
import { trimMemoryWhileUp } from './memory-trim.ts';
import { renderServerConfig } from './server-config.ts';
import { shutdownSteps } from './shutdown-steps.ts';

/** Options of `startHub`. */
export interface StartHubOptions {
  /** Where everything lives; created when missing. Default `.mosaic`. */
  dataDir?: string;
  /** The federation file that seeds an empty registry. Default: the bundled demo. */
  federationPath?: string;
  /**
   * The NATS client port. Default: the port of the previous run when it is free (so the
   * context files keep working), else a free one. `0` asks for a free one.
   */
  port?: number;
  /** Replace the registry with the federation file (changes made with the CLI are lost). */
  reseed?: boolean;
  /** Default: a logger for service `hub` on stderr. */
  log?: Logger;
  /** When the auditor signs a checkpoint. Default: every 1000 entries or 10 s, and 1 s after a burst. */
  checkpointEvery?: { entries?: number; seconds?: number; quietSeconds?: number };
  /** How long nats-server may take to start. Default 30 s. */
  startTimeoutMs?: number;
  /** Selector evaluations each agency may ask for per UTC day. Default 10 000. */
  selectorQuotaPerDay?: number;
  /**
   * Whether the router indexes the selectors of the reports it routes, so that alerts name
   * related reports (`mosaic serve`'s `correlation`). Default true. Off, the key service and
   * the holdings service still answer agencies; the router writes no index entries.
   */
  correlation?: boolean;
  /** The HTTP gateway's listener: port (default a free one), TLS files, rate limit. */
  gateway?: HubGatewayListen;
  /**
   * Accept agencies' leaf nodes (`mosaic agency leafnode`) on this address. Each leaf
   * authenticates as its agency and lands in the agency's own account. Default: none.
   */
  leafnodes?: { host: string; port: number };
}

/** A running hub. Dispose it (or `stop()`) to shut everything down. */
export interface Hub extends AsyncDisposable {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  readonly dataDir: string;
  /** `<dataDir>/contexts`: `<agency>.json` per agency and `operator.json`. */
  readonly contextsDir: string;
  /** `<dataDir>/keys`: the demo agencies' private signing keys (demo federation only). */
  readonly keysDir: string;
  /** The live registry the services read; `revision()` tells which change it has applied. */
  readonly registry: LiveRegistryView;
  /** The nats-server's pid. */
  readonly serverPid: number;
  /** Its monitoring endpoint (`http://127.0.0.1:<port>`: `/varz`, `/connz`, …). */
  readonly monitorUrl: string;
  /** `<dataDir>/hub.jwks`: the public key the audit checkpoints verify with. */
  readonly hubJwksFile: string;
  /** The auditor (the single writer of AUDIT) running in this hub. */
  readonly auditor: Auditor;
  /** The HTTP gateway's base URL (`http://127.0.0.1:<port>`, https with TLS). */
  readonly gatewayUrl: string;
  /** Drains the router and ingest, closes the connections, stops nats-server and waits. */
  stop(): Promise<void>;
}

const REGISTRY_HISTORY = 16;

/** A service connection; its requests (and JetStream publishes) go through `multiplexRequests`. */
async function connectAs(identity: NatsIdentity, url: string): Promise<NatsConnection> {
  const context = parseContextFile(contextFile(identity, url), identity.role);
  const options = contextConnectOptions(context);
  return multiplexRequests(
    await connect({ ...options, maxReconnectAttempts: -1 }),
    options.inboxPrefix,
  );
}

/** The port of the previous run, from the operator context, when it is free again. */
async function previousPort(layout: DataDirLayout): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(join(layout.contextsDir, 'operator.json'), 'utf8');
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return undefined;
    throw err;
  }
  const port = Number(new URL(parseContextFile(text).url).port);
  return Number.isInteger(port) && port > 0 && (await portFree(port)) ? port : undefined;
}

/**
 * Starts the hub — the embedded default of `mosaic dev`: nats-server with JetStream in
 * `dataDir`, the hub streams, the KV registry (seeded from the federation file when empty;
 * afterwards the registry is the source of truth), the live registry view, the ingest
 * service and the router, and writes a context file per agency plus one for the operator.
 * When an agency is added to the registry, the hub gives it an identity, reloads the broker
 * configuration and writes its context: no restart. A restart on the same data dir keeps
 * everything. One hub per data dir: a second one fails with ERR_HUB_LOCKED and leaves the
 * dir as it was.
 *
 * @example
 * ```ts
 * await using hub = await startHub({ dataDir: '.mosaic' });
 * const agency = await readContextFile(`${hub.contextsDir}/ro-dicot.json`);
 * ```
 */
export async function startHub(options: StartHubOptions = {}): Promise<Hub> {
  const log = options.log ?? createLogger({ service: 'hub' });
  const layout = dataDirLayout(resolvePath(options.dataDir ?? '.mosaic'));
  const { cleanup, run: shutdown } = shutdownSteps(log);
  try {
    // Before anything else: a second hub on this dir would share its JetStream store.
    const lock = await lockDataDir(layout.dataDir);
    cleanup.push(() => lock.release());
    const clusterConfig = join(layout.dataDir, 'hub.yaml');
    if (await fileExists(clusterConfig))
      throw new MosaicError(
        ErrorCode.HubDataDir,
        `${layout.dataDir} holds a cluster (mosaic dev --cluster): start it with --cluster, or use another --data-dir`,
        { details: { path: clusterConfig } },
      );
    await makeDataDir(layout);
    const binary = await ensureNatsServer({
      log: (line) => {
        log.info(line);
      },
    });
    log.info({ path: binary.path, version: binary.version }, 'nats-server');

    const demo = options.federationPath === undefined;
    const loaded = await loadFederation({ path: options.federationPath ?? DEMO_FEDERATION_PATH });
    const fileFederation = demo ? await withDemoKeys(loaded, layout.keysDir) : loaded;

    let identities: IdentitySet =
      (await readIdentities(layout.identitiesFile)) ?? (await createIdentities(fileFederation));
    await writeIdentities(layout.identitiesFile, identities);
    // Until the registry is read: the agencies of the last run (or of the file).
    let authorized = [...identities.agencies.keys()].sort();

    const port =
      options.port !== undefined && options.port > 0
        ? options.port
        : options.port === 0
          ? -1
          : ((await previousPort(layout)) ?? -1);
    await writeFileAtomic(
      layout.configFile,
      await renderServerConfig({
        layout,
        port,
        agencies: authorized,
        identities,
        ...(options.leafnodes === undefined ? {} : { leafnodes: options.leafnodes }),
      }),
    );
    if (await adoptGlobalAccountStore(layout.storeDir, identities.accounts.hub.publicKey))
      log.warn(
        { account: identities.accounts.hub.publicKey },
        'JetStream data of a hub without accounts moved to the hub account',
      );
    const server: NatsServerProcess = await startNatsServerProcess({
      binary: binary.path,
      configFile: layout.configFile,
      portsFileDir: layout.dataDir,
      name: 'hub nats-server',
      monitoring: true,
      // Ctrl-C on mosaic dev must not stop the server under the services still using it.
      ownProcessGroup: true,
      ...(options.startTimeoutMs === undefined ? {} : { startTimeoutMs: options.startTimeoutMs }),
      onStderr: (chunk) => {
        for (const line of chunk.split('\n'))
          if (line.trim() !== '') log.debug({ component: 'nats-server' }, line);
      },
    });
    cleanup.push(() => server.stop());
    const url = server.url;
    log.info({ url, pid: server.pid, dataDir: layout.dataDir }, 'nats-server ready');

    // The hub runner's own identity creates what is missing; the routine operator cannot.
    const hubNc = await connectAs(identities.hub, url);
    cleanup.push(() => hubNc.close());
    const system = await connectAs(identities.system, url);
    cleanup.push(() => system.close());
    const hubJsm = await jetstreamManager(hubNc);
    const created = await ensureStreams(hubJsm);
    const checkpoints = await ensureAuditStreams(hubJsm);
    const index = await ensureSelectorIndexStream(hubJsm);
    if (created.length > 0 || checkpoints || index)
      log.info(
        { streams: created, checkpointsStream: checkpoints, selectorIndexStream: index },
        'streams created',
      );
    const kv = await new Kvm(hubNc).create(REGISTRY_BUCKET, {
      history: REGISTRY_HISTORY,
      storage: 'file',
      replicas: 1,
    });
    if (options.reseed === true || (await kv.get(RegistryKeys.meta)) === null) {
      await seedRegistry(kv, fileFederation);
      log.info(
        { federation: options.federationPath ?? 'demo', reseed: options.reseed === true },
        'registry seeded from the federation file',
      );
    }

    // What agencies verify alerts with (they may not read the registry): kept equal to it.
    const publicKeys = await new Kvm(hubNc).create(PUBLIC_KEYS_BUCKET, {
      history: REGISTRY_HISTORY,
      storage: 'file',
      replicas: 1,
    });
    // The HTTP gateway's agency credentials: written by the operator, read by the gateway.
    await new Kvm(hubNc).create(GATEWAY_TOKENS_BUCKET, {
      history: REGISTRY_HISTORY,
      storage: 'file',
      replicas: 1,
    });

    // Agencies' private holdings (tokens and their own references): the holdings service's alone.
    await new Kvm(hubNc).create(HOLDINGS_BUCKET, { history: 1, storage: 'file', replicas: 1 });

    const writeContext = (name: string, identity: NatsIdentity): Promise<void> =>
      writeFileAtomic(join(layout.contextsDir, `${name}.json`), contextFile(identity, url));

    // Runs once per registry change, one at a time (watchRegistry serialises the calls).
    const sync = async (federation: Federation, revision: number): Promise<void> => {
      const keys = await syncPublicKeys(publicKeys, federation);
      if (keys.written.length + keys.retired.length + keys.deleted.length > 0)
        log.info({ ...keys, revision }, 'public keys projected');
      const agencies = federation.agencies.map((a) => a.id).sort();
      const next = await withAgencies(identities, agencies);
      if (next.added.length > 0) {
        identities = next.set;
        await writeIdentities(layout.identitiesFile, identities);
      }
      if (agencies.join(',') !== authorized.join(',')) {
        const added = agencies.filter((id) => !authorized.includes(id));
        const removed = authorized.filter((id) => !agencies.includes(id));
        await syncAgencyAccounts(system, identities, agencies, { added, removed });
        authorized = agencies;
        log.info({ agencies, added, removed, revision }, 'broker accounts updated');
        // A removed agency's account is revoked: its context would only fail to connect.
        for (const id of removed) await rm(join(layout.contextsDir, `${id}.json`), { force: true });
      }
      // Written after the account update, so a context that exists is one the broker accepts.
      for (const id of agencies) {
        const identity = identities.agencies.get(id);
        if (identity !== undefined) await writeContext(id, identity);
      }
    };
    const registry = watchRegistry(kv, {
      onChange: sync,
      onError: (err) => {
        log.error({ err }, 'registry change not applied; the previous registry stays in force');
      },
      onInvalidEntry: (key, err) => {
        log.warn({ key, err, code: err.code }, 'registry entry left out of the live registry');
      },
    });
    cleanup.push(() => registry.close());
    await registry.ready;
    await writeContext('operator', identities.operator);
    await writeFileAtomic(layout.breakGlassContext, contextFile(identities.admin, url));

    // The auditor first: ingest and the router answer only once their entries are written.
    const hubKey = await ensureHubKey(layout.hubKeyFile, layout.hubJwksFile);
    const auditorNc = await connectAs(identities.services.auditor, url);
    cleanup.push(() => auditorNc.close());
    const auditor: Auditor = await startAuditor({
      nc: auditorNc,
      hubKey,
      log,
      // Before ingest and the router run: entries a crash lost are recovered first.
      reconcileWith: hubJsm,
      ...(options.checkpointEvery === undefined
        ? {}
        : { checkpointEvery: options.checkpointEvery }),
      onCheckpoint: (signed) => writeFileAtomic(join(layout.auditDir, 'checkpoint'), signed, 0o644),
      operatorAccount: identities.accounts.operatorAccount.publicKey,
      adminUser: identities.admin.publicKey,
    });
    cleanup.push(() => auditor.stop());

    // The key service holds the one selector key; agencies reach it through their imports.
    const selectorKey = await loadOrCreateSelectorKey(layout.selectorKeyFile);
    const selectorKeysNc = await connectAs(identities.services[HubServices.SelectorKeys], url);
    cleanup.push(() => selectorKeysNc.close());
    const selectorKeys = await startSelectorKeys({
      nc: selectorKeysNc,
      key: selectorKey,
      accounts: {
        accountOf: (agency) =>
          authorized.includes(agency)
            ? identities.accounts.agencies.get(agency)?.publicKey
            : undefined,
      },
      log,
      audit: auditClient(selectorKeysNc, HubServices.SelectorKeys),
      ...(options.selectorQuotaPerDay === undefined
        ? {}
        : { quotaPerDay: options.selectorQuotaPerDay }),
    });
    cleanup.push(() => selectorKeys.stop());

    const ingestNc = await connectAs(identities.services.ingest, url);
    cleanup.push(() => ingestNc.close());
    const ingest: IngestService = await startIngest({
      nc: ingestNc,
      registry,
      accounts: {
        accountOf: (agency) =>
          authorized.includes(agency)
            ? identities.accounts.agencies.get(agency)?.publicKey
            : undefined,
      },
      log,
      audit: auditClient(ingestNc, 'ingest'),
    });
    cleanup.push(() => ingest.stop());
    // Stopped before ingest (cleanup runs in reverse): reports in hand are routed and acked.
    const routerNc = await connectAs(identities.services.router, url);
    cleanup.push(() => routerNc.close());
    const router: RouterService = await startRouter({
      nc: routerNc,
      registry,
      log,
      audit: auditClient(routerNc, 'router'),
      // The key service runs above: the selectors of every routed report are indexed, unless
      // `correlation: false`.
      indexSelectors: options.correlation !== false,
    });
    cleanup.push(() => router.stop());

    const holdingsNc = await connectAs(identities.services[HubServices.Holdings], url);
    cleanup.push(() => holdingsNc.close());
    const holdings = await startHoldings({
      nc: holdingsNc,
      registry,
      accounts: {
        accountOf: (agency) =>
          authorized.includes(agency)
            ? identities.accounts.agencies.get(agency)?.publicKey
            : undefined,
      },
      log,
      audit: auditClient(holdingsNc, HubServices.Holdings),
    });
    cleanup.push(() => holdings.stop());

    const gateway = await startHubGateway({
      connectAs: (identity) => connectAs(identity, url),
      log,
      registry,
      accounts: () => identities.accounts,
      cleanup,
      ...(options.gateway === undefined ? {} : options.gateway),
    });
    // Start-up freed tens of MB that glibc keeps unless asked: give it back now and then.
    const memory = trimMemoryWhileUp(cleanup);
    log.info(
      {
        url,
        agencies: authorized,
        contexts: layout.contextsDir,
        revision: registry.revision(),
        ...memory,
      },
      'hub ready',
    );

    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => (stopping ??= shutdown());
    return {
      url,
      dataDir: layout.dataDir,
      contextsDir: layout.contextsDir,
      keysDir: layout.keysDir,
      registry,
      serverPid: server.pid,
      monitorUrl: `http://127.0.0.1:${String(server.ports.httpPort)}`,
      hubJwksFile: layout.hubJwksFile,
      auditor,
      gatewayUrl: gateway.url,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    await shutdown();
    if (err instanceof MosaicError) throw err;
    throw new MosaicError(ErrorCode.Internal, `the hub did not start: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
