import { readFile, readdir, truncate, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ensureFaketime } from '@mosaic/debian';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import { Streams, readSequences } from '@mosaic/protocol';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { FaultCluster, type FaultNode } from './cluster.ts';
import {
  checkInvariants,
  type CheckInvariantsOptions,
  type InvariantReport,
} from './invariants.ts';
import { LEAF_AGENCY, leafInjectors } from './leaf-faults.ts';
import { Load } from './load.ts';
import { partitionInjectors } from './partition.ts';
import { serviceInjectors } from './services.ts';
import {
  ackRate,
  delay,
  pick,
  recovery,
  replicasCurrent,
  readyz,
  until,
  untilAcked,
  type FaultRun,
  type Injector,
} from './run.ts';
import { CycleClock } from './cycles.ts';

/** The faults this suite injects, in the order it runs them. */
export const FaultIds = [
  'F1',
  'F2',
  'F3',
  'F4',
  'F10',
  'F7',
  'F9',
  'F8',
  'S1',
  'S2',
  'S3',
  'F6',
  'F5',
] as const;
export type FaultId = (typeof FaultIds)[number];

/** How big a run is: a smoke run (one short cycle) or the full one. */
export interface FaultSizes {
  /** Acknowledged reports before the first fault. */
  warmup: number;
  /** Fault cycles (F1, F3, F4, S1–S3). */
  cycles: number;
  /** How long a node (F1, F2) or a killed service instance (S1–S3) stays down, ms. */
  downMs: number;
  /** How long the leader stays stopped in F3 (beyond the election timeout), ms. */
  pauseMs: number;
  /**
   * When F3 resumes the stopped leader: `acked` once another node leads and a submission is
   * acknowledged without it (and `pauseMs` has passed); `leader` as soon as another node
   * leads, its election timeout having run out — the acknowledgements resuming are then
   * waited for after SIGCONT, so a client connected to the stopped node need not leave it.
   */
  resumeF3On: 'acked' | 'leader';
  /** Load after the last cycle before the check, ms. */
  settleMs: number;
  /** How long a stream limit (F7) or a clock skew (F9) holds, ms. */
  holdMs: number;
  /** How long a node stays cut off in F4 (beyond the election timeout), ms. */
  partitionMs: number;
  /** How long the leaf's link, then the leaf node, stays down in F6, ms. */
  leafDownMs: number;
  /** How long the leaf's link stays slow in F5, ms. */
  slowMs: number;
  /**
   * Pause between one publishing worker's submissions, ms. The smoke run publishes at a
   * fraction of the full run's rate: the same invariants, checked over fewer reports, with
   * the router never far behind on a machine running other tests.
   */
  publishPauseMs: number;
}

export const smokeSizes: FaultSizes = {
  warmup: 10,
  cycles: 1,
  downMs: 1_000,
  pauseMs: 8_000,
  resumeF3On: 'acked',
  settleMs: 1_000,
  holdMs: 3_000,
  partitionMs: 10_000,
  leafDownMs: 8_000,
  slowMs: 10_000,
  publishPauseMs: 200,
};
export const fullSizes: FaultSizes = {
  warmup: 50,
  cycles: 6,
  downMs: 3_000,
  pauseMs: 12_000,
  resumeF3On: 'acked',
  settleMs: 5_000,
  holdMs: 15_000,
  partitionMs: 30_000,
  leafDownMs: 60_000,
  slowMs: 60_000,
  publishPauseMs: 20,
};

/**
 * The long run (`--long`): F1 and F3 for many cycles, each on its own cluster at the same
 * time, nothing waited for but what each cycle checks. F1 restarts the node at once (the
 * kill is the fault; its down time only adds waiting). F3 resumes the stopped leader as soon
 * as another node leads (a follower's election timeout, 4–9 s in nats-server, ran out while
 * it was stopped), then waits for the acknowledgements and the replicas. Publishers pause
 * 100 ms between submissions: two clusters under load for half an hour on two cores.
 */
