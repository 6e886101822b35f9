/**
 * End to end through the real hub in a child process: publisher agencies submit signed
 * ~1 KB reports, the hub verifies, stores and routes each to three recipients, and the
 * recipients consume their alerts with the SDK (verifying each one) and acknowledge them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SourceMapPayload } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compile } from '@mosaic/cli';
import { HUB_NODE_FLAGS } from '@mosaic/hub';
import { HUB_API_PREFIX, Streams } from '@mosaic/protocol';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import { connectAgency, type AgencyClient } from '@mosaic/sdk';
import { generateAgencyKey, type AgencyKeyPair } from '@mosaic/signing';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { RECIPIENTS, benchFederation, publisherIds } from './fixtures.ts';
import { signReports, type Pool } from './pool.ts';
import { cpuMs, peakRssMb } from './proc.ts';
import {
  summariseProfile,
  withSourceMap,
  type CpuProfile,
  type ProfileSummary,
} from './profile.ts';
import { connzSnapshot, trafficPerReport } from './traffic.ts';
import {
  computeLimit,
  percentiles,
  rate,
  ratio,
  type EndToEndResult,
  type FsyncMode,
  type HubMemory,
} from './stats.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const hubChild = fileURLToPath(new URL('../hub-child.ts', import.meta.url));
const syncAlwaysWrapper = fileURLToPath(new URL('../sync-always/nats-server', import.meta.url));

export interface EndToEndOptions {
  /** Names this run's files in `workDir` (each run needs its own data dir and keys). */
  label: string;
  fsync: FsyncMode;
  publishers: number;
  /** Submissions awaiting the hub's reply at any time, over all publishers. */
  inFlight: number;
  /**
   * Reports of the sustained phase: a number, or `{ seconds }` to size it from the warm-up's
   * rate (so a slow hub does not make the run overlong), within 500–60,000.
   */
  reports: number | { seconds: number };
  /** Seconds of the fixed-load latency phase. */
  latencySeconds: number;
  workDir: string;
  pool: Pool;
  natsServerPath: string;
  /** For the limit: raw writes/s (same fsync), Ed25519 verify/s on one core, cores. */
  rawWritesPerSec: number;
  verifyPerSecOneCore: number;
  cores: number;
  /** Profile the hub child's CPU over the sustained phase into this `.cpuprofile` file. */
  profileFile?: string;
  /**
   * Runs the hub child from its TypeScript source through tsx, as the `mosaic` command runs
   * while its compiled copy is out of date, instead of compiled (the default).
   */
  hubFromSource?: boolean;
  /**
   * `false`: the hub child's router indexes no selectors (`startHub`'s `correlation`), to
   * measure what correlation costs. Default: on, as the hub ships.
   */
  correlation?: boolean;
  /** Starts the hub under test. Default: `startHubChild` (one process around one nats-server). */
  startHub?: (federationPath: string) => Promise<HubUnderTest>;
  log: (line: string) => void;
}

/** A running hub the end-to-end run measures, whatever its shape. */
export interface HubUnderTest {
  contextsDir: string;
  /** The processes whose CPU counts as the hub's, and as nats-server's. */
  hubPids: number[];
  serverPids: number[];
  /** Their monitoring endpoints, whose `/connz` counts each connection's messages. */
  monitorUrls: string[];
  /** The single hub child, which can profile itself over IPC. */
  child?: ChildProcess;
  /** Stops it; resolves with the hub processes' peak RSS in kB (summed) and, for the single hub child, where its memory was. */
  stop(): Promise<HubStopped>;
  /** Ends it at once (the run failed). */
  kill(): void;
}

/** A `startHubChild` hub as a `HubUnderTest`. */
async function hubChildUnderTest(
  o: EndToEndOptions,
  federationPath: string,
): Promise<HubUnderTest> {
  const hub = await startHubChild(o, federationPath);
  return {
    contextsDir: hub.contextsDir,
    hubPids: [hub.child.pid ?? 0],
    serverPids: [hub.serverPid],
    monitorUrls: [hub.monitorUrl],
    child: hub.child,
    stop: () => stopHubChild(hub),
    kill: () => {
      if (hub.child.exitCode === null && hub.child.signalCode === null) hub.child.kill('SIGTERM');
    },
  };
}

