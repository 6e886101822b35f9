import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debianTools, ensureDebianTool } from '@mosaic/debian';
import { DEMO_FEDERATION_PATH } from '@mosaic/federation';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import {
  ensureNatsServer,
  startNatsServerProcess,
  type NatsServerProcess,
} from '@mosaic/nats-server';
import { generateAgencyKey, signReport, type AgencyPrivateJwk } from '@mosaic/signing';
import { bounded, freePorts, onGlibc, spawnReady, type ReadyChild } from '@mosaic/testkit';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { parse, stringify } from 'yaml';
import {
  checkSelectors,
  connectAgency,
  registerHoldings,
  selectorKeyInfo,
  type Alert,
} from '@mosaic/sdk';
import { canonicalSelector } from '@mosaic/selectors';
import { mosaic } from './helpers.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(repoRoot, 'packages/cli/bin/mosaic.js');
const AGENCY = 'ro-dicot';
const ROUTER = { stream: 'REPORTS', consumer: 'router' };

let dir: string;
let out: string;
let hubYaml: string;
let server: NatsServerProcess | undefined;
let key: AgencyPrivateJwk;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-metrics-test-'));
  const demo = parse(await readFile(DEMO_FEDERATION_PATH, 'utf8')) as {
    agencies: { id: string; keys?: unknown[] }[];
  };
  for (const agency of demo.agencies) {
    const pair = await generateAgencyKey(agency.id, { keyId: 'k1' });
    if (agency.id === AGENCY) key = pair.privateJwk;
    agency.keys = [{ keyId: pair.keyId, publicJwk: pair.publicJwk }];
  }
  const federation = join(dir, 'federation.yaml');
  await writeFile(federation, stringify(demo));
  out = join(dir, 'hub');
  const [port, clusterPort, httpPort, leafPort] = await freePorts(4);
  const init = await mosaic([
    'hub',
    'init',
    '--federation',
    federation,
    '--out',
    out,
    '--nodes',
    '1',
    '--port',
    String(port),
    '--cluster-port',
    String(clusterPort),
    '--http-port',
    String(httpPort),
    '--leaf-port',
    String(leafPort),
  ]);
  expect(init.code, init.stderr).toBe(0);
  hubYaml = init.stdout.trim();
  // The gateway on any free port: other tests share the machine.
  const yamlText = await readFile(hubYaml, 'utf8');
  expect(yamlText).toContain('port: 8443');
  await writeFile(hubYaml, yamlText.replace('port: 8443', 'port: 0'));
  server = await startNatsServerProcess({
    binary: (await ensureNatsServer()).path,
    configFile: join(out, 'nodes', 'mosaic-n1', 'nats-server.conf'),
    portsFileDir: join(out, 'nodes', 'mosaic-n1'),
    monitoring: true,
  });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

function serveChild(only: string): Promise<ReadyChild> {
  return spawnReady(
    process.execPath,
    [bin, 'serve', '--config', hubYaml, '--only', only, '--http-port', '0'],
    { cwd: repoRoot, env: { MOSAIC_LOG_FORMAT: 'json' }, ready: /mosaic: serving \S+ http:\S+\n/ },
  );
}

function httpUrl(child: ReadyChild): string {
  return /mosaic: serving \S+ (http:\S+)/.exec(child.stdout())?.[1] ?? '';
}

let promtool: { path: string; env: NodeJS.ProcessEnv } | undefined;

/** What `promtool check metrics` says of the text (exit code and its lines). */
async function promtoolCheck(text: string): Promise<{ code: number; lines: string[] }> {
  promtool ??= await ensureDebianTool(debianTools.promtool);
  const tool = promtool;
  return new Promise((resolve, reject) => {
    const child = execFile(
      tool.path,
      ['check', 'metrics'],
      { env: { ...process.env, ...tool.env } },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : err.code;
        if (typeof code === 'number')
          resolve({ code, lines: `${stdout}${stderr}`.split('\n').filter((l) => l !== '') });
        else reject(new Error('promtool did not run', { cause: err }));
      },
    );
    child.stdin?.end(text);
  });
}

