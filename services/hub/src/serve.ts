import { createServer, type Server } from 'node:http';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { loadFederation, type Federation } from '@mosaic/federation';
import {
  accountDirectory,
  contextFile,
  contextConnectOptions,
  issueUserJwt,
  parseContextFile,
  readContextFile,
  withAgencies,
  type IdentitySet,
  type NatsContext,
} from '@mosaic/identities';
import { createLogger, type Logger } from '@mosaic/log';
import {
  GATEWAY_TOKENS_BUCKET,
  HOLDINGS_BUCKET,
  HubServices,
  PUBLIC_KEYS_BUCKET,
  REGISTRY_BUCKET,
  RegistryKeys,
  auditClient,
  ensureAuditStreams,
  ensureSelectorIndexStream,
  ensureStreams,
  multiplexRequests,
  seedRegistry,
  syncPublicKeys,
  watchRegistry,
} from '@mosaic/protocol';
import { startAuditor } from '@mosaic/auditor';
import { startHoldings } from '@mosaic/holdings';
import { startIngest } from '@mosaic/ingest';
import { startRouter } from '@mosaic/router';
import { readSelectorKey, startSelectorKeys } from '@mosaic/selector-keys';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Registry } from 'prom-client';
import { syncAgencyAccounts } from './accounts.ts';
import { writeFileAtomic } from './files.ts';
import { ensureHubKey } from './hub-key.ts';
import { startHubGateway } from './hub-gateway.ts';
import { ServeServices, type HubConfig, type ServeService } from './hub-config.ts';
import { readIdentities, writeIdentities } from './identities-store.ts';
import { serviceMetrics } from './metrics.ts';
import { trimMemoryWhileUp } from './memory-trim.ts';
import { readinessProblems, type ReadinessProblem, type ReadinessService } from './readiness.ts';
import { shutdownSteps } from './shutdown-steps.ts';
import { whenJetStreamReady } from './jetstream-ready.ts';

/** Options of `serve`. */
export interface ServeOptions {
  config: HubConfig;
  /** The services this process runs. Default: all of them. */
  only?: readonly ServeService[];
  log?: Logger;
  /** When the auditor signs a checkpoint. Default: the auditor's. */
  checkpointEvery?: { entries?: number; seconds?: number; quietSeconds?: number };
}

/** Hub services running in this process. Dispose it (or `stop()`) to drain them. */
export interface Served extends AsyncDisposable {
  /** `http://<host>:<port>`: `/healthz`, `/readyz`, `/metrics`. */
  readonly httpUrl: string;
  /** The HTTP gateway's base URL when this process runs it. */
  readonly gatewayUrl: string | undefined;
  readonly services: readonly ServeService[];
  /** What keeps the process from being ready now; empty when it is. */
  readiness(): Promise<ReadinessProblem[]>;
  /** Drains the services (the router and ingest finish what they hold), closes the connections. */
  stop(): Promise<void>;
}

const REGISTRY_HISTORY = 16;
/** How long a starting process waits for a cluster that has no JetStream leaders yet. */
const START_TIMEOUT_MS = 120_000;

async function connectWith(
  contextPath: string,
  servers: readonly string[],
): Promise<NatsConnection> {
  return connectContext(await readContextFile(contextPath), servers);
}

/** A service connection; its requests (and JetStream publishes) go through `multiplexRequests`. */
async function connectContext(
  context: NatsContext,
  servers: readonly string[],
): Promise<NatsConnection> {
  const options = contextConnectOptions(context);
  return multiplexRequests(
    await connect({ ...options, servers: [...servers], maxReconnectAttempts: -1 }),
    options.inboxPrefix,
  );
}

/**
 * Creates the agencies' identities under an exclusive lock next to the identities file, so
 * two processes that see the same new agency never make two different keys for it: the
 * second one reads what the first wrote.
 */