export const longSizes: FaultSizes = {
  warmup: 20,
  cycles: 200,
  downMs: 0,
  pauseMs: 0,
  resumeF3On: 'leader',
  settleMs: 5_000,
  holdMs: 15_000,
  partitionMs: 30_000,
  leafDownMs: 60_000,
  slowMs: 60_000,
  publishPauseMs: 100,
};

/** One fault's figures and verdict. */
export interface FaultResult {
  id: FaultId;
  fault: string;
  /** What the run did, in a sentence. */
  did: string;
  cycles: number;
  /** Submissions in all, answered `ok: true`, refused with a code (never acked). */
  submitted: number;
  acked: number;
  refused: Record<string, number>;
  lost: number;
  duplicatedReports: number;
  duplicatedAlerts: number;
  /** Per cycle: ms from the fault until a submission started after it was acknowledged. */
  recoveryMs: number[];
  /** Acknowledged per second in the 10 s before the first fault, and while faults ran. */
  throughput: { before: number; during: number };
  /** What the fault showed besides the invariants (readiness, leaders chosen…). */
  observations: string[];
  /**
   * `detected`: the fault destroyed acknowledged data on purpose (a damaged store), every
   * other invariant held, and `mosaic audit verify` named exactly what was destroyed.
   */
  verdict: 'pass' | 'detected' | 'fail';
  check: InvariantReport | undefined;
  error?: string;
}

