import { randomUUID } from 'node:crypto';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextConnectOptions, readContextFile, type NatsContext } from '@mosaic/identities';
import { connectOperator } from '@mosaic/operator';
import { HUB_NODE_FLAGS } from '@mosaic/hub';
import { Streams } from '@mosaic/protocol';
import { connectAgency, type Alert } from '@mosaic/sdk';
import { bounded, spawnReady, type ReadyChild } from '@mosaic/testkit';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { mosaic } from './helpers.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(repoRoot, 'packages/cli/bin/mosaic.js');
const recruitmentAdvert = join(repoRoot, 'schemas/examples/valid/recruitment-advert.json');
const agencyExample = join(repoRoot, 'deploy/agency.example.yaml');
/** The acceptance bound of an agency added or removed on a running cluster, on every node. */
const ACCOUNT_CHANGE_BOUND_MS = 5_000;

let dir: string;
let dataDir: string;
let hub: ReadyChild | undefined;
/** be-police's context, kept after its removal: a restart must not let it back in. */
let removedContext: NatsContext | undefined;

interface ClusterLog {
  nodes: { name: string; pid: number; url: string }[];
  services: { name: string; pid: number; url: string }[];
}

function startCluster(): Promise<ReadyChild> {
  return spawnReady(process.execPath, [bin, 'dev', '--cluster', '3', '--data-dir', dataDir], {
    cwd: repoRoot,
    env: { MOSAIC_LOG_FORMAT: 'json' },
    ready: /mosaic: hub ready \S+\n/,
    timeoutMs: 180_000,
  });
}

/** The pids and URLs `mosaic dev --cluster` logs for trying failover. */
function clusterLog(child: ReadyChild): ClusterLog {
  for (const line of child.stderr().split('\n')) {
    if (!line.startsWith('{')) continue;
    const record = JSON.parse(line) as { msg?: string } & Partial<ClusterLog>;
    if (record.msg?.startsWith('failover') === true && record.nodes && record.services)
      return { nodes: record.nodes, services: record.services };
  }
  throw new Error(`no failover record on stderr:\n${child.stderr().slice(-4_000)}`);
}

async function stopCluster(child: ReadyChild): Promise<void> {
  const { nodes, services } = clusterLog(child);
  child.child.kill('SIGTERM');
  expect(await bounded(child.exited, 60_000, 'mosaic dev --cluster stops')).toEqual({
    code: 0,
    signal: null,
  });
  // Every node and service process it started is gone.
  for (const { pid } of [...nodes, ...services]) expect(() => process.kill(pid, 0)).toThrow();
}

/** The agency's context with the URL of one node: connections go through that node only. */
async function contextAt(agency: string, url: string): Promise<NatsContext> {
  return { ...(await readContextFile(join(dataDir, 'contexts', `${agency}.json`))), url };
}

