import { decodeEntry, prevHash } from '@mosaic/audit-log';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import type { ServeService } from '@mosaic/hub';
import { ROUTER_CONSUMER, Streams, readSequences } from '@mosaic/protocol';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { FaultService } from './cluster.ts';
import type { Load } from './load.ts';
import { delay, recovery, until, type FaultRun, type Injector } from './run.ts';

// S1–S3: a service instance SIGKILLed mid-load while a second instance of it carries on
// (production is scaled out), then restarted.

/** Submissions started at once just before each kill, so some are in flight when it lands. */
export const SERVICE_BURST = 24;
/** The window before and after a kill in which the longest pause between acks is measured. */
const GAP_WINDOW_MS = 10_000;

/** The instance to kill: a second process of the service, started now if there is none. */
async function secondInstance(run: FaultRun, name: ServeService): Promise<FaultService> {
  const label = `${name}-2`;
  const found = run.cluster.services.find((s) => s.label === label);
  if (found === undefined) {
    run.log(`${name}: starting a second instance`);
    return run.cluster.addService(name);
  }
  return found.child.running ? found : run.cluster.replaceService(found);
}

/** The longest time in [from, to) without an acknowledgement, ms. */
function longestAckGap(load: Load, from: number, to: number): number {
  let last = from;
  let longest = 0;
  for (const s of load.acked()) {
    const at = s.acked?.at ?? 0;
    if (at < from || at >= to) continue;
    longest = Math.max(longest, at - last);
    last = at;
  }
  return Math.max(longest, to - last);
}

/** What one kill found. */
interface Kill {
  /** When the SIGKILL was sent. */
  t0: number;
  /** Burst submissions started and not yet answered when it was sent. */
  inFlight: number;
  /** ms from the kill until a submission started after it was acknowledged. */
  recoveryMs: number;
  /** ms the restart took (until the new process serves). */
  restartMs: number;
  /** Longest pause between acknowledgements in the window before and after the kill. */
  gapBeforeMs: number;
  gapAfterMs: number;
}

/**
 * Starts a burst of submissions, SIGKILLs `victim` as soon as the first of them is
 * acknowledged (the others are then with the services), calls `atKill` right after it,
 * restarts the victim after `downMs`, and measures the recovery and the pause in
 * acknowledgements. The victim is the fault's target: its end is not a crash.
 */
async function killMidBurst(
  run: FaultRun,
  victim: FaultService,
  atKill: () => Promise<void> = () => Promise.resolve(),
): Promise<{ kill: Kill; restarted: FaultService }> {
  run.targets.add(victim.label);
  const burst = run.load.burst(SERVICE_BURST);
  // Killed as the first of them is acknowledged: the others are then with the services (a
  // poll could see them all answered on a loaded machine).
  await burst.firstAcked;
  const inFlight = burst.submissions.filter(
    (s) => s.acked === undefined && s.refused === undefined,
  ).length;
  const t0 = Date.now();
  await run.cluster.killService(victim);
  run.log(`${victim.label} SIGKILLed, ${String(inFlight)} burst submissions unanswered`);
  await atKill();
  await delay(run.sizes.downMs);
  const restarting = Date.now();
  const restarted = await run.cluster.replaceService(victim);
  const restartMs = Date.now() - restarting;
  const recoveryMs = await recovery(run.load, t0);
  await burst.done;
  const left = t0 + GAP_WINDOW_MS - Date.now();
  if (left > 0) await delay(left);
  return {
    kill: {
      t0,
      inFlight,
      recoveryMs,
      restartMs,
      gapBeforeMs: longestAckGap(run.load, t0 - GAP_WINDOW_MS, t0),
      gapAfterMs: longestAckGap(run.load, t0, t0 + GAP_WINDOW_MS),
    },
    restarted,
  };
}

const describeKill = (label: string, k: Kill): string =>
  `${label} SIGKILLed with ${String(k.inFlight)} of ${String(SERVICE_BURST)} burst submissions unanswered; a new submission acknowledged ${String(k.recoveryMs)} ms after; longest pause between acks ${String(k.gapBeforeMs)} ms in the ${String(GAP_WINDOW_MS / 1000)} s before, ${String(k.gapAfterMs)} ms in the ${String(GAP_WINDOW_MS / 1000)} s after; restarted in ${String(k.restartMs)} ms`;

/** Kills the second instance of `name` `cycles` times; `atKill` per cycle for what else to read. */
async function serviceCrash(
  run: FaultRun,
  name: ServeService,
  atKill?: (cycle: number) => Promise<void>,
): Promise<Kill[]> {
  const kills: Kill[] = [];
  for (let cycle = 0; cycle < run.sizes.cycles; cycle++) {
    const victim = await secondInstance(run, name);
    const { kill } = await killMidBurst(
      run,
      victim,
      atKill === undefined ? undefined : () => atKill(cycle),
    );
    kills.push(kill);
    run.recoveryMs.push(kill.recoveryMs);
    run.observations.push(describeKill(victim.label, kill));
  }
  return kills;
}

const did = (run: FaultRun, name: string, also = ''): string =>
  `two ${name} instances; SIGKILL the second while a burst of ${String(SERVICE_BURST)} submissions is in flight, restart it after ${String(run.sizes.downMs / 1000)} s${also}`;

