/**
 * The hub on a local 3-node cluster (`mosaic dev --cluster 3`: R3 streams, `sync_interval:
 * always` on every node, ingest, router and auditor each in a process of its own) under the
 * same end-to-end load as the single node, and the time an agency added on the running
 * cluster takes until it connects through each node.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HUB_NODE_FLAGS } from '@mosaic/hub';
import { parseAgency } from '@mosaic/federation';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import { connectOperator } from '@mosaic/operator';
import { connect } from '@nats-io/transport-node';
import { endToEnd, type EndToEndOptions, type HubUnderTest } from './e2e.ts';
import { peakRssMb } from './proc.ts';
import type { ClusterBenchResult } from './stats.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(repoRoot, 'packages/cli/bin/mosaic.js');
const agencyFile = join(repoRoot, 'deploy/agency.example.yaml');

interface Started extends HubUnderTest {
  dataDir: string;
  nodes: { name: string; pid: number; url: string }[];
}

/** `mosaic dev --cluster <nodes>` as a child; its log goes to `<workDir>/hub-cluster.log`. */
async function startClusterChild(
  o: { workDir: string; nodes: number; log: string },
  federationPath: string,
): Promise<Started> {
  const dataDir = join(o.workDir, 'data-cluster');
  const logFile = createWriteStream(join(o.workDir, o.log));
  const child = spawn(
    process.execPath,
    [
      ...HUB_NODE_FLAGS,
      bin,
      'dev',
      '--cluster',
      String(o.nodes),
      '--data-dir',
      dataDir,
      '--federation',
      federationPath,
    ],
    {
      cwd: repoRoot,
      env: { ...process.env, MOSAIC_LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    logFile.write(chunk);
    if (err.length < 1_000_000) err += chunk;
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error('mosaic dev --cluster: not ready within 300 s'));
    }, 300_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (/mosaic: hub ready \S+\n/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mosaic dev --cluster exited (${String(code)}); see ${o.log}`));
    });
  });
  const record = err
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map(
      (l) =>
        JSON.parse(l) as {
          msg?: string;
          nodes?: Started['nodes'];
          services?: { pid: number }[];
        },
    )
    .find((r) => r.msg?.startsWith('failover') === true);
  if (record?.nodes === undefined || record.services === undefined)
    throw new Error('mosaic dev --cluster logged no pids');
  const servicePids = record.services.map((s) => s.pid);
  return {
    dataDir,
    nodes: record.nodes,
    contextsDir: join(dataDir, 'contexts'),
    hubPids: servicePids,
    serverPids: record.nodes.map((n) => n.pid),
    monitorUrls: [],
    async stop() {
      const peaks = await Promise.all(servicePids.map(peakRssMb));
      child.kill('SIGTERM');
      await exited;
      logFile.end();
      return { peakRssKb: peaks.reduce((a, b) => a + b, 0) * 1024 };
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}

/**
 * Adds an agency through the operator's session (what `mosaic agency add` does) and measures,
 * per node, the time until a connection through it with the new agency's context succeeds.
 */
async function agencyAddTimes(started: Started): Promise<{ node: string; ms: number }[]> {
  await using op = await connectOperator(join(started.contextsDir, 'operator.json'));
  const agency = parseAgency(await readFile(agencyFile, 'utf8'), { source: agencyFile });
  const contextPath = join(started.contextsDir, `${agency.id}.json`);
  const t0 = performance.now();
  await op.addAgency(agency, { justification: 'bench: agency added on a running cluster' });
  return await Promise.all(
    started.nodes.map(async (node) => {
      for (;;) {
        if (performance.now() - t0 > 60_000)
          throw new Error(`${agency.id} could not connect through ${node.name} within 60 s`);
        try {
          const context = await readContextFile(contextPath);
          const nc = await connect({
            ...contextConnectOptions({ ...context, url: node.url }),
            timeout: 1_000,
            reconnect: false,
            ignoreClusterUpdates: true,
          });
          const ms = performance.now() - t0;
          await nc.close();
          return { node: node.name, ms: Math.round(ms) };
        } catch (err) {
          // No context yet, or the node does not know the account yet: try again.
          if (!(err instanceof Error)) throw err;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
    }),
  );
}

/**
 * The single node and the cluster, both with `sync_interval: always`, under the same load in
 * the same run, then the agency-add times on the cluster.
 */
export async function clusterBench(
  e2e: Omit<EndToEndOptions, 'fsync' | 'label' | 'startHub'>,
  nodes = 3,
): Promise<ClusterBenchResult> {
  const single = await endToEnd({ ...e2e, fsync: 'always', label: 'cluster-single' });
  const cluster = await endToEnd({
    ...e2e,
    fsync: 'always',
    label: 'cluster',
    startHub: (federationPath) =>
      startClusterChild({ workDir: e2e.workDir, nodes, log: 'hub-cluster.log' }, federationPath),
  });
  e2e.log(
    `  cluster: single node ${single.result.reportsPerSec.toFixed(0)}/s p99 ${single.result.latency.p99} ms; ${String(nodes)} nodes R3 ${cluster.result.reportsPerSec.toFixed(0)}/s p99 ${cluster.result.latency.p99} ms`,
  );
  // Again on the same data dir (the end-to-end run stopped it): a restart keeps everything.
  const federationPath = join(e2e.workDir, 'federation-cluster.json');
  const again = await startClusterChild(
    { workDir: e2e.workDir, nodes, log: 'hub-cluster-again.log' },
    federationPath,
  );
  let agencyAdd: { node: string; ms: number }[];
  try {
    agencyAdd = await agencyAddTimes(again);
  } finally {
    await again.stop();
  }
  e2e.log(
    `  cluster: agency add → connected ${agencyAdd.map((a) => `${a.node} ${a.ms} ms`).join(', ')}`,
  );
  return {
    nodes,
    replicas: nodes >= 3 ? 3 : 1,
    singleNode: single.result,
    cluster: cluster.result,
    agencyAdd,
  };
}
