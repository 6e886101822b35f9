/**
 * `mosaic replay --stream reports --verify` and `mosaic audit verify`, the operator's own
 * commands, run against a hub child. For replay, 100,000 signed reports are written straight
 * into the hub's REPORTS while the hub is down (a bare nats-server on its JetStream store,
 * no auth) and the router's consumer is re-created to start after them, so the hub does not
 * route them when it comes back: only the replay runs.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MOSAIC_NODE_FLAGS } from '@mosaic/hub';
import { ROUTER_CONSUMER, Streams } from '@mosaic/protocol';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import { startNatsServerProcess } from '@mosaic/nats-server';
import { generateAgencyKey, type AgencyKeyPair } from '@mosaic/signing';
import { AckPolicy, DeliverPolicy, jetstreamManager } from '@nats-io/jetstream';
import { connect, nanos } from '@nats-io/transport-node';
import { startHubChild, stopHubChild } from './e2e.ts';
import { RECIPIENTS, benchFederation, publisherIds } from './fixtures.ts';
import type { Pool } from './pool.ts';
import { storeReports } from './replay.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const mosaic = join(repoRoot, 'packages/cli/bin/mosaic.js');

/** True when this tree has the operator's replay and audit commands. */
export async function hasAuditCli(): Promise<boolean> {
  const commands = join(repoRoot, 'packages/cli/src/commands');
  const read = (f: string): Promise<string> => readFile(join(commands, f), 'utf8').catch(() => '');
  const [replay, audit] = await Promise.all([read('replay.ts'), read('audit.ts')]);
  return replay.includes('--verify') && audit.includes("'audit', 'verify'");
}

async function runMosaic(args: string[]): Promise<{ stdout: string; stderr: string; ms: number }> {
  const start = performance.now();
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    [...MOSAIC_NODE_FLAGS, mosaic, ...args],
    {
      cwd: repoRoot,
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return { stdout, stderr, ms: performance.now() - start };
}

export interface CliReplayResult {
  reports: number;
  /** Its --workers. */
  workers: number;
  /** As `mosaic replay` reports it (reading + verifying, without process start-up). */
  perSec: number;
  /** Including the CLI's start-up and its audit entry. */
  wallSeconds: number;
}

export async function cliReplay(o: {
  workDir: string;
  pool: Pool;
  total: number;
  /** Its --workers, as given on the command line. */
  workers: string;
  natsServerPath: string;
  log: (line: string) => void;
}): Promise<CliReplayResult> {
  const issuers = publisherIds(8);
  const keys = new Map<string, AgencyKeyPair>();
  for (const id of [...issuers, ...RECIPIENTS])
    keys.set(id, await generateAgencyKey(id, { keyId: 'k1' }));
  const federationPath = join(o.workDir, 'federation-replay.json');
  await writeFile(federationPath, JSON.stringify(benchFederation(keys)));
  const spec = {
    workDir: o.workDir,
    label: 'replay',
    fsync: 'default',
    natsServerPath: o.natsServerPath,
  } as const;
  const dataDir = join(o.workDir, 'data-replay');

  // 1. The hub lays out its data dir, streams, registry and the router's consumer.
  await stopHubChild(await startHubChild(spec, federationPath));

  // 2. The hub's own server alone (no services): write the reports with the break-glass
  //    identity, move the router past them. (No auditor runs, so nothing records this.)
  const bareConf = join(dataDir, 'nats-server.conf');
  const bare = await startNatsServerProcess({
    binary: o.natsServerPath,
    configFile: bareConf,
    portsFileDir: dataDir,
    name: 'bench bare nats-server',
  });
  try {
    const nc = await connect({
      ...contextConnectOptions(await readContextFile(join(dataDir, 'breakglass', 'admin.json'))),
      servers: bare.url,
    });
    try {
      const t0 = performance.now();
      const pairs = issuers.map((id) => keys.get(id)!);
      await storeReports(nc, o.pool, pairs, o.total);
      const jsm = await jetstreamManager(nc);
      const router = await jsm.consumers.info(Streams.Reports, ROUTER_CONSUMER);
      await jsm.consumers.delete(Streams.Reports, ROUTER_CONSUMER);
      await jsm.consumers.add(Streams.Reports, {
        durable_name: ROUTER_CONSUMER,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.New,
        ack_wait: router.config.ack_wait ?? nanos(30_000),
        max_ack_pending: router.config.max_ack_pending ?? 1_024,
        max_deliver: -1,
      });
      o.log(
        `  mosaic replay: ${o.total} reports stored in the hub's REPORTS in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
    } finally {
      await nc.close();
    }
  } finally {
    await bare.stop();
  }

  // 3. The hub again, and the operator's replay with verification.
  const hub = await startHubChild({ ...spec, label: 'replay-2', dataDir }, federationPath);
  try {
    const run = await runMosaic([
      'replay',
      '--context',
      join(hub.contextsDir, 'operator.json'),
      '--stream',
      'reports',
      '--verify',
      '--workers',
      o.workers,
      '--out',
      join(o.workDir, 'replay.ndjson'),
      '--reason',
      'benchmark',
    ]);
    const m = /replayed (\d+) of (\d+) .*\((\d+)\/s\)/.exec(run.stderr);
    if (m === null) throw new Error(`mosaic replay printed no summary: ${run.stderr.slice(-500)}`);
    return {
      reports: Number(m[1]),
      workers: Number(o.workers),
      perSec: Number(m[3]),
      wallSeconds: run.ms / 1000,
    };
  } finally {
    await stopHubChild(hub);
  }
}

export interface CliAuditResult {
  entries: number;
  checkpoints: number;
  perSec: number;
  wallSeconds: number;
}

/** `mosaic audit verify` over the AUDIT stream an end-to-end run left in `dataDir`. */
export async function cliAuditVerify(o: {
  workDir: string;
  dataDir: string;
  federationPath: string;
  natsServerPath: string;
}): Promise<CliAuditResult> {
  const hub = await startHubChild(
    {
      workDir: o.workDir,
      label: 'audit',
      fsync: 'default',
      natsServerPath: o.natsServerPath,
      dataDir: o.dataDir,
    },
    o.federationPath,
  );
  try {
    const run = await runMosaic([
      'audit',
      'verify',
      '--context',
      join(hub.contextsDir, 'operator.json'),
    ]);
    const line = run.stdout.trim().split('\n').at(-1) ?? '';
    const r = JSON.parse(line) as {
      entries: number;
      checkpoints: number;
      entriesPerSecond: number;
    };
    return {
      entries: r.entries,
      checkpoints: r.checkpoints,
      perSec: r.entriesPerSecond,
      wallSeconds: run.ms / 1000,
    };
  } finally {
    await stopHubChild(hub);
  }
}
