import { randomUUID } from 'node:crypto';
import { readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_FEDERATION_PATH } from '@mosaic/federation';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import { startLeafNode } from '@mosaic/identities/test-support';
import { ensureNatsServer, startNatsServerProcess } from '@mosaic/nats-server';
import { generateAgencyKey, signReport } from '@mosaic/signing';
import { JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Streams, ensureStreams } from '@mosaic/protocol';
import { parse, stringify } from 'yaml';
import { connectContext, example, quietLog, tempDir } from './helpers.ts';
import { clusterNodes, initCluster, readHubConfig, serve } from '../src/index.ts';
import { whenJetStreamReady } from '../src/jetstream-ready.ts';
import { bounded, freePorts, isPortClash, logSink } from '@mosaic/testkit';

async function nodesOnFreePorts(count: number) {
  const ports = await freePorts(count * 4);
  const base = { port: 0, clusterPort: 0, httpPort: 0, leafPort: 0 };
  return clusterNodes(count, ['127.0.0.1'], base).map((node, i) => ({
    ...node,
    port: ports[i * 4] ?? 0,
    clusterPort: ports[i * 4 + 1] ?? 0,
    httpPort: ports[i * 4 + 2] ?? 0,
    leafPort: ports[i * 4 + 3] ?? 0,
  }));
}

/**
 * Starts the nats-server of a node config `hub init` wrote. With `monitoring` it waits for
 * `/healthz`, which waits for JetStream: a node alone of several never gets there.
 */
async function startNode(configFile: string, monitoring = true) {
  return startNatsServerProcess({
    binary: (await ensureNatsServer()).path,
    configFile,
    portsFileDir: join(configFile, '..'),
    monitoring,
  });
}

/**
 * `hub init` for `count` nodes on free ports into `<root>/hub-<attempt>`, and its nodes started
 * together (a JetStream cluster node waits for its routes). Ports are picked free and bound
 * moments later: should another process take one in between, it starts again on new ports.
 */
async function startedCluster(root: string, count: number) {
  for (let attempt = 1; ; attempt++) {
    const out = join(root, `hub-${String(attempt)}`);
    const nodes = await nodesOnFreePorts(count);
    const init = await initCluster({ federationPath: DEMO_FEDERATION_PATH, outDir: out, nodes });
    const started = await Promise.allSettled(init.nodeConfigFiles.map((file) => startNode(file)));
    const servers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = started.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failed.length === 0) return { out, init, servers };
    await Promise.all(servers.map((server) => server.stop()));
    if (attempt >= 3 || !failed.some(isPortClash)) throw failed[0];
  }
}

async function snapshot(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true }))
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      files.set(path.slice(dir.length + 1), await readFile(path, 'utf8'));
    }
  return files;
}

describe('clusterNodes', () => {
  it('puts every node on one host on ports of its own, or each on its host on the base ports', () => {
    const base = { port: 4222, clusterPort: 6222, httpPort: 8222, leafPort: 7422 };
    expect(clusterNodes(3, ['10.0.0.1'], base).map((n) => [n.name, n.host, n.port])).toEqual([
      ['mosaic-n1', '10.0.0.1', 4222],
      ['mosaic-n2', '10.0.0.1', 4223],
      ['mosaic-n3', '10.0.0.1', 4224],
    ]);
    expect(clusterNodes(2, ['a', 'b'], base).map((n) => [n.host, n.clusterPort])).toEqual([
      ['a', 6222],
      ['b', 6222],
    ]);
    expect(() => clusterNodes(3, ['a', 'b'], base)).toThrow(/one per node/);
  });
});

