import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_FEDERATION_PATH } from '@mosaic/federation';
import type { RoutableReport } from '@mosaic/policy';
import { compareAlerts } from '@mosaic/faults';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import {
  ensureNatsServer,
  freePort,
  portFree,
  startNatsServerProcess,
  type NatsServerProcess,
} from '@mosaic/nats-server';
import { Streams } from '@mosaic/protocol';
import { generateAgencyKey, signReport, type AgencyPrivateJwk } from '@mosaic/signing';
import { bounded, spawnReady, type ReadyChild } from '@mosaic/testkit';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { parse, stringify } from 'yaml';
import { mosaic, routerIdle } from './helpers.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(repoRoot, 'packages/cli/bin/mosaic.js');
// One loopback address per node, so every node has the base ports.
const hosts = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];

/** A port free on every node address (picked on the first, checked on the others). */
async function freePortOnAll(): Promise<number> {
  for (;;) {
    const port = await freePort(hosts[0] ?? '127.0.0.1');
    const free = await Promise.all(hosts.map((host) => portFree(port, host)));
    if (free.every(Boolean)) return port;
  }
}

let dir: string;
let federationFile: string;
let out: string;
let hubYaml: string;
let servers: NatsServerProcess[] = [];
const keys = new Map<string, AgencyPrivateJwk>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-serve-test-'));
  const demo = parse(await readFile(DEMO_FEDERATION_PATH, 'utf8')) as {
    agencies: { id: string; keys?: unknown[] }[];
  };
  for (const agency of demo.agencies) {
    const pair = await generateAgencyKey(agency.id, { keyId: 'k1' });
    keys.set(agency.id, pair.privateJwk);
    agency.keys = [{ keyId: pair.keyId, publicJwk: pair.publicJwk }];
  }
  const federation = join(dir, 'federation.yaml');
  federationFile = federation;
  await writeFile(federation, stringify(demo));
  out = join(dir, 'hub');
  const ports = [
    await freePortOnAll(),
    await freePortOnAll(),
    await freePortOnAll(),
    await freePortOnAll(),
  ];
  const init = await mosaic([
    'hub',
    'init',
    '--federation',
    federation,
    '--out',
    out,
    '--host',
    hosts.join(','),
    '--port',
    String(ports[0]),
    '--cluster-port',
    String(ports[1]),
    '--http-port',
    String(ports[2]),
    '--leaf-port',
    String(ports[3]),
  ]);
  expect(init.code, init.stderr).toBe(0);
  hubYaml = init.stdout.trim();
  const binary = await ensureNatsServer();
  servers = await Promise.all(
    ['mosaic-n1', 'mosaic-n2', 'mosaic-n3'].map((name) =>
      startNatsServerProcess({
        binary: binary.path,
        configFile: join(out, 'nodes', name, 'nats-server.conf'),
        portsFileDir: join(out, 'nodes', name),
        monitoring: true,
      }),
    ),
  );
}, 120_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
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

describe('mosaic serve as separate processes on a 3-node cluster', () => {
  it('2 ingest, 2 router, 2 auditor processes; one ingest and one router SIGKILLed mid-load: no acknowledged report lost, no alert duplicated', async () => {
    // The auditors first: ingest and the routers answer only once their entries are written.
    await using auditor1 = await serveChild('auditor');
    await using auditor2 = await serveChild('auditor');
    // The routers index selectors (hub.yaml's correlation, the default) through the key service.
    await using selectorKeys = await serveChild('selector-keys');
    await using ingest1 = await serveChild('ingest');
    await using ingest2 = await serveChild('ingest');
    await using router1 = await serveChild('router');
    await using router2 = await serveChild('router');
    const ready = await fetch(new URL('/readyz', httpUrl(ingest1)));
    expect(ready.status, await ready.text()).toBe(200);

    const agency = 'ro-dicot';
    const key = keys.get(agency);
    if (key === undefined) throw new Error('no key');
    const context = await readContextFile(join(out, 'contexts', `${agency}.json`));
    const connections: NatsConnection[] = [];
    for (const host of hosts) {
      const url = new URL(context.url);
      url.hostname = host;
      connections.push(
        await connect({ ...contextConnectOptions(context), servers: url.href.replace(/\/$/, '') }),
      );
    }
    const example = JSON.parse(
      await readFile(join(repoRoot, 'schemas/examples/valid/recruitment-advert.json'), 'utf8'),
    ) as Record<string, unknown>;
    const acked = new Map<string, number>();
    const sent = new Map<string, RoutableReport>();
    const total = 60;
    // Several submissions in flight at once, so the kill lands mid-request: a client retries
    // an unanswered submission with the same JWS, which gives at most a duplicate.
    const submit = async (i: number): Promise<void> => {
      const reportId = randomUUID();
      const report = { ...example, reportId, issuedAt: new Date().toISOString() };
      sent.set(reportId, report as unknown as RoutableReport);
      const jws = await signReport(Buffer.from(JSON.stringify(report)), key);
      const nc = connections[i % connections.length];
      if (nc === undefined) throw new Error('no connection');
      for (let attempt = 0; ; attempt++) {
        try {
          const reply = (
            await nc.request(`mosaic.ingest.${agency}`, jws, { timeout: 3_000 })
          ).json<{ ok: boolean; seq?: number; code?: string }>();
          expect(reply, JSON.stringify(reply)).toMatchObject({ ok: true });
          acked.set(reportId, reply.seq ?? 0);
          return;
        } catch (err) {
          if (
            attempt >= 5 ||
            !(err instanceof Error) ||
            !/timeout|no responders/i.test(err.message)
          )
            throw err;
        }
      }
    };
    let next = 0;
    let killed = false;
    try {
      await Promise.all(
        Array.from({ length: 6 }, async () => {
          for (let i = next++; i < total; i = next++) {
            if (!killed && acked.size >= 20) {
              killed = true;
              ingest1.child.kill('SIGKILL');
              router1.child.kill('SIGKILL');
            }
            await submit(i);
          }
        }),
      );
    } finally {
      await Promise.all(connections.map((c) => c.close()));
    }
    expect(killed).toBe(true);
    expect(acked.size).toBe(total);

    const hub = await connect({
      ...contextConnectOptions(await readContextFile(join(out, 'services', 'hub.json'))),
      servers: hosts.map((h) => {
        const url = new URL(context.url);
        url.hostname = h;
        return url.href.replace(/\/$/, '');
      }),
    });
    try {
      const jsm = await jetstreamManager(hub);
      const reports = await jsm.streams.info(Streams.Reports);
      expect(reports.state.messages).toBe(total);
      for (const seq of acked.values())
        expect((await jsm.streams.getMessage(Streams.Reports, { seq }))?.seq).toBe(seq);
      await routerIdle(jsm);
      // Every acknowledged report went to exactly the agencies route() entitles, once each.
      const alerts = await compareAlerts(
        jsm,
        federationFile,
        new Map([...sent].filter(([id]) => acked.has(id))),
      );
      expect(alerts.expected).toBeGreaterThan(0);
      expect(alerts).toMatchObject({ missing: [], unexpected: [], duplicated: [] });
      expect(alerts.stored).toBe(alerts.expected);
    } finally {
      await hub.close();
    }

    for (const child of [auditor1, auditor2, selectorKeys, ingest2, router2]) {
      child.child.kill('SIGTERM');
      expect(await bounded(child.exited, 60_000, 'a service process stops on SIGTERM')).toEqual({
        code: 0,
        signal: null,
      });
    }
  }, 240_000);
});