async function identitiesWith(file: string, agencies: readonly string[]): Promise<IdentitySet> {
  const lock = `${file}.lock`;
  for (let attempt = 0; ; attempt++) {
    try {
      await (await open(lock, 'wx', 0o600)).close();
      break;
    } catch (err) {
      if (!(err instanceof Error && 'code' in err && err.code === 'EEXIST') || attempt > 200)
        throw new MosaicError(ErrorCode.HubDataDir, `cannot lock ${file}`, {
          details: { path: lock },
          cause: err,
        });
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  try {
    // User JWTs are issued where one is needed: a context written for a new agency.
    const current = await readIdentities(file, { userJwts: false });
    if (current === undefined)
      throw new MosaicError(ErrorCode.HubDataDir, `${file} is missing: run mosaic hub init`, {
        details: { path: file },
      });
    const next = await withAgencies(current, agencies);
    if (next.added.length > 0) await writeIdentities(file, next.set);
    return next.set;
  } finally {
    await rm(lock, { force: true });
  }
}

/**
 * Runs the chosen hub services against the cluster of `hub.yaml`, each on a connection of
 * its own identity to every server. Any number of processes may run any of them: ingest
 * instances share the queue group, routers the durable consumer, and auditors append with
 * expected-last-sequence, so the audit log stays one ordered chain. Every process ensures
 * the streams and buckets (with the configured replicas) and follows the registry; the
 * processes running the auditor also keep the servers' agency accounts equal to it.
 * Serves `/healthz`, `/readyz` (see `readinessProblems`) and `/metrics` (`serviceMetrics`).
 *
 * @example
 * ```ts
 * await using served = await serve({ config: await readHubConfig('hub/hub.yaml'), only: ['ingest'] });
 * ```
 */
export async function serve(options: ServeOptions): Promise<Served> {
  const { config } = options;
  const services = [...(options.only ?? ServeServices)];
  const log = options.log ?? createLogger({ service: 'hub' });
  const { cleanup, run: shutdown } = shutdownSteps(log);
  try {
    const servers = config.cluster.servers;
    const hubNc = await connectWith(config.contexts.hub, servers);
    cleanup.push(() => hubNc.close());
    // Every step is idempotent: a cluster that is still electing its leaders is waited for.
    const { jsm, kv, publicKeys } = await whenJetStreamReady(
      async () => {
        const jsm = await jetstreamManager(hubNc);
        await ensureStreams(jsm, config.replicas);
        await ensureAuditStreams(jsm, config.replicas);
        await ensureSelectorIndexStream(jsm, config.replicas);
        const bucket = {
          history: REGISTRY_HISTORY,
          storage: 'file' as const,
          replicas: config.replicas,
        };
        const kv = await new Kvm(hubNc).create(REGISTRY_BUCKET, bucket);
        if ((await kv.get(RegistryKeys.meta)) === null)
          await seedRegistry(kv, await loadFederation({ path: config.federation }));
        const publicKeys = await new Kvm(hubNc).create(PUBLIC_KEYS_BUCKET, bucket);
        // The gateway's agency credentials: written by the operator, read by the gateway.
        await new Kvm(hubNc).create(GATEWAY_TOKENS_BUCKET, bucket);
        // Agencies' private holdings (tokens and their own references): the holdings service's alone.
        await new Kvm(hubNc).create(HOLDINGS_BUCKET, { ...bucket, history: 1 });
        return { jsm, kv, publicKeys };
      },
      { log, timeoutMs: START_TIMEOUT_MS, what: 'create the hub streams and buckets' },
    );
    const metrics = serviceMetrics(jsm);
    // The services of this process that can be unhealthy while they run: readiness says so.
    const reporting: ReadinessService[] = [];

    let identities = await identitiesWith(config.identities, []);
    const keepsAccounts = services.includes('auditor');
    let system: NatsConnection | undefined;
    if (keepsAccounts) {
      const nc = await connectWith(config.contexts.system, servers);
      system = nc;
      cleanup.push(() => nc.close());
    }
    let authorized: string[] | undefined;
    // Only the processes that use the identities read them, and only for an agency new to them.
    const needsIdentities =
      keepsAccounts ||
      (['ingest', 'gateway', 'selector-keys', 'holdings'] as const).some((s) =>
        services.includes(s),
      );
    // Ingest, the key service and the holdings service take a submission as an agency's only when the broker
    // attests it came from that agency's account, and only while the agency is authorised.
    const agencyAccounts = {
      accountOf: (agency: string) =>
        (authorized ?? []).includes(agency)
          ? accountDirectory(identities).accountOf(agency)
          : undefined,
    };
    const sync = async (federation: Federation, revision: number): Promise<void> => {
      const agencies = federation.agencies.map((a) => a.id).sort();
      if (needsIdentities && !agencies.every((id) => identities.agencies.has(id)))
        identities = await identitiesWith(config.identities, agencies);
      if (system === undefined) {
        authorized = agencies;
        return;
      }
      await syncPublicKeys(publicKeys, federation);
      // At start every agency's account is pushed once: the resolver may hold an older one.
      const added = agencies.filter((id) => !(authorized ?? []).includes(id));
      const removed = (authorized ?? [...identities.agencies.keys()]).filter(
        (id) => !agencies.includes(id),
      );
      if (added.length + removed.length > 0) {
        await syncAgencyAccounts(system, identities, agencies, { added, removed });
        log.info({ agencies, added, removed, revision }, 'broker accounts updated');
      }
      authorized = agencies;
      // After the account update, so a context that exists is one the servers accept.
      for (const id of removed)
        await rm(join(config.agencyContexts, `${id}.json`), { force: true });
      for (const id of added) {
        const identity = identities.agencies.get(id);
        if (identity !== undefined)
          await writeFileAtomic(
            join(config.agencyContexts, `${id}.json`),
            contextFile(
              { ...identity, jwt: await issueUserJwt(identities.accounts, identity) },
              servers[0] ?? '',
            ),
          );
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

    if (services.includes('auditor')) {
      const nc = await connectWith(config.contexts.auditor, servers);
      cleanup.push(() => nc.close());
      const hubKey = await ensureHubKey(config.hubKey, config.hubJwks);
      // Reading AUDIT right after a restart can time out while its leader is elected.
      const auditor = await whenJetStreamReady(
        () =>
          startAuditor({
            nc,
            hubKey,
            log,
            reconcileWith: jsm,
            ...(options.checkpointEvery === undefined
              ? {}
              : { checkpointEvery: options.checkpointEvery }),
            operatorAccount: identities.accounts.operatorAccount.publicKey,
            adminUser: identities.admin.publicKey,
            observe: metrics.auditor,
          }),
        { log, timeoutMs: START_TIMEOUT_MS, what: 'read AUDIT' },
      );
      cleanup.push(() => auditor.stop());
      reporting.push({ name: 'auditor', health: () => auditor.health() });
    }
    if (services.includes('ingest')) {
      const nc = await connectWith(config.contexts.ingest, servers);
      cleanup.push(() => nc.close());
      const ingest = await whenJetStreamReady(
        () =>
          startIngest({
            nc,
            registry,
            accounts: agencyAccounts,
            log,
            audit: auditClient(nc, 'ingest'),
            observe: metrics.ingest,
          }),
        { log, timeoutMs: START_TIMEOUT_MS, what: 'start ingest' },
      );
      cleanup.push(() => ingest.stop());
    }
    if (services.includes('router')) {
      const nc = await connectWith(config.contexts.router, servers);
      cleanup.push(() => nc.close());
      const router = await whenJetStreamReady(
        () =>
          startRouter({
            nc,
            registry,
            log,
            audit: auditClient(nc, 'router'),
            observe: metrics.router,
            // Tokens from the selector-keys processes; without one, batches wait (naked).
            indexSelectors: config.correlation,
          }),
        { log, timeoutMs: START_TIMEOUT_MS, what: 'start the router' },
      );
      cleanup.push(() => router.stop());
      reporting.push({ name: 'router', health: () => router.health() });
    }
    if (services.includes('selector-keys')) {
      // Read, never made here: two processes must not make two keys (hub init writes it).
      const key = await readSelectorKey(config.selectorKeys.keyFile);
      const nc = await connectWith(config.contexts.selectorKeys, servers);
      cleanup.push(() => nc.close());
      const selectorKeys = await startSelectorKeys({
        nc,
        key,
        accounts: agencyAccounts,
        log,
        audit: auditClient(nc, HubServices.SelectorKeys),
        quotaPerDay: config.selectorKeys.quotaPerDay,
        ...(config.selectorKeys.quotaPerAgency === undefined
          ? {}
          : { quotaPerAgency: config.selectorKeys.quotaPerAgency }),
        ...(config.selectorKeys.hubQuotaPerDay === undefined
          ? {}
          : { hubQuotaPerDay: config.selectorKeys.hubQuotaPerDay }),
      });
      cleanup.push(() => selectorKeys.stop());
    }
    if (services.includes('holdings')) {
      const nc = await connectWith(config.contexts.holdings, servers);
      cleanup.push(() => nc.close());
      // Reads the whole holdings bucket into its index first; one holdings process per hub.
      const holdings = await whenJetStreamReady(
        () =>
          startHoldings({
            nc,
            registry,
            accounts: agencyAccounts,
            log,
            audit: auditClient(nc, HubServices.Holdings),
          }),
        { log, timeoutMs: START_TIMEOUT_MS, what: 'start the holdings service' },
      );
      cleanup.push(() => holdings.stop());
    }
    let gatewayUrl: string | undefined;
    if (services.includes('gateway')) {
      const gateway = await startHubGateway({
        connectAs: (identity) =>
          connectContext(parseContextFile(contextFile(identity, servers[0] ?? '')), servers),
        log,
        registry,
        accounts: () => identities.accounts,
        cleanup,
        host: config.gateway.host,
        port: config.gateway.port,
        ...(config.gateway.tls === undefined ? {} : { tls: config.gateway.tls }),
        ...(config.gateway.rateLimit === undefined ? {} : { rateLimit: config.gateway.rateLimit }),
      });
      gatewayUrl = gateway.url;
    }

    const readiness = (): Promise<ReadinessProblem[]> =>
      readinessProblems({
        monitoring: config.cluster.monitoring,
        jsm,
        replicas: config.replicas,
        minServerVersion: config.cluster.minServerVersion,
        services: reporting,
      });
    const http = await listen(config.http, readiness, () => metrics.registry);
    cleanup.push(
      () =>
        new Promise<void>((resolve) => {
          http.server.close(() => {
            resolve();
          });
          http.server.closeAllConnections();
        }),
    );
    // Start-up freed tens of MB that glibc keeps unless asked: give it back now and then.
    const memory = trimMemoryWhileUp(cleanup);
    log.info(
      {
        services,
        http: http.url,
        gateway: gatewayUrl,
        servers,
        ...memory,
      },
      'hub services ready',
    );
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => (stopping ??= shutdown());
    return {
      httpUrl: http.url,
      gatewayUrl,
      services,
      readiness,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    await shutdown();
    if (err instanceof MosaicError) throw err;
    throw new MosaicError(
      ErrorCode.Internal,
      `the hub services did not start: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/**
 * `/healthz`: the process runs. `/readyz`: 200 with no problems, else 503 with them.
 * `/metrics`: the Prometheus text format.
 */
async function listen(
  at: { host: string; port: number },
  readiness: () => Promise<ReadinessProblem[]>,
  metrics: () => Registry,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify(body)}\n`);
    };
    if (path === '/healthz') json(200, { ok: true });
    else if (path === '/readyz')
      readiness().then(
        (problems) => {
          json(problems.length === 0 ? 200 : 503, { ok: problems.length === 0, problems });
        },
        (err: unknown) => {
          json(503, { ok: false, problems: [], error: (err as Error).message });
        },
      );
    else if (path === '/metrics') {
      const registry = metrics();
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`${(err as Error).message}\n`);
        },
      );
    } else json(404, { ok: false });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : at.port;
  return { server, url: `http://${at.host}:${String(port)}` };
}