async function connectAt(context: NatsContext, timeout = 1_000): Promise<NatsConnection> {
  return connect({
    ...contextConnectOptions(context),
    timeout,
    reconnect: false,
    ignoreClusterUpdates: true,
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-dev-cluster-'));
  dataDir = join(dir, 'data');
  hub = await startCluster();
}, 240_000);

afterAll(async () => {
  // SIGTERM first: a SIGKILLed mosaic dev could not stop the processes it started.
  if (hub?.running === true) {
    hub.child.kill('SIGTERM');
    await bounded(hub.exited, 60_000, 'mosaic dev --cluster stops').catch(() => undefined);
  }
  await hub?.[Symbol.asyncDispose]();
  await rm(dir, { recursive: true, force: true });
});

describe('mosaic dev --cluster 3', () => {
  it('runs three nodes and each service as its own process; a report through each node is stored once and its alerts delivered', async () => {
    if (hub === undefined) throw new Error('no hub');
    const { nodes, services } = clusterLog(hub);
    expect(nodes.map((n) => n.name)).toEqual(['mosaic-n1', 'mosaic-n2', 'mosaic-n3']);
    expect(services.map((s) => s.name)).toEqual([
      'auditor',
      'ingest',
      'selector-keys',
      'router',
      'holdings',
      'gateway',
    ]);
    expect(new Set([...nodes, ...services].map((p) => p.pid)).size).toBe(9);
    for (const service of services) {
      const argv = (await readFile(`/proc/${String(service.pid)}/cmdline`, 'utf8')).split('\0');
      expect(argv.slice(1, 1 + HUB_NODE_FLAGS.length), service.name).toEqual([...HUB_NODE_FLAGS]);
    }
    expect(hub.stdout()).toContain(`mosaic: hub ready ${nodes.map((n) => n.url).join(',')}`);
    for (const service of services) {
      const ready = await fetch(new URL('/readyz', service.url));
      expect(ready.status, await ready.text()).toBe(200);
    }

    const example = JSON.parse(await readFile(recruitmentAdvert, 'utf8')) as Record<
      string,
      unknown
    >;
    delete example['lineage'];
    const sent = new Set<string>();
    for (const node of nodes) {
      await using ro = await connectAgency({
        context: await contextAt('ro-dicot', node.url),
        key: join(dataDir, 'keys', 'ro-dicot.jwk'),
      });
      expect(ro.connection.info?.server_name).toBe(node.name);
      const reportId = randomUUID();
      const reply = await ro.publish({ ...example, reportId, issuedAt: new Date().toISOString() });
      expect(reply, JSON.stringify(reply)).toMatchObject({ ok: true, duplicate: false });
      sent.add(reportId);
    }

    // nl-police reads, through the last node, one alert per report.
    const last = nodes[2];
    if (last === undefined) throw new Error('no third node');
    await using nl = await connectAgency({ context: await contextAt('nl-police', last.url) });
    const alerts: Alert[] = [];
    await bounded(
      nl.subscribe(
        (alert) => {
          alerts.push(alert);
        },
        { follow: true, max: sent.size },
      ),
      30_000,
      'nl-police receives its alerts',
    );
    expect(new Set(alerts.map((a) => a.report.reportId))).toEqual(sent);
    expect(alerts.every((a) => a.originator === 'ro-dicot')).toBe(true);

    await using op = await connectOperator(join(dataDir, 'contexts', 'operator.json'));
    const reports = await op.jsm.streams.info(Streams.Reports);
    expect(reports.state.messages).toBe(sent.size);
    expect(reports.config.num_replicas).toBe(3);
  }, 120_000);

  it(`an agency added while it runs connects through each node within ${String(ACCOUNT_CHANGE_BOUND_MS / 1000)} s; removed, it is refused on every node within ${String(ACCOUNT_CHANGE_BOUND_MS / 1000)} s`, async () => {
    if (hub === undefined) throw new Error('no hub');
    const { nodes } = clusterLog(hub);
    const operator = join(dataDir, 'contexts', 'operator.json');
    const contextPath = join(dataDir, 'contexts', 'be-police.json');

    // Through each node, retried until it connects; the bound runs from the command's start.
    const addedAt = Date.now();
    const add = mosaic([
      'agency',
      'add',
      '--context',
      operator,
      '--file',
      agencyExample,
      '--reason',
      'MoU 2026-14',
    ]);
    const connected = await bounded(
      Promise.all(
        nodes.map(async (node) => {
          for (;;) {
            try {
              await access(contextPath);
              const nc = await connectAt(await contextAt('be-police', node.url));
              const server = nc.info?.server_name;
              return { nc, server, ms: Date.now() - addedAt };
            } catch (err) {
              if (!(err instanceof Error)) throw err;
              await new Promise((resolve) => setTimeout(resolve, 20));
            }
          }
        }),
      ),
      ACCOUNT_CHANGE_BOUND_MS,
      'be-police connects through every node',
    );
    const added = await add;
    expect(added.code, added.stderr).toBe(0);
    expect(connected.map((c) => c.server)).toEqual(nodes.map((n) => n.name));

    // Removed: the connections on every node are cut and a new one is refused everywhere.
    const context = await readContextFile(contextPath);
    removedContext = context;
    const closed = connected.map((c) => c.nc.closed());
    const removedAt = Date.now();
    const remove = mosaic([
      'agency',
      'remove',
      '--context',
      operator,
      '--agency',
      'be-police',
      '--reason',
      'MoU 2026-14 terminated',
    ]);
    const refused = await bounded(
      Promise.all(
        nodes.map(async (node, i) => {
          await closed[i];
          for (;;) {
            try {
              const nc = await connectAt({ ...context, url: node.url });
              await nc.close();
              await new Promise((resolve) => setTimeout(resolve, 20));
            } catch (err) {
              if (!(err instanceof Error)) throw err;
              if (/authori[sz]ation|revoked/i.test(err.message)) return Date.now() - removedAt;
              // Anything else (a connect timeout on a loaded machine) is not a refusal: again.
            }
          }
        }),
      ),
      ACCOUNT_CHANGE_BOUND_MS,
      'be-police refused on every node',
    );
    expect(refused).toHaveLength(3);
    const removed = await remove;
    expect(removed.code, removed.stderr).toBe(0);
    await expect(access(contextPath)).rejects.toThrow(/ENOENT/);
  }, 60_000);

  it('stops every process on SIGTERM, and a restart on the same data dir keeps the reports and the removal', async () => {
    if (hub === undefined) throw new Error('no hub');
    const urls = clusterLog(hub).nodes.map((n) => n.url);
    await stopCluster(hub);
    hub = await startCluster();
    const again = clusterLog(hub);
    // The same ports: every context written before still names a node.
    expect(again.nodes.map((n) => n.url)).toEqual(urls);
    await using op = await connectOperator(join(dataDir, 'contexts', 'operator.json'));
    expect((await op.jsm.streams.info(Streams.Reports)).state.messages).toBe(3);
    expect((await op.federation()).agencies.map((a) => a.id)).not.toContain('be-police');
    for (const node of again.nodes) {
      const nc = await connectAt(await contextAt('ro-dicot', node.url));
      expect(nc.info?.server_name).toBe(node.name);
      await nc.close();
      if (removedContext === undefined) throw new Error('no removed context');
      await expect(connectAt({ ...removedContext, url: node.url })).rejects.toThrow(
        /authori[sz]ation|revoked/i,
      );
    }
    await stopCluster(hub);
    hub = undefined;
  }, 300_000);
});