/** The router durable's delivered and acknowledged positions. */
async function routerConsumer(jsm: JetStreamManager): Promise<{
  delivered: number;
  ackFloor: number;
  ackPending: number;
  redelivered: number;
}> {
  const info = await jsm.consumers.info(Streams.Reports, ROUTER_CONSUMER);
  return {
    delivered: info.delivered.stream_seq,
    ackFloor: info.ack_floor.stream_seq,
    ackPending: info.num_ack_pending,
    redelivered: info.num_redelivered,
  };
}

/** What reading the audit chain found. */
export interface AuditChain {
  entries: number;
  recovered: number;
  /** Positions (1-based) whose `prev` is not the leaf hash of the entry before. */
  breaks: number[];
  /** Sequences AUDIT counts but cannot return. */
  unreadable: number[];
  /** REPORTS sequences with a recovered collection entry and a regular one as well. */
  collectedTwice: number;
}

/**
 * Reads AUDIT in order and checks that it is one chain: every entry's `prev` is the leaf
 * hash of the entry before it, so no two entries continue the same one (no fork).
 */
export async function readAuditChain(jsm: JetStreamManager): Promise<AuditChain> {
  const chain: AuditChain = {
    entries: 0,
    recovered: 0,
    breaks: [],
    unreadable: [],
    collectedTwice: 0,
  };
  const collected = new Map<number, { recovered: boolean; regular: boolean }>();
  let previous: Uint8Array | undefined;
  for await (const { seq, msg } of readSequences(jsm, Streams.Audit)) {
    if (msg === undefined) {
      chain.unreadable.push(seq);
      previous = undefined;
      continue;
    }
    chain.entries++;
    const entry = decodeEntry(msg.data);
    if (entry.recovered === true) chain.recovered++;
    if (entry.action === 'report.accepted')
      for (const ref of entry.refs ?? []) {
        if (ref.stream !== Streams.Reports) continue;
        const c = collected.get(ref.seq) ?? { recovered: false, regular: false };
        if (entry.recovered === true) c.recovered = true;
        else c.regular = true;
        collected.set(ref.seq, c);
      }
    const expected = previous === undefined ? undefined : prevHash(previous);
    if (entry.prev !== expected) chain.breaks.push(chain.entries);
    previous = msg.data;
  }
  chain.collectedTwice = [...collected.values()].filter((c) => c.recovered && c.regular).length;
  return chain;
}

export const serviceInjectors: Record<'S1' | 'S2' | 'S3', { fault: string; inject: Injector }> = {
  S1: {
    fault: 'ingest crash',
    async inject(run) {
      await serviceCrash(run, 'ingest');
      return {
        cycles: run.sizes.cycles,
        did: did(run, 'ingest', ' (the survivor answers the SDK’s retries)'),
      };
    },
  },
  S2: {
    fault: 'router crash',
    async inject(run) {
      const { jsm } = await run.cluster.hub();
      const held: { delivered: number; ackPending: number }[] = [];
      await serviceCrash(run, 'router', async () => {
        const at = await routerConsumer(jsm);
        held.push(at);
      });
      // Every report delivered before the last kill (the killed router's among them) is
      // acknowledged only once redelivered and routed after its ack_wait.
      const last = held.at(-1);
      if (last === undefined) throw new MosaicError(ErrorCode.Internal, 'no router killed');
      let redelivered = 0;
      const t = Date.now();
      await until(
        'every report delivered before the kill routed',
        async () => {
          const now = await routerConsumer(jsm);
          redelivered = Math.max(redelivered, now.redelivered);
          return now.ackFloor >= last.delivered ? true : undefined;
        },
        180_000,
        250,
      );
      const twice = [...run.load.received.values()].reduce(
        (n, m) => n + [...m.values()].filter((c) => c > 1).length,
        0,
      );
      run.observations.push(
        `at each kill the router durable had ${held.map((h) => String(h.ackPending)).join(', ')} reports delivered and not acknowledged; every report delivered before the last kill was routed ${String(Date.now() - t)} ms after the restart (redelivered seen: ${String(redelivered)}); alerts a subscriber was handed more than once: ${String(twice)}`,
      );
      return {
        cycles: run.sizes.cycles,
        did: did(
          run,
          'router',
          '; wait until every report delivered before the kill is routed (redelivered after ack_wait)',
        ),
      };
    },
  },
  S3: {
    fault: 'auditor crash',
    async inject(run) {
      await serviceCrash(run, 'auditor');
      const { jsm } = await run.cluster.hub();
      const chain = await readAuditChain(jsm);
      run.observations.push(
        `AUDIT: ${String(chain.entries)} entries, ${String(chain.recovered)} recovered, one chain (breaks: ${String(chain.breaks.length)}, unreadable: ${String(chain.unreadable.length)}); reports with a recovered and a regular collection entry: ${String(chain.collectedTwice)}`,
      );
      if (chain.breaks.length > 0 || chain.unreadable.length > 0)
        throw new MosaicError(
          ErrorCode.Internal,
          `AUDIT is not one chain: entries ${chain.breaks.slice(0, 5).join(', ')} do not continue the entry before; unreadable ${chain.unreadable.slice(0, 5).join(', ')}`,
        );
      return {
        cycles: run.sizes.cycles,
        did: did(run, 'auditor', '; read AUDIT as one chain (every prev the entry before)'),
      };
    },
  },
};