/** `namespaces`: the fault needs the nodes in network namespaces (root). */
const injectors: Record<FaultId, { fault: string; namespaces?: boolean; inject: Injector }> = {
  ...partitionInjectors,
  ...leafInjectors,
  F1: {
    fault: 'node crash',
    async inject(run) {
      const leaders: string[] = [];
      const clock = new CycleClock(run, 'F1', run.sizes.cycles);
      for (let cycle = 0; cycle < run.sizes.cycles; cycle++) {
        clock.begin();
        // The REPORTS leader every third cycle (the first included), else any node.
        const leader = await run.cluster.leader(Streams.Reports);
        const victim: FaultNode =
          cycle % 3 === 0 ? run.cluster.node(leader) : pick(run.cluster.nodes);
        leaders.push(`${victim.name}${victim.name === leader ? ' (leader)' : ''}`);
        run.targets.add(victim.name);
        const t0 = Date.now();
        await run.cluster.killNode(victim);
        if (run.sizes.downMs > 0) await delay(run.sizes.downMs);
        await run.cluster.startNodes([victim]);
        clock.mark('restarted');
        // Both hold before the next cycle begins; waited for together.
        const [ms] = await Promise.all([
          recovery(run.load, t0).then((ms) => {
            clock.mark('acked');
            return ms;
          }),
          replicasCurrent(run.cluster).then(() => clock.mark('current')),
        ]);
        run.recoveryMs.push(ms);
        clock.end();
      }
      run.observations.push(
        leaders.length <= 12
          ? `killed: ${leaders.join(', ')}`
          : `killed the REPORTS leader in ${String(leaders.filter((l) => l.endsWith('(leader)')).length)} of ${String(leaders.length)} cycles`,
        clock.summary(),
      );
      return {
        cycles: run.sizes.cycles,
        did: `SIGKILL one node (the REPORTS leader every 3rd cycle, else a random node), down ${String(run.sizes.downMs / 1000)} s, restart, wait until its replicas are current`,
      };
    },
  },
  F2: {
    fault: 'whole cluster crash',
    async inject(run) {
      for (const n of run.cluster.nodes) run.targets.add(n.name);
      const t0 = Date.now();
      await run.cluster.killNodes(run.cluster.nodes);
      await delay(run.sizes.downMs);
      await run.cluster.startNodes(run.cluster.nodes);
      run.recoveryMs.push(await recovery(run.load, t0));
      await replicasCurrent(run.cluster);
      return {
        cycles: 1,
        did: `SIGKILL all three nodes at the same instant, down ${String(run.sizes.downMs / 1000)} s, restart all`,
      };
    },
  },
  F3: {
    fault: 'pause',
    async inject(run) {
      const moved: string[] = [];
      const clock = new CycleClock(run, 'F3', run.sizes.cycles);
      for (let cycle = 0; cycle < run.sizes.cycles; cycle++) {
        clock.begin();
        const leader = run.cluster.node(await run.cluster.leader(Streams.Reports));
        const t0 = Date.now();
        run.cluster.signalNode(leader, 'SIGSTOP');
        run.log(`F3: ${leader.name} (REPORTS leader) stopped`);
        const others = run.cluster.nodes.filter((n) => n !== leader);
        const newLeader = until(
          'a new REPORTS leader',
          async () => {
            // Asked of the other nodes only: the stopped one answers nothing.
            const now = await run.cluster.leaderVia(others, Streams.Reports);
            return now === leader.name ? undefined : now;
          },
          run.sizes.pauseMs + 60_000,
          100,
        ).then((l) => {
          run.log(`F3: REPORTS leader now ${l} after ${String(clock.mark('new leader'))} ms`);
          moved.push(`${leader.name}→${l}`);
        });
        const acked = recovery(run.load, t0).then((ms) => {
          run.recoveryMs.push(ms);
          run.log(`F3: acknowledging again after ${String(clock.mark('acked'))} ms`);
        });
        // Awaited below; this only keeps a failed election wait from leaving it unhandled.
        acked.catch(() => undefined);
        try {
          // The election and, unless resumed on the election, the acknowledgements resuming
          // without the stopped node are waited for together (the cycle needs both).
          await (run.sizes.resumeF3On === 'leader' ? newLeader : Promise.all([newLeader, acked]));
          const left = run.sizes.pauseMs - (Date.now() - t0);
          if (left > 0) await delay(left);
        } finally {
          run.cluster.signalNode(leader, 'SIGCONT');
        }
        clock.mark('resumed');
        await Promise.all([acked, replicasCurrent(run.cluster).then(() => clock.mark('current'))]);
        clock.end();
      }
      run.observations.push(
        moved.length <= 12
          ? `REPORTS leadership moved: ${moved.join(', ')}`
          : `REPORTS leadership moved in each of ${String(moved.length)} cycles`,
        clock.summary(),
      );
      return {
        cycles: run.sizes.cycles,
        did:
          run.sizes.resumeF3On === 'leader'
            ? 'SIGSTOP the REPORTS leader until another node leads (beyond its election timeout), SIGCONT, wait until a submission is acknowledged and its replicas are current'
            : `SIGSTOP the REPORTS leader until another node leads and a submission is acknowledged, at least ${String(run.sizes.pauseMs / 1000)} s (beyond the election timeout), SIGCONT, wait until its replicas are current`,
      };
    },
  },
  F10: {
    fault: 'unsafe config',
    async inject(run) {
      const node = run.cluster.nodes[2] ?? pick(run.cluster.nodes);
      const ingest = run.cluster.service('ingest');
      const original = await readFile(node.configFile, 'utf8');
      if (!original.includes('sync_interval: always'))
        throw new MosaicError(
          ErrorCode.Internal,
          `${node.configFile} has no sync_interval: always`,
        );
      const before = await readyz(ingest.url);
      run.targets.add(node.name);
      const t0 = Date.now();
      await writeFile(node.configFile, original.replace(/^\s*sync_interval: always\n/m, ''));
      try {
        await run.cluster.stopNode(node);
        await run.cluster.startNodes([node]);
        const red = await until('readiness red', async () => {
          const r = await readyz(ingest.url);
          return r.status === 503 && r.body.includes('sync-not-always') ? r : undefined;
        });
        run.observations.push(
          `before: /readyz ${String(before.status)}; ${node.name} without sync_interval: /readyz ${String(red.status)} ${red.body.trim()}`,
        );
        run.recoveryMs.push(await recovery(run.load, t0));
      } finally {
        await writeFile(node.configFile, original);
      }
      await run.cluster.stopNode(node);
      await run.cluster.startNodes([node]);
      const green = await until('readiness green again', async () => {
        const r = await readyz(ingest.url);
        return r.status === 200 ? r : undefined;
      });
      run.observations.push(`config restored: /readyz ${String(green.status)}`);
      await replicasCurrent(run.cluster);
      return {
        cycles: 1,
        did: `restart ${node.name} without sync_interval: always, read ingest's /readyz, restore and restart`,
      };
    },
  },
  F7: {
    fault: 'store limit reached',
    async inject(run) {
      // Break-glass stream administration: a REPORTS message limit just above what it holds.
      const admin = await connect({
        ...contextConnectOptions(
          await readContextFile(join(run.cluster.dir, 'breakglass', 'admin.json')),
        ),
        servers: run.cluster.urls,
      });
      try {
        const jsm = await jetstreamManager(admin, { timeout: 10_000 });
        const held = (await jsm.streams.info(Streams.Reports)).state.messages;
        const limit = held + 5;
        await jsm.streams.update(Streams.Reports, { max_msgs: limit });
        const t0 = Date.now();
        const refused = await refusal(run.load, ErrorCode.Unavailable);
        const refusedAfter = Date.now() - t0;
        const ingest = run.cluster.service('ingest');
        const health = await fetch(new URL('/healthz', ingest.url));
        // The load goes on while the limit is set: a write the leader took before the update
        // was in force commits past it. Once a submission is refused, the stream is full.
        await delay(1_000);
        const full = (await jsm.streams.info(Streams.Reports)).state.messages;
        await delay(run.sizes.holdMs);
        const stored = (await jsm.streams.info(Streams.Reports)).state.messages;
        const ackedAbove = run.load.acked().filter((s) => (s.acked?.seq ?? 0) > stored).length;
        run.observations.push(
          `REPORTS max_msgs ${String(limit)} (held ${String(held)}): a probe refused after ${String(refusedAfter)} ms with ${refused}; ingest /healthz ${String(health.status)}; REPORTS held ${String(full)} once full (${String(full - limit)} taken before the limit was in force) and ${String(stored)} at the end of the hold; acknowledged beyond what it holds: ${String(ackedAbove)}`,
        );
        if (stored > full || ackedAbove > 0)
          throw new MosaicError(
            ErrorCode.Internal,
            `REPORTS took writes while full (${String(full)} then ${String(stored)}) or an ack named a sequence it does not hold`,
          );
        const lifted = Date.now();
        await jsm.streams.update(Streams.Reports, { max_msgs: -1 });
        run.recoveryMs.push(await recovery(run.load, lifted));
      } finally {
        await admin.close();
      }
      return {
        cycles: 1,
        did: `break-glass: REPORTS max_msgs set 5 above what it held for ${String(run.sizes.holdMs / 1000)} s (discard new), then lifted; a probe sent without retries reads ingest's own answer`,
      };
    },
  },
  F9: {
    fault: 'clock skew',
    async inject(run) {
      const faketime = await ensureFaketime();
      // Wall clock only: the services' timers (monotonic) keep running normally.
      const skewed = (spec: string): Record<string, string> => ({
        ...faketime.env(spec),
        FAKETIME_DONT_FAKE_MONOTONIC: '1',
      });
      const services = ['auditor', 'ingest', 'router'] as const;
      for (const name of services) run.targets.add(name);
      const phases: string[] = [];
      for (const spec of ['+5m', '-5m']) {
        const t0 = Date.now();
        for (const name of services) await run.cluster.restartService(name, skewed(spec));
        const ms = await recovery(run.load, t0);
        run.recoveryMs.push(ms);
        await delay(run.sizes.holdMs);
        phases.push(
          `services at ${spec}: acknowledging again ${String(ms)} ms after the restart began`,
        );
      }
      // Beyond the documented 5-minute skew: a report is "from the future" to ingest.
      await run.cluster.restartService('ingest', skewed('-6m'));
      phases.push(`ingest at -6m: ${await refusal(run.load, ErrorCode.IssuedInFuture)}`);
      const t0 = Date.now();
      for (const name of services) await run.cluster.restartService(name);
      run.recoveryMs.push(await recovery(run.load, t0));
      run.observations.push(...phases);
      return {
        cycles: 3,
        did: `auditor, ingest and router restarted under faketime +5 min, then -5 min (${String(run.sizes.holdMs / 1000)} s each), then ingest alone at -6 min, then all on the real clock`,
      };
    },
  },
  F8: {
    fault: 'file corruption',
    async inject(run) {
      const leader = await run.cluster.leader(Streams.Reports);
      const node = run.cluster.nodes.find((n) => n.name !== leader) ?? pick(run.cluster.nodes);
      run.targets.add(node.name);
      await run.cluster.stopNode(node);
      const damage: string[] = [];
      const reports = await messageBlocks(node.storeDir, Streams.Reports);
      const audit = await messageBlocks(node.storeDir, Streams.Audit);
      const reportsBlock = reports[0];
      const auditBlock = audit.at(-1);
      if (reportsBlock === undefined || auditBlock === undefined)
        throw new MosaicError(ErrorCode.Internal, `${node.name} has no REPORTS or AUDIT block`);
      const flipped = await flipBit(reportsBlock);
      damage.push(flipped.said);
      const cut = await truncateThird(auditBlock);
      damage.push(cut.said);
      const t0 = Date.now();
      await run.cluster.startNodes([node]);
      await replicasCurrent(run.cluster);
      const moved: string[] = [];
      for (const stream of [Streams.Reports, Streams.Audit])
        moved.push(`${stream}: ${await run.cluster.moveLeader(stream, node.name)}`);
      run.recoveryMs.push(await recovery(run.load, t0));
      const seen = await Promise.all(
        [Streams.Reports, Streams.Audit].map((stream) => whatLeaderLacks(run, stream)),
      );
      const said = (node.server?.logs() ?? '')
        .split('\n')
        .filter((l) => /corrupt|checksum|truncat|bad|lost|rebuil|mismatch|\[ERR\]|\[WRN\]/i.test(l))
        .slice(0, 12)
        .map((l) => l.replace(/^\[\d+\] \S+ \S+ /, ''));
      run.observations.push(
        `damaged on ${node.name} while stopped: ${damage.join('; ')}`,
        `leadership moved to it: ${moved.join(', ')}`,
        ...seen,
        `what ${node.name} logged: ${said.length === 0 ? 'nothing about it' : said.join(' | ')}`,
      );
      return {
        cycles: 1,
        did: `stop a follower, flip a bit in a REPORTS message block and cut the last third off an AUDIT block, restart it, move both leaders to it`,
        ...(flipped.seq === undefined ? {} : { destroyedReports: [flipped.seq] }),
        ...(cut.seqs.length === 0 ? {} : { destroyedAudit: cut.seqs }),
      };
    },
  },
  ...serviceInjectors,
};

