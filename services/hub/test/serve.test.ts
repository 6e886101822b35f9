import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debianTools, ensureDebianTool } from '@mosaic/debian';
import { DEMO_FEDERATION_PATH } from '@mosaic/federation';
import { contextConnectOptions, contextFile, parseContextFile } from '@mosaic/identities';
import {
  ensureNatsServer,
  startNatsServerProcess,
  type NatsServerProcess,
} from '@mosaic/nats-server';
import { AlertHeaders, ROUTER_CONSUMER, Streams, ensureStreams } from '@mosaic/protocol';
import { generateAgencyKey, signReport, type AgencyPrivateJwk } from '@mosaic/signing';
import { freePorts, startServer } from '@mosaic/testkit';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Svcm, type ServiceIdentity } from '@nats-io/services';
import {
  AuthorizationError,
  PermissionViolationError,
  connect,
  type NatsConnection,
} from '@nats-io/transport-node';
import { parse, stringify } from 'yaml';
import { connectContext, example, quietLog, tempDir } from './helpers.ts';
import {
  NotReady,
  announceServices,
  clusterNodes,
  initCluster,
  readHubConfig,
  readinessProblems,
  serve,
  type HubConfig,
  type ReadinessProblem,
} from '../src/index.ts';
import { readIdentities } from '../src/identities-store.ts';

let dir: AsyncDisposable & { path: string };
let config: HubConfig;
let servers: NatsServerProcess[] = [];
const keys = new Map<string, AgencyPrivateJwk>();

beforeAll(async () => {
  dir = await tempDir();
  const demo = parse(await readFile(DEMO_FEDERATION_PATH, 'utf8')) as {
    agencies: { id: string; keys?: unknown[] }[];
  };
  for (const agency of demo.agencies) {
    const pair = await generateAgencyKey(agency.id, { keyId: 'k1' });
    keys.set(agency.id, pair.privateJwk);
    agency.keys = [{ keyId: pair.keyId, publicJwk: pair.publicJwk }];
  }
  const federation = join(dir.path, 'federation.yaml');
  await writeFile(federation, stringify(demo));
  const ports = await freePorts(12);
  const base = { port: 0, clusterPort: 0, httpPort: 0, leafPort: 0 };
  const nodes = clusterNodes(3, ['127.0.0.1'], base).map((n, i) => ({
    ...n,
    port: ports[i * 4] ?? 0,
    clusterPort: ports[i * 4 + 1] ?? 0,
    httpPort: ports[i * 4 + 2] ?? 0,
    leafPort: ports[i * 4 + 3] ?? 0,
  }));
  const init = await initCluster({
    federationPath: federation,
    outDir: join(dir.path, 'hub'),
    nodes,
  });
  // Health on any free port: several service processes of the test share the machine.
  const yamlText = (await readFile(init.hubConfigFile, 'utf8'))
    .replace('port: 9464', 'port: 0')
    .replace('port: 8443', 'port: 0');
  await writeFile(init.hubConfigFile, yamlText);
  config = await readHubConfig(init.hubConfigFile);
  const binary = await ensureNatsServer();
  servers = await Promise.all(
    init.nodeConfigFiles.map((configFile) =>
      startNatsServerProcess({
        binary: binary.path,
        configFile,
        portsFileDir: join(configFile, '..'),
        monitoring: true,
      }),
    ),
  );
}, 120_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await dir[Symbol.asyncDispose]();
});

async function connectAgency(agency: string, server: string): Promise<NatsConnection> {
  const identities = await readIdentities(config.identities);
  const identity = identities?.agencies.get(agency);
  if (identity === undefined) throw new Error(`no identity for ${agency}`);
  const context = parseContextFile(contextFile(identity, server));
  return connect({ ...contextConnectOptions(context), timeout: 5_000, reconnect: false });
}

