import { ErrorCode, MosaicError } from '@mosaic/errors';
import { Streams } from '@mosaic/protocol';
import type { LeafAgent } from './leaf.ts';
import type { LinkShape } from './link.ts';
import type { Submission } from './load.ts';
import { delay, until, type FaultRun, type Injector } from './run.ts';
import { percentile } from './table.ts';

/** The agency the leaf faults run on: it connects through a leaf node of its own. */
export const LEAF_AGENCY = 'de-bka';

/** F5's slow link: what `tc netem delay 200ms rate 64kbit` would do, each way. */
const SLOW_LINK: LinkShape = { delayMs: 200, bitsPerSecond: 64_000 };

function leafOf(run: FaultRun): LeafAgent {
  const agent = run.load.leaf;
  if (run.cluster.leaf === undefined || agent === undefined)
    throw new MosaicError(ErrorCode.Internal, 'the cluster runs no leaf node');
  return agent;
}

/** The leaf agency's submissions started in [from, to). */
function leafSubmissions(run: FaultRun, from: number, to: number): Submission[] {
  return [...run.load.submissions.values()].filter(
    (s) => s.issuer === LEAF_AGENCY && s.startedAt >= from && s.startedAt < to,
  );
}

/** The leaf agency's submissions not answered yet. */
function unanswered(run: FaultRun): Submission[] {
  return [...run.load.submissions.values()].filter(
    (s) => s.issuer === LEAF_AGENCY && s.acked === undefined && s.refused === undefined,
  );
}

/**
 * ms from `from` until every one of `submissions` was answered (bounded); on time-out the
 * error says what the leaf's OUTBOX and its forwarder held.
 */
async function answered(
  agent: LeafAgent,
  submissions: readonly Submission[],
  from: number,
): Promise<number> {
  try {
    await until(
      `the hub answered the ${String(submissions.length)} submissions queued on the leaf`,
      () =>
        Promise.resolve(
          submissions.every((s) => s.acked !== undefined || s.refused !== undefined)
            ? true
            : undefined,
        ),
      300_000,
      100,
    );
  } catch (err) {
    if (!(err instanceof MosaicError)) throw err;
    throw new MosaicError(err.code, `${err.message}; ${await agent.state()}`, { cause: err });
  }
  const last = Math.max(from, ...submissions.map((s) => s.acked?.at ?? s.refused?.at ?? from));
  return last - from;
}

/**
 * Waits (bounded) until the leaf's copy holds every alert the hub stored for the agency up
 * to now, by the SDK's `checkLeafAlerts`; repairs what is still missing after the wait.
 */