/** The message block files of a stream in a node's store, in block order. */
async function messageBlocks(storeDir: string, stream: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(storeDir, { recursive: true, withFileTypes: true }))
    if (
      entry.isFile() &&
      entry.name.endsWith('.blk') &&
      entry.parentPath.endsWith(join('streams', stream, 'msgs'))
    )
      found.push(join(entry.parentPath, entry.name));
  return found.sort((a, b) => Number(basename(a, '.blk')) - Number(basename(b, '.blk')));
}

/**
 * The sequence of the message whose record holds byte `at` of a nats-server message block,
 * or undefined when the walk does not reach it. A record is its length (4 bytes, little
 * endian, top bit: has headers), sequence (8, top bit: erased), timestamp (8), subject
 * length (2), then subject, headers, payload and an 8-byte checksum, all within the length.
 */
function sequenceAt(bytes: Buffer, at: number): number | undefined {
  for (let offset = 0; offset + 22 <= bytes.length;) {
    const length = bytes.readUInt32LE(offset) & 0x7fffffff;
    if (length < 22) return undefined;
    if (at < offset + length) return Number(bytes.readBigUInt64LE(offset + 4) & ((1n << 63n) - 1n));
    offset += length;
  }
  return undefined;
}

/** Flips the lowest bit of the byte in the middle of `file`; says where, and in which message. */
async function flipBit(file: string): Promise<{ said: string; seq: number | undefined }> {
  const bytes = await readFile(file);
  const at = Math.floor(bytes.length / 2);
  const seq = sequenceAt(bytes, at);
  bytes[at] = (bytes[at] ?? 0) ^ 1;
  await writeFile(file, bytes);
  return {
    said: `bit 0 of byte ${String(at)} of ${String(bytes.length)} flipped in ${basename(dirname(dirname(file)))}/${basename(file)} (the record of seq ${seq === undefined ? '?' : String(seq)})`,
    seq,
  };
}