export interface HubStopped {
  peakRssKb: number;
  memory?: HubMemory;
}

export interface HubChild {
  child: ChildProcess;
  url: string;
  contextsDir: string;
  serverPid: number;
  monitorUrl: string;
}

function message<T>(
  child: ChildProcess,
  pick: (m: unknown) => T | undefined,
  ms: number,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`hub child: no answer within ${ms} ms`));
    }, ms);
    const onMessage = (m: unknown): void => {
      const v = pick(m);
      if (v === undefined) return;
      cleanup();
      resolve(v);
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`hub child exited (${code})`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

const compiledHubChildren = new Map<string, Promise<string>>();

/** The profile of the hub child, its compiled frames mapped back to their sources. */
async function summarisedProfile(
  o: Pick<EndToEndOptions, 'workDir' | 'startHub' | 'hubFromSource'>,
  file: string,
): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  if (o.startHub !== undefined || o.hubFromSource === true) return summariseProfile(profile);
  const compiled = await compiledHubChild(o.workDir);
  const map = JSON.parse(await readFile(`${compiled}.map`, 'utf8')) as SourceMapPayload;
  return summariseProfile(withSourceMap(profile, pathToFileURL(compiled).href, map));
}

/**
 * `hub-child.ts` compiled into `<workDir>/hub-child.mjs`, once per work dir: the hub runs
 * without tsx, as the compiled `mosaic` command runs it.
 */
function compiledHubChild(workDir: string): Promise<string> {
  let compiled = compiledHubChildren.get(workDir);
  if (compiled === undefined) {
    const outfile = join(workDir, 'hub-child.mjs');
    compiled = compile({ entry: hubChild, outfile }).then(() => outfile);
    compiledHubChildren.set(workDir, compiled);
  }
  return compiled;
}

/** Starts `hub-child.ts` (compiled, unless `hubFromSource`) on `<workDir>/data-<label>` (or `dataDir`); resolves once it is ready. */
export async function startHubChild(
  o: Pick<
    EndToEndOptions,
    'workDir' | 'label' | 'fsync' | 'natsServerPath' | 'hubFromSource' | 'correlation'
  > & {
    dataDir?: string;
  },
  federationPath: string,
): Promise<HubChild> {
  const logFile = await open(join(o.workDir, `hub-${o.label}.log`), 'w');
  const args = [
    ...HUB_NODE_FLAGS,
    ...(o.hubFromSource === true
      ? ['--import', 'tsx', hubChild]
      : [await compiledHubChild(o.workDir)]),
    o.dataDir ?? join(o.workDir, `data-${o.label}`),
    federationPath,
    ...(o.correlation === false ? ['--no-correlation'] : []),
  ];
  const env: NodeJS.ProcessEnv = { ...process.env, MOSAIC_LOG_FORMAT: 'json' };
  if (o.fsync === 'always') {
    env['MOSAIC_NATS_SERVER'] = syncAlwaysWrapper;
    env['MOSAIC_BENCH_REAL_NATS_SERVER'] = o.natsServerPath;
  }
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'ignore', logFile.fd, 'ipc'],
  });
  await logFile.close();
  const ready = await message(
    child,
    (m) =>
      typeof m === 'object' && m !== null && 'ready' in m
        ? (m as unknown as {
            url: string;
            contextsDir: string;
            serverPid: number;
            monitorUrl: string;
          })
        : undefined,
    120_000,
  );
  return { child, ...ready };
}

/** Stops the hub child (and so its nats-server); resolves with its peak RSS in kB and its memory samples. */
export async function stopHubChild(hub: HubChild): Promise<HubStopped> {
  const exited = new Promise<void>((resolve) => {
    hub.child.once('exit', () => {
      resolve();
    });
  });
  const stopped = message(
    hub.child,
    (m) =>
      typeof m === 'object' && m !== null && 'stopped' in m
        ? (m as unknown as { maxRssKb: number; memory: HubMemory })
        : undefined,
    60_000,
  );
  hub.child.send('stop');
  const { maxRssKb, memory } = await stopped;
  await exited;
  return { peakRssKb: maxRssKb, memory };
}