describe('initCluster', () => {
  it('writes node configs, contexts (0600), keys and hub.yaml, and a second run keeps every file', async () => {
    await using dir = await tempDir();
    const out = join(dir.path, 'hub');
    const nodes = await nodesOnFreePorts(3);
    const first = await initCluster({ federationPath: DEMO_FEDERATION_PATH, outDir: out, nodes });
    expect(first.kept).toEqual([]);
    for (const file of [
      'identities.json',
      'hub.jwk',
      'contexts/nl-police.json',
      'contexts/operator.json',
      'services/ingest.json',
      'services/router.json',
      'services/auditor.json',
      'services/hub.json',
      'services/system.json',
      'services/holdings.json',
      'breakglass/admin.json',
      'nodes/mosaic-n1/nats-server.conf',
    ]) {
      expect(first.written).toContain(file);
      expect((await stat(join(out, file))).mode & 0o777).toBe(0o600);
    }
    const conf = await readFile(join(out, 'nodes/mosaic-n2/nats-server.conf'), 'utf8');
    expect(conf).toMatch(/^\s*sync_interval: always$/m);
    expect(conf).toContain(`nats-route://127.0.0.1:${String(nodes[0]?.clusterPort)}`);
    expect(conf).not.toContain(`nats-route://127.0.0.1:${String(nodes[1]?.clusterPort)}`);
    expect(conf).toMatch(/resolver: \{ type: full/);

    const config = await readHubConfig(first.hubConfigFile);
    expect(config.replicas).toBe(3);
    expect(config.cluster.servers).toEqual(nodes.map((n) => `nats://127.0.0.1:${String(n.port)}`));
    expect(config.contexts.ingest).toBe(join(out, 'services/ingest.json'));
    expect(config.contexts.holdings).toBe(join(out, 'services/holdings.json'));
    expect(config.correlation).toBe(true);

    const before = await snapshot(out);
    const second = await initCluster({ federationPath: DEMO_FEDERATION_PATH, outDir: out, nodes });
    expect(second.written).toEqual([]);
    expect(second.kept).toEqual(expect.arrayContaining([...first.written]));
    const after = await snapshot(out);
    // hub.jwks is rewritten from the kept private key: the same text.
    expect(after).toEqual(before);
  });

  it('gives an agency new to the federation its keys and keeps every other key', async () => {
    await using dir = await tempDir();
    const out = join(dir.path, 'hub');
    const nodes = await nodesOnFreePorts(1);
    const demo = await readFile(DEMO_FEDERATION_PATH, 'utf8');
    const { writeFile } = await import('node:fs/promises');
    const small = join(dir.path, 'small.yaml');
    // The demo federation without ngo-lastrada, then the full one.
    const { parse, stringify } = await import('yaml');
    const parsed = parse(demo) as { agencies: { id: string }[] };
    await writeFile(
      small,
      stringify({
        ...parsed,
        agencies: parsed.agencies.filter((a) => a.id !== 'ngo-lastrada'),
        agreements: [],
      }),
    );
    await initCluster({ federationPath: small, outDir: out, nodes });
    const before = JSON.parse(await readFile(join(out, 'identities.json'), 'utf8')) as {
      accounts: { operator: unknown; agencies: Record<string, unknown> };
    };
    const second = await initCluster({ federationPath: DEMO_FEDERATION_PATH, outDir: out, nodes });
    expect(second.written).toEqual(['contexts/ngo-lastrada.json']);
    const after = JSON.parse(await readFile(join(out, 'identities.json'), 'utf8')) as typeof before;
    expect(after.accounts.operator).toEqual(before.accounts.operator);
    expect(after.accounts.agencies).toEqual({
      ...before.accounts.agencies,
      'ngo-lastrada': expect.anything() as unknown,
    });
  });

  it('adds the holdings user to an identities.json written before the service, its context with the same key, and keeps every other key', async () => {
    await using dir = await tempDir();
    const out = join(dir.path, 'hub');
    const nodes = await nodesOnFreePorts(1);
    await initCluster({ federationPath: DEMO_FEDERATION_PATH, outDir: out, nodes });
    const file = join(out, 'identities.json');
    type Stored = { users: Record<string, { seed: string } | undefined> };
    const older = JSON.parse(await readFile(file, 'utf8')) as Stored;
    const { holdings: _dropped, ...users } = older.users;
    await writeFile(file, JSON.stringify({ ...older, users }, null, 2));
    await rm(join(out, 'services', 'holdings.json'));

    const again = await initCluster({ federationPath: DEMO_FEDERATION_PATH, outDir: out, nodes });
    expect(again.written).toEqual(['services/holdings.json']);
    const after = JSON.parse(await readFile(file, 'utf8')) as Stored;
    const { holdings, ...others } = after.users;
    expect(others).toEqual(users);
    expect(holdings?.seed).toMatch(/^SU/);
    expect(holdings?.seed).not.toBe(_dropped?.seed);
    const context = await readContextFile(join(out, 'services', 'holdings.json'));
    expect(context.nkeySeed).toBe(holdings?.seed);
  });

  it('gives configs a 3-node cluster starts from: R3 JetStream, every context connects', async () => {
    await using dir = await tempDir();
    const { out, init, servers } = await startedCluster(dir.path, 3);
    try {
      const config = await readHubConfig(init.hubConfigFile);
      const hub = await connectContext(config.contexts.hub);
      try {
        // A node answers /healthz before the cluster has given the account its JetStream.
        const jsm = await whenJetStreamReady(
          async () => {
            const jsm = await jetstreamManager(hub);
            await ensureStreams(jsm, config.replicas);
            return jsm;
          },
          { log: quietLog, timeoutMs: 60_000, what: 'create the hub streams' },
        );
        const info = await jsm.streams.info(Streams.Reports);
        expect(info.config.num_replicas).toBe(3);
        expect(info.cluster?.replicas?.length).toBe(2);
      } finally {
        await hub.close();
      }
      const agency = await connectContext(join(out, 'contexts/nl-police.json'));
      await agency.close();
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  }, 120_000);

  it('gives a single node a config it starts from, without a cluster block', async () => {
    await using dir = await tempDir();
    const out = join(dir.path, 'hub');
    const nodes = await nodesOnFreePorts(1);
    const init = await initCluster({ federationPath: DEMO_FEDERATION_PATH, outDir: out, nodes });
    const [configFile] = init.nodeConfigFiles;
    if (configFile === undefined) throw new Error('no node config');
    expect(await readFile(configFile, 'utf8')).not.toMatch(/^cluster \{/m);
    const server = await startNode(configFile);
    try {
      const config = await readHubConfig(init.hubConfigFile);
      expect(config.replicas).toBe(1);
      const hub = await connectContext(config.contexts.hub);
      try {
        expect(await ensureStreams(await jetstreamManager(hub), config.replicas)).toContain(
          Streams.Reports,
        );
      } finally {
        await hub.close();
      }
    } finally {
      await server.stop();
    }
  });

  it("an agency's leaf node links to a node's leafnode listener as the agency and submits through it", async () => {
    await using dir = await tempDir();
    const out = join(dir.path, 'hub');
    const agency = 'nl-police';
    // The demo federation with a key of the agency's that this test holds.
    const demo = parse(await readFile(DEMO_FEDERATION_PATH, 'utf8')) as {
      agencies: { id: string; keys?: unknown[] }[];
    };
    const pair = await generateAgencyKey(agency, { keyId: 'k1' });
    for (const a of demo.agencies)
      if (a.id === agency) a.keys = [{ keyId: pair.keyId, publicJwk: pair.publicJwk }];
    const federationPath = join(dir.path, 'federation.yaml');
    await writeFile(federationPath, stringify(demo));
    const nodes = await nodesOnFreePorts(1);
    const init = await initCluster({ federationPath, outDir: out, nodes });
    const [configFile] = init.nodeConfigFiles;
    const [node] = nodes;
    if (configFile === undefined || node === undefined) throw new Error('no node config');
    expect(await readFile(configFile, 'utf8')).toContain(
      `leafnodes {\n  listen: "127.0.0.1:${String(node.leafPort)}"`,
    );
    const yamlText = (await readFile(init.hubConfigFile, 'utf8')).replace('port: 9464', 'port: 0');
    await writeFile(init.hubConfigFile, yamlText);
    const config = await readHubConfig(init.hubConfigFile);
    expect(config.cluster.leafnodes).toEqual([`nats-leaf://127.0.0.1:${String(node.leafPort)}`]);

    const server = await startNode(configFile);
    try {
      await using served = await serve({ config, only: ['auditor', 'ingest'], log: quietLog });
      expect(served.services).toEqual(['auditor', 'ingest']);
      // The leaf node exactly as mosaic agency leafnode writes it, with the agency's context.
      const context = await readContextFile(join(out, 'contexts', `${agency}.json`));
      await using leaf = await startLeafNode(context, node.leafPort);
      const local = await connect({
        ...contextConnectOptions({ ...context, url: leaf.url }),
        timeout: 5_000,
      });
      try {
        const report = JSON.parse(
          Buffer.from(await example('recruitment-advert.json')).toString('utf8'),
        ) as Record<string, unknown>;
        delete report['lineage'];
        const reportId = randomUUID();
        const jws = await signReport(
          Buffer.from(
            JSON.stringify({
              ...report,
              issuer: agency,
              origin: 'NL',
              reportId,
              issuedAt: new Date().toISOString(),
            }),
          ),
          pair.privateJwk,
        );
        // Published on the leaf, answered by the hub's ingest back through the leaf.
        const reply = await bounded(
          (async () => {
            for (;;) {
              const answer = await local
                .request(`mosaic.ingest.${agency}`, jws, { timeout: 2_000 })
                .then(
                  (m) => m.json<{ ok: boolean; reportId?: string; code?: string }>(),
                  (err: unknown) => {
                    // No route over the link yet: no responders, or a timeout.
                    if (err instanceof Error) return undefined;
                    throw err;
                  },
                );
              if (answer !== undefined) return answer;
              await new Promise((resolve) => setTimeout(resolve, 200));
            }
          })(),
          60_000,
          'an answer through the leaf node',
        );
        expect(reply, JSON.stringify(reply)).toMatchObject({ ok: true, reportId });
        const hub = await connectContext(config.contexts.hub);
        try {
          const stored = await (await jetstreamManager(hub)).streams.info(Streams.Reports);
          expect(stored.state.messages).toBe(1);
        } finally {
          await hub.close();
        }
      } finally {
        await local.close();
      }
    } finally {
      await server.stop();
    }
  }, 120_000);

  it('start-up asks again while a stream store is still being made, and not after another 500', async () => {
    const answer = (description: string): JetStreamApiError =>
      new JetStreamApiError({ code: 500, err_code: 10049, description });
    let asked = 0;
    const made = await whenJetStreamReady(
      () => {
        asked++;
        if (asked < 3) throw answer('error creating store for stream');
        return Promise.resolve('made');
      },
      { log: quietLog, timeoutMs: 10_000, what: 'create the streams' },
    );
    expect([made, asked]).toEqual(['made', 3]);
    asked = 0;
    await expect(
      whenJetStreamReady(
        () => {
          asked++;
          throw answer('stream name already in use with a different configuration');
        },
        { log: quietLog, timeoutMs: 10_000, what: 'create the streams' },
      ),
    ).rejects.toThrow(/different configuration/);
    expect(asked).toBe(1);
  });

  it('serve started before the cluster has a JetStream leader waits for one, then starts', async () => {
    await using dir = await tempDir();
    const out = join(dir.path, 'hub');
    const nodes = await nodesOnFreePorts(3);
    const init = await initCluster({ federationPath: DEMO_FEDERATION_PATH, outDir: out, nodes });
    const yamlText = (await readFile(init.hubConfigFile, 'utf8')).replace('port: 9464', 'port: 0');
    await writeFile(init.hubConfigFile, yamlText);
    const config = await readHubConfig(init.hubConfigFile);
    const start = (configFile: string) => startNode(configFile, false);
    const [first, ...rest] = init.nodeConfigFiles;
    if (first === undefined) throw new Error('no node config');
    const servers = [await start(first)];
    try {
      // One node of three: no quorum, so no JetStream leader until the others join.
      const sink = logSink('hub');
      const starting = serve({ config, only: ['ingest'], log: sink.log });
      const waiting = () =>
        sink.records.some(
          (r) => r['msg'] === 'waiting for JetStream to create the hub streams and buckets',
        );
      for (const deadline = Date.now() + 30_000; !waiting();) {
        if (Date.now() > deadline) throw new Error('serve never said it waits for JetStream');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      servers.push(...(await Promise.all(rest.map(start))));
      await using served = await bounded(starting, 60_000, 'serve once the cluster formed');
      expect(served.services).toEqual(['ingest']);
      const hub = await connectContext(config.contexts.hub);
      try {
        const info = await (await jetstreamManager(hub)).streams.info(Streams.Audit);
        expect(info.config.num_replicas).toBe(3);
        expect(info.config.allow_atomic).toBe(true);
      } finally {
        await hub.close();
      }
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  }, 120_000);
});