/** The sequences of the records of a message block that end beyond byte `keep`. */
function sequencesFrom(bytes: Buffer, keep: number): number[] {
  const seqs: number[] = [];
  for (let offset = 0; offset + 22 <= bytes.length;) {
    const length = bytes.readUInt32LE(offset) & 0x7fffffff;
    if (length < 22) break;
    if (offset + length > keep)
      seqs.push(Number(bytes.readBigUInt64LE(offset + 4) & ((1n << 63n) - 1n)));
    offset += length;
  }
  return seqs;
}

/** Cuts the last third off `file`; says how much, and which messages it cut. */
async function truncateThird(file: string): Promise<{ said: string; seqs: number[] }> {
  const bytes = await readFile(file);
  const keep = Math.floor((bytes.length * 2) / 3);
  const seqs = sequencesFrom(bytes, keep);
  await truncate(file, keep);
  const range = seqs.length === 0 ? 'none' : `${String(seqs[0])}–${String(seqs.at(-1))}`;
  return {
    said: `${basename(dirname(dirname(file)))}/${basename(file)} truncated from ${String(bytes.length)} to ${String(keep)} bytes (seqs ${range})`,
    seqs,
  };
}

/**
 * What the leader of `stream` counts but cannot return (read through it), and whether any
 * replica still answers a direct get with each such message (any replica answers one).
 */
