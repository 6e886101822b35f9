import { Streams, alertsConsumer } from '@mosaic/protocol';
import { describe, expect, it } from 'vitest';
import { FaultCluster, type FaultNode } from '../src/cluster.ts';
import { checkInvariants } from '../src/invariants.ts';
import { Load } from '../src/load.ts';
import { delay, recovery, replicasCurrent, until, untilAcked } from '../src/run.ts';

// The SDK's `subscribe` with `follow` promises to ride out a failover within its reconnect
// timeout. Here every agency follows its alerts (the fault load's subscribers) on `hub
// init`'s three nodes while the leaders of one agency's consumer and of ALERTS are killed
// and restarted and both leaderships are stepped down: no subscription may end, every
// stored alert must reach its subscriber, and none may be handed over twice.
//
// First the case that ended subscriptions in the fault runs: an alert in the handler while
// the consumer's leadership changes (its pull ends with 409 "Leadership Change") and its
// acknowledgement then goes unanswered (sent to the new leader while it is paused).

describe('subscribe across a failover', () => {
  it('keeps following through the consumer leader and the ALERTS leader killed and restarted, and both stepped down: nothing missed, nothing handed twice, the subscription never ends', async () => {
    await using cluster = await FaultCluster.start();
    // Armed: the next nl-police alert is held in the handler until released.
    let hold: { held: () => void; release: Promise<void> } | undefined;
    const load = new Load(cluster, {
      onAlert: async (agency) => {
        const h = agency === 'nl-police' ? hold : undefined;
        if (h === undefined) return;
        hold = undefined;
        h.held();
        await h.release;
      },
    });
    const consumer = alertsConsumer('nl-police');
    const did: string[] = [];
    const handedSince = (t: number): number =>
      [...load.received.values()].reduce((n, m) => n + m.size, 0) - t;
    const killAndRestart = async (node: FaultNode, why: string): Promise<void> => {
      const t0 = Date.now();
      const before = handedSince(0);
      await cluster.killNode(node);
      await delay(1_000);
      await cluster.startNodes([node]);
      await recovery(load, t0);
      await replicasCurrent(cluster);
      // Alerts keep arriving after the node is back, on the same subscriptions.
      await until('alerts handed after the restart', () =>
        Promise.resolve(handedSince(before) > 0 ? true : undefined),
      );
      did.push(`killed ${node.name} (${why})`);
    };
    try {
      await load.connect();
      load.publish();
      await untilAcked(load, 20);

      let release = (): void => undefined;
      const held = new Promise<void>((resolve) => {
        hold = { held: resolve, release: new Promise<void>((r) => (release = r)) };
      });
      await until('an nl-police alert held in the handler', async () => {
        await Promise.race([held, delay(1_000)]);
        return hold === undefined ? true : undefined;
      });
      did.push(
        `alert held; ${consumer} stepped down: ${await cluster.stepDownConsumer(Streams.Alerts, consumer)}`,
      );
      const paused = cluster.node(await cluster.consumerLeader(Streams.Alerts, consumer));
      cluster.signalNode(paused, 'SIGSTOP');
      try {
        release();
        // The acknowledgement waits 5 s for an answer; a newer leader is elected in 4-9 s.
        await delay(12_000);
      } finally {
        cluster.signalNode(paused, 'SIGCONT');
      }
      did.push(`its new leader ${paused.name} paused 12 s while the alert was acknowledged`);
      await replicasCurrent(cluster);

      await killAndRestart(
        cluster.node(await cluster.consumerLeader(Streams.Alerts, consumer)),
        `leader of ${consumer}`,
      );
      await killAndRestart(cluster.node(await cluster.leader(Streams.Alerts)), 'ALERTS leader');
      did.push(
        `${consumer} stepped down: ${await cluster.stepDownConsumer(Streams.Alerts, consumer)}`,
      );
      const alertsLeader = await cluster.leader(Streams.Alerts);
      const other = cluster.nodes.find((n) => n.name !== alertsLeader)?.name ?? alertsLeader;
      did.push(`ALERTS stepped down: ${await cluster.moveLeader(Streams.Alerts, other)}`);
      await untilAcked(load, load.acked().length + 20);
      await load.pausePublishing();
      const { jsm } = await cluster.hub();
      const check = await checkInvariants({
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
        crashed: cluster.unexpectedExits.map((e) => `${e.name} (pid ${String(e.pid)})`),
        subscriptionsEnded: load.subscriptionsEnded.map((e) => `${e.agency}: ${e.error}`),
      });
      const context = did.join('; ');
      expect(load.subscriptionsEnded, context).toEqual([]);
      expect(check.violations, context).toEqual([]);
      expect(check.undelivered).toEqual([]);
      expect(load.handedAgain, context).toEqual([]);
      expect([...(load.received.get('nl-police')?.values() ?? [])].length).toBeGreaterThan(0);
      expect(did).toHaveLength(6);
    } finally {
      await load.stop();
    }
  }, 900_000);
});