/** CPU ms of the bench process, the hub's processes and its nats-servers. */
async function cpuSnapshot(
  hub: HubUnderTest,
): Promise<{ bench: number; hub: number; natsServer: number }> {
  const sum = async (pids: number[]): Promise<number> =>
    (await Promise.all(pids.map(cpuMs))).reduce((a, b) => a + b, 0);
  return {
    bench: await cpuMs(process.pid),
    hub: await sum(hub.hubPids),
    natsServer: await sum(hub.serverPids),
  };
}

/** Resolves when `count()` reaches a target; `bump()` after each change. */
class Counter {
  value = 0;
  #waiters: { target: number; resolve: () => void }[] = [];
  bump(): void {
    this.value++;
    for (const w of this.#waiters.filter((x) => this.value >= x.target)) w.resolve();
    this.#waiters = this.#waiters.filter((x) => this.value < x.target);
  }
  reach(target: number, ms: number, what: string): Promise<void> {
    if (this.value >= target) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${what}: ${this.value} of ${target} after ${ms} ms`));
      }, ms);
      this.#waiters.push({
        target,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}

export interface EndToEndRun {
  result: EndToEndResult;
  profile: ProfileSummary | undefined;
}

export async function endToEnd(o: EndToEndOptions): Promise<EndToEndRun> {
  const ids = publisherIds(o.publishers);
  const keys = new Map<string, AgencyKeyPair>();
  for (const id of [...ids, ...RECIPIENTS])
    keys.set(id, await generateAgencyKey(id, { keyId: 'k1' }));
  const federationPath = join(o.workDir, `federation-${o.label}.json`);
  await writeFile(federationPath, JSON.stringify(benchFederation(keys)));

  const hub = await (o.startHub ?? ((f: string) => hubChildUnderTest(o, f)))(federationPath);
  const publishers: AgencyClient[] = [];
  const recipients: AgencyClient[] = [];
  const abort = new AbortController();
  const subscriptions: Promise<unknown>[] = [];
  try {
    for (const id of ids)
      publishers.push(await connectAgency({ context: join(hub.contextsDir, `${id}.json`) }));
    for (const id of RECIPIENTS)
      recipients.push(await connectAgency({ context: join(hub.contextsDir, `${id}.json`) }));

    const sentAt = new Map<string, number>();
    let latencyPhase = false;
    const latencies: number[] = [];
    /** The same alerts split where the ALERTS stream stored them (wall clock, ms). */
    const toStored: number[] = [];
    const storedToHandler: number[] = [];
    /** Per report of the latency phase: publish → ingest's reply (stored and audited). */
    const toAccepted: number[] = [];
    const alerts = new Counter();
    for (const r of recipients)
      subscriptions.push(
        r.subscribe(
          (alert) => {
            const t = sentAt.get(alert.report.reportId);
            if (latencyPhase && t !== undefined) {
              const now = performance.now();
              latencies.push(now - t);
              const stored = alert.storedAt.getTime() - performance.timeOrigin;
              toStored.push(stored - t);
              storedToHandler.push(now - stored);
            }
            alerts.bump();
          },
          { follow: true, signal: abort.signal },
        ),
      );

    const signed = async (
      perPublisher: number,
      from: number,
    ): Promise<{ jws: string; reportId: string }[][]> =>
      Promise.all(
        ids.map((id) => signReports(o.pool, id, keys.get(id)!.privateJwk, perPublisher, from)),
      );
    let published = 0;
    const submit = async (p: number, item: { jws: string; reportId: string }): Promise<void> => {
      const reply = await publishers[p]!.publishSigned(item.jws);
      // A duplicate is the SDK's retry of an attempt whose reply came late (a loaded
      // machine): stored once, answered the same, so it counts as the one report it is.
      if (!reply.ok) throw new Error(`hub refused a report: ${JSON.stringify(reply)}`);
      const t = latencyPhase ? sentAt.get(item.reportId) : undefined;
      if (t !== undefined) toAccepted.push(performance.now() - t);
      published++;
    };
    /** Closed loop: `inFlight` lanes, each submitting its publisher's next report. */
    const closedLoop = async (batches: { jws: string; reportId: string }[][]): Promise<void> => {
      const next = batches.map(() => 0);
      await Promise.all(
        Array.from({ length: o.inFlight }, async (_, lane) => {
          const p = lane % batches.length;
          for (;;) {
            const item = batches[p]![next[p]!++];
            if (item === undefined) return;
            await submit(p, item);
          }
        }),
      );
    };

    // Warm-up: connections, consumers, key caches, JIT.
    const warm = await signed(Math.ceil(500 / o.publishers), 0);
    const tWarm = performance.now();
    await closedLoop(warm);
    await alerts.reach(published * RECIPIENTS.length, 60_000, 'warm-up alerts');
    const warmRate = rate(published, performance.now() - tWarm);
    const wanted =
      typeof o.reports === 'number'
        ? o.reports
        : Math.min(60_000, Math.max(500, Math.round(warmRate * o.reports.seconds)));

    // Sustained: as fast as the hub accepts, bounded in flight.
    const per = Math.ceil(wanted / o.publishers);
    const batches = await signed(per, 1_000_000);
    const before = published;
    const profiler = async (command: 'start' | 'stop'): Promise<void> => {
      if (o.profileFile === undefined || hub.child === undefined) return;
      const child = hub.child;
      const answered = message(
        child,
        (m) =>
          typeof m === 'object' && m !== null && 'profile' in m && m.profile === command
            ? true
            : undefined,
        60_000,
      );
      child.send({ profile: command, file: o.profileFile });
      await answered;
    };
    /** The hub child's event-loop delay over the latency phase (ms), when it is one process. */
    const loopDelay = async (
      command: 'reset' | 'read',
    ): Promise<{ p50: number; p99: number; max: number } | undefined> => {
      if (hub.child === undefined) return undefined;
      const child = hub.child;
      const answered = message(
        child,
        (m) =>
          typeof m === 'object' && m !== null && 'loopDelay' in m
            ? (m.loopDelay as { p50: number; p99: number; max: number } | 'reset')
            : undefined,
        60_000,
      );
      child.send({ loopDelay: command });
      const answer = await answered;
      return answer === 'reset' ? undefined : answer;
    };
    await profiler('start');
    const connzBefore = await connzSnapshot(hub.monitorUrls);
    const cpuBefore = await cpuSnapshot(hub);
    const t0 = performance.now();
    await closedLoop(batches);
    const tReplies = performance.now();
    const sustained = published - before;
    await alerts.reach(published * RECIPIENTS.length, 300_000, 'sustained alerts');
    const tAlerts = performance.now();
    const cpuAfter = await cpuSnapshot(hub);
    const connzAfter = await connzSnapshot(hub.monitorUrls);
    await profiler('stop');
    const reportsPerSec = rate(sustained, tAlerts - t0);
    const perReport = (k: keyof typeof cpuAfter): number =>
      ((cpuAfter[k] - cpuBefore[k]) * 1000) / sustained;
    const cpuUsPerReport = {
      bench: perReport('bench'),
      hub: perReport('hub'),
      natsServer: perReport('natsServer'),
    };
    const busyCores =
      (cpuAfter.bench +
        cpuAfter.hub +
        cpuAfter.natsServer -
        (cpuBefore.bench + cpuBefore.hub + cpuBefore.natsServer)) /
      (tAlerts - t0);
    o.log(
      `  e2e ${o.fsync}: ${sustained} reports, accepted ${rate(sustained, tReplies - t0).toFixed(0)}/s, end to end ${reportsPerSec.toFixed(0)}/s`,
    );

    // Latency at a fixed offered load of half that rate (open loop: intended send times).
    const offered = Math.max(1, reportsPerSec / 2);
    const total = Math.ceil(offered * o.latencySeconds);
    const load = (await signed(Math.ceil(total / o.publishers), 2_000_000)).flatMap((b, p) =>
      b.map((item) => ({ ...item, p })),
    );
    load.length = Math.min(load.length, total);
    // Interleave publishers.
    load.sort((a, b) => a.reportId.localeCompare(b.reportId));
    await loopDelay('reset');
    latencyPhase = true;
    const startL = performance.now();
    const pending = new Set<Promise<void>>();
    let k = 0;
    let failure: Error | undefined;
    while (k < load.length && failure === undefined) {
      const due = Math.floor(((performance.now() - startL) * offered) / 1000) + 1;
      while (k < Math.min(due, load.length)) {
        const item = load[k]!;
        sentAt.set(item.reportId, startL + (k * 1000) / offered);
        const task = submit(item.p, item).catch((err: unknown) => {
          failure = err instanceof Error ? err : new Error(String(err));
        });
        pending.add(task);
        void task.finally(() => pending.delete(task));
        k++;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    const sendSpan = performance.now() - startL;
    await Promise.all(pending);
    if (failure !== undefined) throw failure;
    await alerts.reach(published * RECIPIENTS.length, 120_000, 'latency-phase alerts');
    latencyPhase = false;
    const hubLoopDelay = await loopDelay('read');

    // What the streams hold.
    const opNc = await connect(
      contextConnectOptions(await readContextFile(join(hub.contextsDir, 'operator.json'))),
    );
    const streams: Record<string, number> = {};
    try {
      const jsm = await jetstreamManager(opNc, { apiPrefix: HUB_API_PREFIX, checkAPI: false });
      for (const name of [Streams.Reports, Streams.Alerts, Streams.Audit, Streams.Rejections])
        streams[name] = (await jsm.streams.info(name)).state.messages;
    } finally {
      await opNc.close();
    }
    const writes =
      (streams[Streams.Reports] ?? 0) +
      (streams[Streams.Alerts] ?? 0) +
      (streams[Streams.Audit] ?? 0);
    const writesPerReport = writes / Math.max(1, streams[Streams.Reports] ?? 0);
    const natsServerPeakRssMb = Math.max(...(await Promise.all(hub.serverPids.map(peakRssMb))));

    abort.abort();
    await Promise.allSettled(subscriptions);
    for (const c of [...publishers, ...recipients]) await c.close();
    publishers.length = 0;
    recipients.length = 0;
    const stopped = await hub.stop();
    const hubPeakRssMb = stopped.peakRssKb / 1024;

    const limit = computeLimit({
      rawWritesPerSec: o.rawWritesPerSec,
      writesPerReport,
      verifyPerSecOneCore: o.verifyPerSecOneCore,
      cores: o.cores,
    });
    const profile =
      o.profileFile === undefined ? undefined : await summarisedProfile(o, o.profileFile);
    return {
      result: {
        fsync: o.fsync,
        publishers: o.publishers,
        recipientsPerReport: RECIPIENTS.length,
        inFlight: o.inFlight,
        reports: sustained,
        reportsPerSec,
        cpuUsPerReport,
        busyCores,
        acceptedPerSec: rate(sustained, tReplies - t0),
        alertsConsumed: alerts.value,
        latency: {
          ...percentiles(latencies),
          split: {
            toAccepted: percentiles(toAccepted),
            toStored: percentiles(toStored),
            storedToHandler: percentiles(storedToHandler),
          },
          ...(hubLoopDelay === undefined ? {} : { hubEventLoopDelay: hubLoopDelay }),
          offeredPerSec: offered,
          achievedPerSec: rate(load.length, sendSpan),
        },
        streams,
        writesPerReport,
        ...(hub.monitorUrls.length === 0
          ? {}
          : { natsMessagesPerReport: trafficPerReport(connzBefore, connzAfter, sustained) }),
        hubPeakRssMb,
        ...(stopped.memory === undefined ? {} : { hubMemory: stopped.memory }),
        natsServerPeakRssMb,
        limit,
        ratio: ratio(reportsPerSec, limit.reportsPerSec),
      },
      profile,
    };
  } finally {
    abort.abort();
    await Promise.allSettled(subscriptions);
    for (const c of [...publishers, ...recipients]) await c.close().catch(() => undefined);
    hub.kill();
  }
}