async function whatLeaderLacks(run: FaultRun, stream: string): Promise<string> {
  const { jsm } = await run.cluster.hub();
  const holes: number[] = [];
  for await (const { seq, msg } of readSequences(jsm, stream, { leader: true }))
    if (msg === undefined) holes.push(seq);
  if (holes.length === 0) return `${stream}: its leader returns every sequence it counts`;
  const held: number[] = [];
  for (const seq of holes.slice(0, 20))
    for (let ask = 0; ask < 12; ask++)
      if ((await jsm.direct.getMessage(stream, { seq }).catch(() => null)) !== null) {
        held.push(seq);
        break;
      }
  return `${stream}: its leader cannot return seqs ${holes.join(', ')}; a direct get (any replica) returned ${held.length === 0 ? 'none of them' : held.join(', ')} in 12 asks each`;
}

/** A refusal `probe` must see within the bounded wait: the hub's own answer, no retries. */
async function refusal(load: Load, code: string, timeoutMs = 120_000): Promise<string> {
  return until(
    `a submission refused with ${code}`,
    async () => {
      const reply = await load.probe();
      if (reply?.ok === false && reply.code === code)
        return `${reply.code}${reply.retryable === true ? ' (retryable)' : ''}: ${reply.message}`;
      return undefined;
    },
    timeoutMs,
    200,
  );
}