async function copyComplete(run: FaultRun, agent: LeafAgent): Promise<string> {
  const { jsm } = await run.cluster.hub();
  const mark = (await jsm.streams.info(Streams.Alerts)).state.last_seq;
  const t0 = Date.now();
  let found: { hub: number; missing: number[] } | undefined;
  try {
    found = await until(
      'the leaf copy holding every alert routed before',
      async () => {
        const check = await agent.check(false).catch((err: unknown) => {
          if (!(err instanceof Error)) throw err;
          return undefined;
        });
        if (check === undefined) return undefined;
        const missing = check.missing.filter((seq) => seq <= mark);
        return missing.length === 0 ? { hub: check.hub, missing } : undefined;
      },
      180_000,
      2_000,
    );
  } catch (err) {
    if (!(err instanceof MosaicError)) throw err;
  }
  if (found !== undefined)
    return `checkLeafAlerts: the leaf copy held all ${String(found.hub)} alerts of ${LEAF_AGENCY} (checked ${String(Date.now() - t0)} ms after the fault ended), no gap`;
  const repaired = await agent.check(true);
  return `checkLeafAlerts: the leaf copy still lacked ${String(repaired.missing.filter((s) => s <= mark).length)} alerts 180 s after the fault ended (hub sequences ${repaired.missing.slice(0, 10).join(', ')}); repaired ${String(repaired.repaired)} from the hub`;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** Queue-to-answer latency (p50 / max) of the leaf's acknowledged submissions among `of`. */
function latency(of: readonly Submission[]): string {
  const ms = of.flatMap((s) => (s.acked === undefined ? [] : [s.acked.at - s.startedAt]));
  if (ms.length === 0) return 'none acknowledged';
  return `${String(ms.length)} acknowledged, queue to answer p50 ${seconds(percentile(ms, 50) ?? 0)}, max ${seconds(Math.max(...ms))}`;
}

/**
 * `duplicate: true` answers so far (the forwarder's resends), those of an already answered
 * submission (the same sequence again), and submissions answered twice differently.
 */
function resends(agent: LeafAgent): string {
  const dup = agent.figures.answers.filter((a) => a.duplicate).length;
  return `hub answers marked duplicate (a resend of a stored report): ${String(dup)}, of them answering an answered submission again: ${String(agent.figures.answeredAgain.length)}; submissions answered twice differently: ${String(agent.figures.answeredTwice.length)}`;
}

export const leafInjectors: Record<'F5' | 'F6', { fault: string; inject: Injector }> = {
  F6: {
    fault: 'leaf outage',
    async inject(run) {
      const agent = leafOf(run);
      const leaf = run.cluster.leaf;
      if (leaf === undefined) throw new MosaicError(ErrorCode.Internal, 'no leaf');
      const down = run.sizes.leafDownMs;

      // 1. The link down, the leaf up: the agency queues reports in its OUTBOX, the hub routes
      //    alerts for it that its copy cannot have yet.
      const waiting = unanswered(run);
      const cutAt = Date.now();
      await leaf.link.cut();
      run.log(`F6: link of the ${LEAF_AGENCY} leaf cut for ${seconds(down)}`);
      await delay(down);
      const queued = leafSubmissions(run, cutAt, Date.now());
      const ackedWhileDown = queued.filter((s) => s.acked !== undefined).length;
      const restoredAt = Date.now();
      await leaf.link.restore();
      run.recoveryMs.push(await answered(agent, [...waiting, ...queued], restoredAt));
      run.observations.push(
        `link down ${seconds(down)} with the leaf running: ${String(queued.length)} reports queued in its OUTBOX meanwhile, ${String(ackedWhileDown)} answered while down; all answered ${seconds(run.recoveryMs.at(-1) ?? 0)} after the link was back (${latency(queued)})`,
        await copyComplete(run, agent),
      );

      // 2. The leaf process killed and started again after the same time: nothing reaches the
      //    leaf meanwhile (its applications retry queueing the same bytes); what it had stored
      //    (OUTBOX, the copy) is on disk, fsync'd.
      run.targets.add(`leaf-${LEAF_AGENCY}`);
      const outboxBefore = await agent.outbox();
      const waitingAtKill = unanswered(run);
      const killedAt = Date.now();
      await run.cluster.stopLeaf(true);
      run.log(`F6: leaf node of ${LEAF_AGENCY} killed for ${seconds(down)}`);
      await delay(down);
      await run.cluster.startLeaf();
      const startedAt = Date.now();
      const during = leafSubmissions(run, killedAt, startedAt);
      run.recoveryMs.push(await answered(agent, [...waitingAtKill, ...during], startedAt));
      run.observations.push(
        `leaf node SIGKILLed for ${seconds(down)} (OUTBOX held ${String(outboxBefore)}, ${String(waitingAtKill.length)} unanswered): ${String(during.length)} reports started meanwhile (waiting to be queued); all answered ${seconds(run.recoveryMs.at(-1) ?? 0)} after it started again (${latency(during)})`,
        await copyComplete(run, agent),
        resends(agent),
      );
      return {
        cycles: 2,
        did: `the ${LEAF_AGENCY} leaf's link cut for ${seconds(down)} with the leaf queuing, then the leaf node SIGKILLed for ${seconds(down)} and restarted; recovery: until the hub answered everything queued meanwhile`,
      };
    },
  },
  F5: {
    fault: 'slow leaf link',
    async inject(run) {
      const agent = leafOf(run);
      const link = run.cluster.leaf?.link;
      if (link === undefined) throw new MosaicError(ErrorCode.Internal, 'no leaf link');
      // A baseline first: the leaf's submissions on the normal link.
      const window = Math.min(run.sizes.slowMs, 10_000);
      const baseline = Date.now();
      await delay(window);
      const before = leafSubmissions(run, baseline, Date.now());
      await answered(agent, before, Date.now());
      const waiting = unanswered(run);
      const counters = { ...link.counters };
      const slowAt = Date.now();
      link.shape(SLOW_LINK);
      run.log(
        `F5: leaf link slowed to ${String(SLOW_LINK.bitsPerSecond / 1000)} kbit/s, ${String(SLOW_LINK.delayMs)} ms each way, for ${seconds(run.sizes.slowMs)}`,
      );
      await delay(run.sizes.slowMs);
      const normalAt = Date.now();
      // What went through while slow (read before the backlog is released).
      const bytes = {
        up: link.counters.up - counters.up,
        down: link.counters.down - counters.down,
        reconnects: link.counters.connections - counters.connections,
      };
      link.shape(undefined);
      const slow = leafSubmissions(run, slowAt, normalAt);
      const ackedWhileSlow = slow.filter((s) => (s.acked?.at ?? Infinity) < normalAt).length;
      const rate = (n: number): string =>
        `${((n * 8) / ((normalAt - slowAt) / 1000) / 1000).toFixed(1)} kbit/s`;
      run.recoveryMs.push(await answered(agent, [...waiting, ...slow], normalAt));
      // And on the normal link again.
      const resumed = Date.now();
      await delay(window);
      const after = leafSubmissions(run, resumed, Date.now());
      await answered(agent, after, Date.now());
      run.observations.push(
        `slow for ${seconds(normalAt - slowAt)}: ${String(slow.length)} reports queued, ${String(ackedWhileSlow)} acknowledged while slow; all answered ${seconds(run.recoveryMs.at(-1) ?? 0)} after it was back to normal`,
        `queue to answer: on the normal link before: ${latency(before)}; queued while slow: ${latency(slow)}; on the normal link after: ${latency(after)}`,
        `relayed while slow: leaf→hub ${rate(bytes.up)}, hub→leaf ${rate(bytes.down)}; new link connections ${String(bytes.reconnects)}`,
        await copyComplete(run, agent),
        resends(agent),
      );
      return {
        cycles: 1,
        did: `the ${LEAF_AGENCY} leaf's link (a relay in the harness: no netem in this kernel) slowed to ${String(SLOW_LINK.bitsPerSecond / 1000)} kbit/s and ${String(SLOW_LINK.delayMs)} ms each way for ${seconds(run.sizes.slowMs)}, then back to normal; recovery: until the hub answered everything queued while slow`,
      };
    },
  },
};