async function reissued(name: string): Promise<{ issuer: string; bytes: Uint8Array; id: string }> {
  const report = JSON.parse(Buffer.from(await example(name)).toString('utf8')) as {
    issuer: string;
    reportId: string;
    issuedAt: string;
    lineage?: unknown;
  };
  const id = randomUUID();
  // A new report of its own: no lineage pointing at the example's predecessors.
  delete report.lineage;
  const bytes = Buffer.from(
    JSON.stringify({ ...report, reportId: id, issuedAt: new Date().toISOString() }),
  );
  return { issuer: report.issuer, bytes, id };
}

async function routerIdle(jsm: JetStreamManager): Promise<void> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    const info = await jsm.consumers.info(Streams.Reports, ROUTER_CONSUMER);
    if (info.num_pending + info.num_ack_pending === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the routers did not route every report within 30 s');
}

let promtool: { path: string; env: NodeJS.ProcessEnv } | undefined;

/**
 * `/metrics` of a service process, checked by promtool (`check metrics`: the text format
 * and the naming conventions), as a map from series (name and labels) to value.
 */
async function scrape(httpUrl: string): Promise<Map<string, number>> {
  const res = await fetch(new URL('/metrics', httpUrl));
  expect(res.status).toBe(200);
  const text = await res.text();
  promtool ??= await ensureDebianTool(debianTools.promtool);
  const tool = promtool;
  const lint = await new Promise<{ code: number; output: string }>((resolve, reject) => {
    const child = execFile(
      tool.path,
      ['check', 'metrics'],
      { env: { ...process.env, ...tool.env } },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : err.code;
        if (typeof code === 'number') resolve({ code, output: `${stdout}${stderr}` });
        else reject(new Error('promtool did not run', { cause: err }));
      },
    );
    child.stdin?.end(text);
  });
  // prom-client's own default nodejs_active_*_total gauges break a naming convention;
  // everything else, ours included, must pass.
  const problems = lint.output
    .split('\n')
    .filter((l) => l !== '' && !/^nodejs_active_\w+_total /.test(l));
  expect(problems).toEqual([]);
  expect(lint.code === 0 || lint.output.includes('nodejs_active_'), lint.output).toBe(true);
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) values.set(m[1], Number(m[2]));
  }
  return values;
}