export interface RunFaultsOptions {
  sizes: FaultSizes;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Keep the clusters' directories (node logs, stores). */
  keep?: boolean;
  /**
   * One cluster for all the faults, one after the other (the smoke run: a cluster start is
   * the slow part), instead of a fresh cluster per fault. Each fault's check still covers
   * everything submitted since the cluster started.
   */
  shared?: boolean;
  /**
   * Each fault's cluster at the same time instead of one after the other (the long run: F1
   * and F3 spend most of a cycle waiting for an election or a restart, not computing).
   * Ignored with `shared`.
   */
  parallel?: boolean;
  /**
   * Called after each fault's check while its cluster still runs, with what the check was
   * given (e.g. to show the checker fails on data that breaks an invariant).
   */
  inspect?: (state: {
    id: FaultId;
    cluster: FaultCluster;
    checked: CheckInvariantsOptions;
    result: FaultResult;
  }) => Promise<void>;
}

/** What a fault is, in a few words (`npm run faults -- --help`). */
export function faultName(id: FaultId): string {
  return injectors[id].fault;
}

function emptyResult(id: FaultId): FaultResult {
  return {
    id,
    fault: injectors[id].fault,
    did: '',
    cycles: 0,
    submitted: 0,
    acked: 0,
    refused: {},
    lost: 0,
    duplicatedReports: 0,
    duplicatedAlerts: 0,
    recoveryMs: [],
    throughput: { before: 0, during: 0 },
    observations: [],
    verdict: 'fail',
    check: undefined,
  };
}

/**
 * One fault on a running cluster under load: inject, settle, stop publishing, then the
 * shared invariant check; publishing resumes afterwards. Figures count the submissions
 * started since `since`. Throws only when the harness itself fails (a node that does not
 * come back): a broken invariant is in the result.
 */
async function faultOn(
  cluster: FaultCluster,
  load: Load,
  id: FaultId,
  o: {
    sizes: FaultSizes;
    log: (line: string) => void;
    since: number;
    inspect: RunFaultsOptions['inspect'];
  },
  result: FaultResult,
): Promise<void> {
  const warm = Date.now();
  const run: FaultRun = {
    cluster,
    load,
    sizes: o.sizes,
    recoveryMs: result.recoveryMs,
    observations: result.observations,
    targets: new Set(),
    log: o.log,
  };
  o.log(`${id}: ${String(load.acked().length)} acknowledged so far, injecting`);
  const injected = await injectors[id].inject(run);
  result.did = injected.did;
  result.cycles = injected.cycles;
  await delay(o.sizes.settleMs);
  const end = Date.now();
  await load.pausePublishing();
  const firstAck = load.acked()[0]?.acked?.at ?? warm;
  result.throughput = {
    before: ackRate(load, Math.max(warm - 10_000, firstAck), warm),
    during: ackRate(load, warm, end),
  };
  o.log(`${id}: checking the invariants`);
  const { jsm } = await cluster.hub();
  const checked: CheckInvariantsOptions = {
    jsm,
    dataDir: cluster.dir,
    federationFile: cluster.federationFile,
    submissions: [...load.submissions.values()].map((s) => ({
      reportId: s.reportId,
      issuer: s.issuer,
      report: s.report,
      ...(s.acked === undefined ? {} : { ackedSeq: s.acked.seq }),
    })),
    received: load.received,
    crashed: cluster.unexpectedExits
      .filter((e) => e.at >= warm && !run.targets.has(e.name))
      .map((e) => `${e.name} (pid ${String(e.pid)}, ${String(e.signal ?? e.code)})`),
    ...(injected.destroyedReports === undefined
      ? {}
      : { destroyedReports: injected.destroyedReports }),
    ...(injected.destroyedAudit === undefined ? {} : { destroyedAudit: injected.destroyedAudit }),
    // Those since the previous check (the warm-up's included): each is reported once.
    subscriptionsEnded: load.subscriptionsEnded
      .splice(0)
      .map((e) => `${e.agency}: ${e.error} (${new Date(e.at).toISOString()})`),
  };
  const check = await checkInvariants(checked);
  result.check = check;
  const mine = [...load.submissions.values()].filter((s) => s.startedAt >= o.since);
  const ids = new Set(mine.map((s) => s.reportId));
  const reportIdOf = (alertOrMsgId: string): string => alertOrMsgId.split('/')[1] ?? '';
  result.submitted = mine.length;
  result.acked = mine.filter((s) => s.acked !== undefined).length;
  for (const s of mine)
    if (s.refused !== undefined)
      result.refused[s.refused.code] = (result.refused[s.refused.code] ?? 0) + 1;
  // What the fault destroyed was acknowledged before it, and is this fault's loss all the same.
  result.lost = check.lost.filter((r) => ids.has(r) || check.destroyed.includes(r)).length;
  result.duplicatedReports = check.duplicatedReports.filter((m) => ids.has(reportIdOf(m))).length;
  result.duplicatedAlerts = check.alerts.duplicated.filter((a) => ids.has(reportIdOf(a))).length;
  const again = load.handedAgain.length;
  if (again > 0)
    result.observations.push(
      `alerts handed to a subscriber again so far: ${String(again)}, ${String(load.handedAgain.filter((h) => h.redelivered).length)} of them redelivered by the broker`,
    );
  result.verdict = !check.ok ? 'fail' : check.destroyed.length > 0 ? 'detected' : 'pass';
  await o.inspect?.({ id, cluster, checked, result });
  load.publish();
}