/** One scrape: a sample's value (a histogram's count) by metric name and labels. */
interface Scrape {
  /** Undefined when the process exports no such series. */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

/**
 * `/metrics` of a service process over HTTP, checked by promtool (text format and naming
 * conventions) and parsed as the Prometheus text format.
 */
async function scrape(child: ReadyChild): Promise<Scrape> {
  const res = await fetch(new URL('/metrics', httpUrl(child)));
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const lint = await promtoolCheck(text);
  // prom-client's default nodejs_active_*_total gauges break a naming convention (a gauge
  // named like a counter); nothing else may.
  expect(lint.lines.filter((l) => !/^nodejs_active_\w+_total /.test(l))).toEqual([]);
  expect(lint.code === 0 || lint.lines.length > 0, lint.lines.join('\n')).toBe(true);
  const families = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
  const same = (a: Record<string, string>, b: Record<string, string>): boolean =>
    Object.keys(a).length === Object.keys(b).length &&
    Object.entries(b).every(([k, v]) => a[k] === v);
  return {
    value(name, labels = {}) {
      const family = families.get(name);
      const sample = family?.metrics.find((m) => same(m.labels ?? {}, labels));
      if (family === undefined || sample === undefined) return undefined;
      if (family.type !== 'HISTOGRAM') return Number(sample.value);
      // Cumulative buckets: the last one (+Inf) holds every observation.
      expect(sample.buckets?.['+Inf']).toBe(sample.count);
      return Number(sample.count);
    },
  };
}

/** Scrapes until `ok` holds (bounded): metrics read from JetStream settle asynchronously. */
async function scrapeUntil(
  child: ReadyChild,
  what: string,
  ok: (s: Scrape) => boolean,
  timeoutMs = 60_000,
): Promise<Scrape> {
  for (const deadline = Date.now() + timeoutMs; ;) {
    const s = await scrape(child);
    if (ok(s)) return s;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${String(timeoutMs / 1000)} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** A recruitment advert of AGENCY: every one names the same phone, e-mail and handle. */
async function signedReport(reportId = randomUUID()): Promise<string> {
  const example = JSON.parse(
    await readFile(join(repoRoot, 'schemas/examples/valid/recruitment-advert.json'), 'utf8'),
  ) as Record<string, unknown>;
  const report = { ...example, reportId, issuedAt: new Date().toISOString() };
  return signReport(Buffer.from(JSON.stringify(report)), key);
}

async function submit(
  nc: NatsConnection,
  jws: string,
): Promise<{ ok: boolean; code?: string; duplicate?: boolean }> {
  const msg = await nc.request(`mosaic.ingest.${AGENCY}`, jws, { timeout: 10_000 });
  return msg.json();
}

const count = (s: Scrape, name: string, labels?: Record<string, string>): number =>
  s.value(name, labels) ?? 0;

describe('/metrics of mosaic serve processes under load', () => {
  it('every metric the hub exports moves: submissions by outcome and code, verify/store/route times, alerts, pending, redeliveries, audit size, checkpoint age, process', async () => {
    // The auditor first: ingest and the router answer only once their entries are written.
    let auditor = await serveChild('auditor');
    // The routers index selectors (hub.yaml's correlation, the default) through the key service.
    const keys = await serveChild('selector-keys');
    await using ingest = await serveChild('ingest');
    const router1 = await serveChild('router');
    const before = await scrape(ingest);
    expect(count(before, 'mosaic_submissions_total', { outcome: 'accepted', code: '' })).toBe(0);

    const context = await readContextFile(join(out, 'contexts', `${AGENCY}.json`));
    const nc = await connect({ ...contextConnectOptions(context), timeout: 5_000 });
    try {
      // Accepted, one of them again (a duplicate), and one that is no report at all.
      const accepted = 5;
      const first = await signedReport();
      expect(await submit(nc, first)).toMatchObject({ ok: true });
      for (let i = 1; i < accepted; i++)
        expect(await submit(nc, await signedReport())).toMatchObject({ ok: true });
      expect(await submit(nc, first)).toMatchObject({ ok: true, duplicate: true });
      const rejected = await submit(nc, 'not.a.jws');
      expect(rejected.ok).toBe(false);
      const code = rejected.code ?? '';
      expect(code).toMatch(/^ERR_/);

      const afterIngest = await scrape(ingest);
      expect(
        count(afterIngest, 'mosaic_submissions_total', { outcome: 'accepted', code: '' }),
      ).toBe(accepted);
      expect(
        count(afterIngest, 'mosaic_submissions_total', { outcome: 'duplicate', code: '' }),
      ).toBe(1);
      expect(count(afterIngest, 'mosaic_submissions_total', { outcome: 'rejected', code })).toBe(1);
      // Every submission that got past attestation was checked; only new reports stored.
      expect(count(afterIngest, 'mosaic_verify_duration_seconds')).toBe(accepted + 2);
      expect(count(afterIngest, 'mosaic_store_duration_seconds')).toBe(accepted);
      expect(count(afterIngest, 'process_cpu_seconds_total')).toBeGreaterThan(
        count(before, 'process_cpu_seconds_total'),
      );
      expect(count(afterIngest, 'process_resident_memory_bytes')).toBeGreaterThan(0);
      expect(count(afterIngest, 'mosaic_audit_entries')).toBeGreaterThan(
        count(before, 'mosaic_audit_entries'),
      );

      // The router routes each accepted report once and writes its alerts.
      const routed = await scrapeUntil(
        router1,
        'router routed every report',
        (s) => count(s, 'mosaic_route_duration_seconds') === accepted,
      );
      expect(count(routed, 'mosaic_alerts_written_total')).toBeGreaterThanOrEqual(accepted);
      expect(count(routed, 'mosaic_alerts_written_total')).toBeGreaterThan(
        count(before, 'mosaic_alerts_written_total'),
      );
      expect(count(routed, 'mosaic_consumer_pending_messages', ROUTER)).toBe(0);
      // The auditor signs a checkpoint once entries stop arriving for a moment.
      const sealed = await scrapeUntil(
        ingest,
        'a checkpoint signed',
        (s) => s.value('mosaic_audit_checkpoint_age_seconds') !== undefined,
      );
      expect(count(sealed, 'mosaic_audit_checkpoint_age_seconds')).toBeGreaterThanOrEqual(0);

      // No router: what is submitted now waits in the consumer.
      router1.child.kill('SIGTERM');
      expect(await bounded(router1.exited, 60_000, 'router1 stops on SIGTERM')).toEqual({
        code: 0,
        signal: null,
      });
      // Its last pull request outlives it: a server with a leaf node listener still hands
      // messages to a pull request received in the last 2 s when its requester is gone (they
      // come back after the ack wait). Past that, new reports wait undelivered.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const waiting = 4;
      for (let i = 0; i < waiting; i++)
        expect(await submit(nc, await signedReport())).toMatchObject({ ok: true });
      let seen: number | undefined;
      const pending = await scrapeUntil(
        ingest,
        'pending reports counted',
        (s) => (seen = count(s, 'mosaic_consumer_pending_messages', ROUTER)) === waiting,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)} (last: ${String(seen)})`);
      });
      expect(count(pending, 'mosaic_consumer_redelivered_messages', ROUTER)).toBe(0);
      const alertsBefore = count(pending, 'mosaic_alerts_written_total');

      // Without an auditor a router cannot audit a disclosure, so it acks nothing and each
      // report comes back to it; it is SIGKILLed holding them.
      auditor.child.kill('SIGTERM');
      expect(await bounded(auditor.exited, 60_000, 'auditor stops on SIGTERM')).toEqual({
        code: 0,
        signal: null,
      });
      // No auditor, no new checkpoint: the last one only ages from here on.
      const unsealed = await scrape(ingest);
      const router2 = await serveChild('router');
      try {
        const redelivering = await scrapeUntil(
          router2,
          'redeliveries counted',
          (s) => count(s, 'mosaic_consumer_redelivered_messages', ROUTER) > 0,
        );
        expect(count(redelivering, 'mosaic_consumer_pending_messages', ROUTER)).toBe(0);
        expect(count(redelivering, 'mosaic_route_duration_seconds')).toBe(0);
        // A redelivery comes a second after the failed attempt at the earliest.
        expect(count(redelivering, 'mosaic_audit_checkpoint_age_seconds')).toBeGreaterThan(
          count(unsealed, 'mosaic_audit_checkpoint_age_seconds'),
        );
      } finally {
        router2.child.kill('SIGKILL');
      }
      expect((await router2.exited).signal).toBe('SIGKILL');

      // Another auditor and router take over: every held report routed, once.
      auditor = await serveChild('auditor');
      await using router3 = await serveChild('router');
      const recovered = await scrapeUntil(
        router3,
        'the held reports routed by the next router',
        (s) =>
          count(s, 'mosaic_route_duration_seconds') === waiting &&
          count(s, 'mosaic_consumer_redelivered_messages', ROUTER) === 0,
      );
      expect(count(recovered, 'mosaic_consumer_pending_messages', ROUTER)).toBe(0);
      expect(count(recovered, 'mosaic_alerts_written_total')).toBeGreaterThan(alertsBefore);
      expect(count(recovered, 'mosaic_audit_entries')).toBeGreaterThan(
        count(afterIngest, 'mosaic_audit_entries'),
      );
    } finally {
      await nc.close();
      auditor.child.kill('SIGTERM');
      keys.child.kill('SIGTERM');
      await bounded(
        Promise.all([auditor.exited, keys.exited]),
        60_000,
        'the auditor and the key service stop on SIGTERM',
      );
    }
  }, 300_000);
});

describe('the gateway, the selector key service and the holdings service as mosaic serve processes', () => {
  it('serve --only gateway,selector-keys and --only holdings: health, readiness, metrics and drain as the others; the gateway takes a report over HTTP, the key service answers an agency over NATS, a later report is related to it, a holdings check hits', async () => {
    await using core = await serveChild('auditor,ingest,router');
    const edge = await serveChild('gateway,selector-keys');
    const holdings = await serveChild('holdings');
    try {
      const gatewayUrl = /mosaic: gateway (\S+)\n/.exec(edge.stdout())?.[1] ?? '';
      expect(gatewayUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await fetch(new URL('/healthz', httpUrl(edge)))).status).toBe(200);
      const ready = await fetch(new URL('/readyz', httpUrl(edge)));
      expect(ready.status, await ready.text()).toBe(200);
      const before = await scrape(edge);
      expect(count(before, 'process_cpu_seconds_total')).toBeGreaterThan(0);
      // Each process gives the memory its start-up freed back to the system (where glibc is).
      for (const child of [edge, holdings])
        expect(child.stderr()).toMatch(
          new RegExp(
            `"memoryTrim":"${onGlibc ? 'malloc_trim' : 'unavailable'}".*"msg":"hub services ready"`,
          ),
        );

      // The operator issues the agency a gateway token; the agency submits over HTTP.
      const issued = await mosaic([
        'agency',
        'token',
        'issue',
        '--context',
        join(out, 'contexts', 'operator.json'),
        '--agency',
        AGENCY,
        '--reason',
        'gateway test',
      ]);
      expect(issued.code, issued.stderr).toBe(0);
      const { token } = JSON.parse(issued.stdout) as { token: string };
      const firstId = randomUUID();
      const submitted = await fetch(new URL('/v1/reports', gatewayUrl), {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/jose' },
        body: await signedReport(firstId),
      });
      const body = (await submitted.json()) as { ok: boolean; duplicate?: boolean };
      expect(submitted.ok, JSON.stringify(body)).toBe(true);
      expect(body).toMatchObject({ ok: true, duplicate: false });
      const refused = await fetch(new URL('/v1/reports', gatewayUrl), {
        method: 'POST',
        headers: { authorization: 'Bearer mgt_0_wrong', 'content-type': 'application/jose' },
        body: await signedReport(),
      });
      expect(refused.status).toBe(401);

      // The key service answers the agency with the public half of the key hub init wrote.
      const keyFile = JSON.parse(await readFile(join(out, 'selector-key.json'), 'utf8')) as {
        epoch: number;
        publicKey: string;
      };
      const context = await readContextFile(join(out, 'contexts', `${AGENCY}.json`));
      const nc = await connect({ ...contextConnectOptions(context), timeout: 5_000 });
      const nlContext = await readContextFile(join(out, 'contexts', 'nl-police.json'));
      await using nl = await connectAgency({ context: nlContext });
      try {
        const info = await selectorKeyInfo(nc, AGENCY);
        expect(info.epoch).toBe(keyFile.epoch);
        expect(Buffer.from(info.publicKey).toString('base64url')).toBe(keyFile.publicKey);

        // Correlation: the router indexed the first report's selectors, so nl-police's
        // alert of a later report sharing them names the first as related.
        const laterId = randomUUID();
        expect(await submit(nc, await signedReport(laterId))).toMatchObject({ ok: true });
        const done = new AbortController();
        let later: Alert | undefined;
        await bounded(
          nl.subscribe(
            (alert) => {
              if (alert.report.reportId !== laterId) return;
              later = alert;
              done.abort();
            },
            { follow: true, signal: done.signal },
          ),
          60_000,
          'nl-police receives the alert of the later report',
        );
        expect(later?.related).toContainEqual(
          expect.objectContaining({ issuer: AGENCY, reportId: firstId }),
        );

        // Holdings: the holder registers a phone, another agency's check of it hits.
        const holdingsReady = await fetch(new URL('/readyz', httpUrl(holdings)));
        expect(holdingsReady.status, await holdingsReady.text()).toBe(200);
        const phone = canonicalSelector('phone', { number: '+40 723 456 789' });
        expect(
          await registerHoldings(nc, AGENCY, [{ selector: phone, reference: 'ro-case-1' }]),
        ).toEqual({ registered: 1, withdrawn: 0 });
        const unknown = canonicalSelector('phone', { number: '+31 6 1234 5678' });
        const { results } = await checkSelectors(nl.connection, 'nl-police', [phone, unknown]);
        expect([results.get(phone)?.hit, results.get(unknown)?.hit]).toEqual([true, false]);
      } finally {
        await nc.close();
      }
      expect(count(await scrape(edge), 'process_cpu_seconds_total')).toBeGreaterThan(
        count(before, 'process_cpu_seconds_total'),
      );
    } finally {
      edge.child.kill('SIGTERM');
      holdings.child.kill('SIGTERM');
    }
    // SIGTERM drains and exits as for the other services.
    expect(await bounded(edge.exited, 60_000, 'edge stops on SIGTERM')).toEqual({
      code: 0,
      signal: null,
    });
    expect(await bounded(holdings.exited, 60_000, 'holdings stops on SIGTERM')).toEqual({
      code: 0,
      signal: null,
    });
    core.child.kill('SIGTERM');
    expect(await bounded(core.exited, 60_000, 'core stops on SIGTERM')).toEqual({
      code: 0,
      signal: null,
    });
  }, 180_000);
});