describe('serve on a 3-node cluster', () => {
  it('two processes of every service: reports sent through every node are stored once, routed the same, alerts never duplicated', async () => {
    await using a = await serve({ config, log: quietLog });
    await using b = await serve({ config, log: quietLog });
    expect(await a.readiness()).toEqual([]);
    const ready = await fetch(new URL('/readyz', b.httpUrl));
    expect(ready.status).toBe(200);
    const before = await scrape(a.httpUrl);

    // The examples a demo agency issues, each twice through every node.
    const names = ['recruitment-advert.json', 'financial-flow.json', 'recruitment-advert.json'];
    const sent: { id: string; name: string }[] = [];
    for (const [i, server] of config.cluster.servers.entries())
      for (const name of names) {
        const r = await reissued(name);
        const nc = await connectAgency(r.issuer, server);
        try {
          const key = keys.get(r.issuer);
          if (key === undefined) throw new Error(`no key for ${r.issuer}`);
          const jws = await signReport(r.bytes, key);
          const reply = (
            await nc.request(`mosaic.ingest.${r.issuer}`, jws, { timeout: 10_000 })
          ).json<{ ok: boolean; code?: string }>();
          expect(
            reply,
            `${name} through node ${String(i + 1)}: ${JSON.stringify(reply)}`,
          ).toMatchObject({ ok: true });
          sent.push({ id: r.id, name });
        } finally {
          await nc.close();
        }
      }

    const hub = await connect({
      ...contextConnectOptions(
        parseContextFile(await readFile(config.contexts.hub, 'utf8'), 'hub'),
      ),
      servers: config.cluster.servers,
    });
    try {
      const jsm = await jetstreamManager(hub);
      const reports = await jsm.streams.info(Streams.Reports);
      expect(reports.state.messages).toBe(sent.length);
      expect(reports.config.num_replicas).toBe(3);
      await routerIdle(jsm);
      const alerts = await jsm.streams.info(Streams.Alerts);
      const recipients = new Map<string, string[]>();
      for (let seq = alerts.state.first_seq; seq <= alerts.state.last_seq; seq++) {
        const m = await jsm.streams.getMessage(Streams.Alerts, { seq });
        const id = m?.header.get(AlertHeaders.ReportId) ?? '';
        recipients.set(id, [
          ...(recipients.get(id) ?? []),
          m?.header.get(AlertHeaders.Recipient) ?? '',
        ]);
      }
      for (const list of recipients.values()) expect(new Set(list).size).toBe(list.length);
      // The same report, whichever node and process took it, reaches the same agencies.
      for (const name of names) {
        const routes = sent
          .filter((s) => s.name === name)
          .map((s) => [...(recipients.get(s.id) ?? [])].sort().join(','));
        expect(new Set(routes).size, name).toBe(1);
      }
      expect([...recipients.values()].flat().length).toBeGreaterThan(0);

      // Both processes answered some; together, every submission once.
      const after = [await scrape(a.httpUrl), await scrape(b.httpUrl)];
      const sum = (name: string): number => after.reduce((n, m) => n + (m.get(name) ?? 0), 0);
      expect(sum('mosaic_submissions_total{outcome="accepted",code=""}')).toBe(sent.length);
      expect(sum('mosaic_verify_duration_seconds_count')).toBe(sent.length);
      expect(sum('mosaic_store_duration_seconds_count')).toBe(sent.length);
      expect(sum('mosaic_route_duration_seconds_count')).toBe(sent.length);
      // The routers indexed the reports, their selectors' tokens made by the key service.
      expect(sum('mosaic_selector_tokens_total{source="made"}')).toBeGreaterThan(0);
      const [first] = after;
      expect(first?.get('mosaic_alerts_written_total')).toBe(alerts.state.last_seq);
      expect(first?.get('mosaic_alerts_written_total')).toBeGreaterThan(
        before.get('mosaic_alerts_written_total') ?? 0,
      );
      expect(first?.get('mosaic_audit_entries')).toBeGreaterThan(
        before.get('mosaic_audit_entries') ?? 0,
      );
      // The two auditors told of every entry they stored, each once, in writes of one or
      // more: at least the accepted reports' entries, and nothing AUDIT does not hold.
      const appended = sum('mosaic_audit_append_duration_seconds_count');
      expect(appended).toBeGreaterThanOrEqual(sent.length);
      // (AUDIT's size read after both counts, so an entry stored between the scrapes is in it.)
      const auditSize = (await scrape(a.httpUrl)).get('mosaic_audit_entries') ?? 0;
      expect(appended).toBeLessThanOrEqual(auditSize);
      expect(sum('mosaic_audit_write_entries_sum')).toBe(appended);
      expect(sum('mosaic_audit_write_entries_count')).toBeGreaterThan(0);
      expect(sum('mosaic_audit_write_entries_count')).toBeLessThanOrEqual(appended);
      expect(
        first?.get('mosaic_consumer_pending_messages{stream="REPORTS",consumer="router"}'),
      ).toBe(0);
      expect(first?.get('process_cpu_seconds_total')).toBeGreaterThan(0);
    } finally {
      await hub.close();
    }
  }, 120_000);

  it('an agency added while it runs connects through every node within 5 s; removed, it is refused on every node within 5 s', async () => {
    // The auditor's process keeps the servers' agency accounts.
    await using keeper = await serve({ config, only: ['auditor'], log: quietLog });
    expect(keeper.services).toEqual(['auditor']);
    const { connectOperator } = await import('@mosaic/operator');
    await using op = await connectOperator(join(config.agencyContexts, 'operator.json'));
    const entry = parse(
      await readFile(new URL('../../../deploy/agency.example.yaml', import.meta.url), 'utf8'),
    ) as { id: string };
    await op.addAgency(entry, { justification: 'test' });
    const within = async (what: string, ok: () => Promise<boolean>): Promise<void> => {
      const deadline = Date.now() + 5_000;
      while (!(await ok())) {
        if (Date.now() > deadline) throw new Error(`${what} not within 5 s`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    // The context the hub wrote: its user JWT predates the revocation (a JWT issued later
    // would be a new credential, not the agency's).
    const contextPath = join(config.agencyContexts, `${entry.id}.json`);
    await within('context written', async () => {
      try {
        await readFile(contextPath);
        return true;
      } catch (err) {
        if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return false;
        throw err;
      }
    });
    const context = parseContextFile(await readFile(contextPath, 'utf8'));
    // One attempt to connect with the agency's context: the server refused it, took it, or
    // took it and then dropped it (the change reaching that node mid-attempt), which proves
    // nothing either way, so the attempt is made again.
    const attempt = async (server: string): Promise<'connected' | 'refused' | 'dropped'> => {
      let nc: NatsConnection;
      try {
        nc = await connect({
          ...contextConnectOptions(context),
          servers: server,
          timeout: 2_000,
          reconnect: false,
        });
      } catch (err) {
        if (err instanceof AuthorizationError) return 'refused';
        if (err instanceof Error) return 'dropped';
        throw err;
      }
      // A connection that does not reconnect leaves its flush pending for ever when the
      // server closes it: the close ends the attempt instead.
      const outcome = await Promise.race([
        nc.flush().then(() => 'connected' as const),
        nc.closed().then(() => 'dropped' as const),
      ]);
      await nc.close();
      return outcome;
    };
    for (const server of config.cluster.servers)
      await within(`connect ${server}`, async () => (await attempt(server)) === 'connected');
    await op.removeAgency(entry.id, { justification: 'test' });
    for (const server of config.cluster.servers)
      await within(`refused ${server}`, async () => (await attempt(server)) === 'refused');
  }, 60_000);
});

describe('readiness', () => {
  it('is red for a server without sync_interval always, a stream with fewer replicas, and a server older than the minimum', async () => {
    await using server = await startServer({ jetstream: true });
    const nc = await connect({ servers: server.url });
    try {
      const jsm = await jetstreamManager(nc);
      await ensureStreams(jsm, 1);
      const monitoring = [server.monitorUrl ?? ''];
      const problems = await readinessProblems({
        monitoring,
        jsm,
        replicas: 3,
        minServerVersion: '2.12.0',
      });
      const causes = new Set(problems.map((p) => p.cause));
      expect(causes).toContain(NotReady.SyncNotAlways);
      expect(causes).toContain(NotReady.TooFewReplicas);
      expect(causes).not.toContain(NotReady.ServerTooOld);
      expect(problems.find((p) => p.cause === NotReady.TooFewReplicas)?.subject).toBe(
        Streams.Reports,
      );
      const old = await readinessProblems({
        monitoring,
        jsm,
        replicas: 1,
        minServerVersion: '99.0.0',
      });
      expect(old.map((p) => p.cause)).toContain(NotReady.ServerTooOld);
      // A service that says it cannot work (the auditor halted on a foreign AUDIT message).
      const halted = await readinessProblems({
        monitoring,
        jsm,
        replicas: 1,
        minServerVersion: '2.12.0',
        services: [
          { name: 'router', health: () => ({ ok: true }) },
          {
            name: 'auditor',
            health: () => ({
              ok: false,
              problem: 'foreign',
              reason: 'a message the auditor did not write',
              stream: Streams.Audit,
              seq: 7,
            }),
          },
        ],
      });
      expect(halted.filter((p) => p.cause === NotReady.ServiceUnhealthy)).toEqual([
        {
          cause: NotReady.ServiceUnhealthy,
          subject: 'auditor',
          detail: `foreign: a message the auditor did not write {"stream":"${Streams.Audit}","seq":7}`,
        },
      ]);
    } finally {
      await nc.close();
    }
  });

  it('/readyz of a serve process answers 503 with the problem while a cause holds, 200 without it', async () => {
    const tooOld = {
      ...config,
      cluster: { ...config.cluster, minServerVersion: '99.0.0' },
    };
    await using red = await serve({ config: tooOld, only: ['router'], log: quietLog });
    const res = await fetch(new URL('/readyz', red.httpUrl));
    expect(res.status).toBe(503);
    const body = (await res.json()) as { ok: boolean; problems: { cause: string }[] };
    expect(body.ok).toBe(false);
    expect(body.problems.map((p) => p.cause)).toContain(NotReady.ServerTooOld);
    await using green = await serve({ config, only: ['router'], log: quietLog });
    const ok = await fetch(new URL('/readyz', green.httpUrl));
    expect(ok.status, await ok.text()).toBe(200);
  });
});

async function collect<T>(answers: Promise<AsyncIterable<T>>): Promise<T[]> {
  const all: T[] = [];
  for await (const a of await answers) all.push(a);
  return all;
}

const names = (found: readonly ServiceIdentity[]): string[] => found.map((s) => s.name).sort();

describe('readiness of the services themselves', () => {
  it('a router that cannot reach the selector key service holds its reports and is not ready; once a key service runs, it routes them and is ready again', async () => {
    await using served = await serve({
      config,
      only: ['auditor', 'ingest', 'router'],
      log: quietLog,
    });
    expect(config.correlation).toBe(true);
    const r = await reissued('forced-labour-recruiter.json');
    const server = config.cluster.servers[0] ?? '';
    const nc = await connectAgency(r.issuer, server);
    try {
      const key = keys.get(r.issuer);
      if (key === undefined) throw new Error(`no key for ${r.issuer}`);
      const reply = (
        await nc.request(`mosaic.ingest.${r.issuer}`, await signReport(r.bytes, key), {
          timeout: 10_000,
        })
      ).json<{ ok: boolean }>();
      expect(reply).toMatchObject({ ok: true });
    } finally {
      await nc.close();
    }
    const unhealthy = async (): Promise<ReadinessProblem[]> =>
      (await served.readiness()).filter((p) => p.cause === NotReady.ServiceUnhealthy);
    let red: ReadinessProblem[] = [];
    for (const deadline = Date.now() + 60_000; red.length === 0 && Date.now() < deadline;) {
      red = await unhealthy();
      if (red.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(red).toEqual([
      expect.objectContaining({
        subject: 'router',
        detail: expect.stringContaining('selector-index-unavailable') as string,
      }),
    ]);
    const res = await fetch(new URL('/readyz', served.httpUrl));
    expect(res.status).toBe(503);
    expect(JSON.stringify(await res.json())).toContain(NotReady.ServiceUnhealthy);

    // Nothing was routed meanwhile; with a key service the held report goes out.
    const hub = await connect({
      ...contextConnectOptions(
        parseContextFile(await readFile(config.contexts.hub, 'utf8'), 'hub'),
      ),
      servers: config.cluster.servers,
    });
    try {
      const jsm = await jetstreamManager(hub);
      const alertsOf = async (id: string): Promise<number> => {
        const { first_seq, last_seq } = (await jsm.streams.info(Streams.Alerts)).state;
        let n = 0;
        for (let seq = Math.max(first_seq, 1); seq <= last_seq; seq++) {
          const m = await jsm.streams.getMessage(Streams.Alerts, { seq });
          if (m?.header.get(AlertHeaders.ReportId) === id) n++;
        }
        return n;
      };
      expect(await alertsOf(r.id)).toBe(0);
      await using keyService = await serve({ config, only: ['selector-keys'], log: quietLog });
      expect(keyService.services).toEqual(['selector-keys']);
      await routerIdle(jsm);
      expect(await alertsOf(r.id)).toBeGreaterThan(0);
      expect(await unhealthy()).toEqual([]);
    } finally {
      await hub.close();
    }
  });
});

describe('the NATS service API', () => {
  it('$SRV.PING, INFO and STATS answer for every service of every mosaic serve process, until it stops', async () => {
    await using served = await serve({ config, log: quietLog });
    await using first = await announceServices({
      config,
      services: served.services,
      httpUrl: served.httpUrl,
    });
    // A second process running ingest only.
    const second = await announceServices({
      config,
      services: ['ingest'],
      httpUrl: 'http://127.0.0.1:9999',
    });
    const hub = await connectContext(config.contexts.hub);
    try {
      const client = new Svcm(hub).client({ strategy: 'stall', maxWait: 2_000 });
      expect(names(await collect(client.ping()))).toEqual([
        'mosaic-auditor',
        'mosaic-gateway',
        'mosaic-holdings',
        'mosaic-ingest',
        'mosaic-ingest',
        'mosaic-router',
        'mosaic-selector-keys',
      ]);
      const ingest = await collect(client.info('mosaic-ingest'));
      expect(new Set(ingest.map((s) => s.id))).toEqual(
        new Set([first.ids.get('ingest'), second.ids.get('ingest')]),
      );
      const mine = ingest.find((s) => s.id === first.ids.get('ingest'));
      expect(mine).toMatchObject({
        type: 'io.nats.micro.v1.info_response',
        version: '0.1.0',
        metadata: { metrics: `${served.httpUrl}/metrics`, pid: String(process.pid) },
      });
      expect(mine?.description).toMatch(/queue group ingest/);
      const stats = await collect(client.stats('mosaic-router', first.ids.get('router')));
      expect(stats).toHaveLength(1);
      expect(stats[0]).toMatchObject({ type: 'io.nats.micro.v1.stats_response' });
      expect(Date.parse(stats[0]?.started ?? '')).toBeLessThanOrEqual(Date.now());

      // The plain request a monitoring tool makes, answered into the hub identity's inbox.
      const raw = await hub.request('$SRV.PING.mosaic-auditor', '', { timeout: 5_000 });
      expect(raw.json()).toMatchObject({ name: 'mosaic-auditor', id: first.ids.get('auditor') });

      await second.stop();
      expect((await collect(client.ping('mosaic-ingest'))).map((s) => s.id)).toEqual([
        first.ids.get('ingest'),
      ]);
    } finally {
      await hub.close();
    }
  }, 60_000);

  it('agencies cannot reach the hub account’s $SRV: publishing there is refused by the broker', async () => {
    await using served = await serve({ config, only: ['ingest'], log: quietLog });
    await using announced = await announceServices({
      config,
      services: served.services,
      httpUrl: served.httpUrl,
    });
    expect([...announced.ids.keys()]).toEqual(['ingest']);
    const agency: NatsConnection = await connectContext(
      join(config.agencyContexts, 'nl-police.json'),
    );
    const operator: NatsConnection = await connectContext(
      join(config.agencyContexts, 'operator.json'),
    );
    try {
      for (const nc of [agency, operator])
        for (const subject of ['$SRV.PING', '$SRV.INFO.mosaic-ingest', '$SRV.STATS']) {
          const err: unknown = await nc.request(subject, '', { timeout: 5_000 }).then(
            () => undefined,
            (e: unknown) => e,
          );
          let cause: unknown = err;
          while (cause instanceof Error && !(cause instanceof PermissionViolationError))
            cause = cause.cause;
          expect(cause, `${subject}: ${String(err)}`).toBeInstanceOf(PermissionViolationError);
          expect(cause).toMatchObject({ operation: 'publish', subject });
        }
    } finally {
      await agency.close();
      await operator.close();
    }
  }, 60_000);
});