/**
 * Runs the faults in order, each under load and ending with the shared invariant check, on
 * a fresh cluster each (or one shared cluster). Never throws for a broken invariant or a
 * fault the harness could not complete: each result says so.
 */
export async function runFaults(
  ids: readonly FaultId[],
  options: RunFaultsOptions,
): Promise<FaultResult[]> {
  const log = options.log ?? (() => undefined);
  const groups = options.shared === true ? [ids] : ids.map((id) => [id]);
  if (options.parallel === true && options.shared !== true)
    return (await Promise.all(groups.map((group) => runGroup(group, options, log)))).flat();
  const results: FaultResult[] = [];
  for (const group of groups) results.push(...(await runGroup(group, options, log)));
  return results;
}

/** The faults of `group` one after the other on one fresh cluster under load. */
async function runGroup(
  group: readonly FaultId[],
  options: RunFaultsOptions,
  log: (line: string) => void,
): Promise<FaultResult[]> {
  const results: FaultResult[] = [];
  log(`starting a cluster for ${group.join(', ')}`);
  // The leaf faults need an agency on a leaf node; the others run without one.
  const leaf = group.some((id) => Object.hasOwn(leafInjectors, id));
  await using cluster = await FaultCluster.start({
    keep: options.keep ?? false,
    namespaces: group.some((id) => injectors[id].namespaces === true),
    ...(leaf ? { leaf: LEAF_AGENCY } : {}),
  });
  const load = new Load(cluster, { pauseMs: options.sizes.publishPauseMs });
  try {
    await load.connect();
    load.publish();
    await untilAcked(load, options.sizes.warmup);
    for (const id of group) {
      const result = emptyResult(id);
      results.push(result);
      const since = Date.now();
      try {
        await faultOn(
          cluster,
          load,
          id,
          { sizes: options.sizes, log, since, inspect: options.inspect },
          result,
        );
      } catch (err) {
        result.error = err instanceof Error ? err.message : String(err);
        // Where the harness failed, for whoever reads the log.
        if (err instanceof Error && err.stack !== undefined) log(`${id}: ${err.stack}`);
      }
      log(
        `${id}: ${result.verdict} (${String(result.acked)} acked, ${String(result.lost)} lost, recovery ${result.recoveryMs.join('/')} ms)${result.error === undefined ? '' : `: ${result.error}`}`,
      );
      // A cluster the harness lost track of cannot carry the next fault.
      if (result.error !== undefined) break;
    }
  } finally {
    await load.stop();
  }
  return results;
}
