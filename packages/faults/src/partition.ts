import { Streams } from '@mosaic/protocol';
import type { FaultNode } from './cluster.ts';
import { ackRate, delay, pick, recovery, replicasCurrent, until, type Injector } from './run.ts';

/** The partition fault: the cluster's nodes in network namespaces (`namespaces: true`). */
export const partitionInjectors = {
  F4: {
    fault: 'partition',
    namespaces: true,
    async inject(run) {
      const cut: string[] = [];
      const dips: string[] = [];
      const catchUp: number[] = [];
      const elected: string[] = [];
      for (let cycle = 0; cycle < run.sizes.cycles; cycle++) {
        // The REPORTS leader every other cycle (the first included), else any node.
        const leader = await run.cluster.leader(Streams.Reports);
        const victim: FaultNode =
          cycle % 2 === 0 ? run.cluster.node(leader) : pick(run.cluster.nodes);
        const t0 = Date.now();
        await run.cluster.cutOff(victim);
        run.log(`F4: ${victim.name}${victim.name === leader ? ' (REPORTS leader)' : ''} cut off`);
        let healed: number;
        try {
          // A leader cut off is replaced by the two nodes that still reach each other.
          if (victim.name === leader) {
            const next = await until(
              'a new REPORTS leader while the leader is cut off',
              async () => {
                const now = await run.cluster.leader(Streams.Reports);
                return now === leader ? undefined : now;
              },
              run.sizes.partitionMs + 60_000,
              250,
            );
            elected.push(`${next} after ${String(Date.now() - t0)} ms`);
          }
          run.recoveryMs.push(await recovery(run.load, t0));
          run.log(`F4: acknowledging again after ${String(Date.now() - t0)} ms`);
          const left = run.sizes.partitionMs - (Date.now() - t0);
          if (left > 0) await delay(left);
        } finally {
          await run.cluster.reconnect(victim);
          healed = Date.now();
        }
        const after = await run.cluster.leader(Streams.Reports);
        cut.push(
          `${victim.name}${victim.name === leader ? ' (leader)' : ''}, REPORTS led by ${after} after`,
        );
        dips.push(
          `${String(ackRate(run.load, t0 - 10_000, t0))}→${String(ackRate(run.load, t0, healed))}`,
        );
        await replicasCurrent(run.cluster);
        catchUp.push(Date.now() - healed);
        run.log(
          `F4: ${victim.name} healed, replicas current after ${String(Date.now() - healed)} ms`,
        );
      }
      run.observations.push(
        `cut off: ${cut.join('; ')}`,
        `new REPORTS leader while the leader was cut off: ${elected.join(', ')}`,
        `acknowledged per second in the 10 s before the cut → while cut off: ${dips.join(', ')}`,
        `replicas current again after healing: ${catchUp.map((ms) => `${String(ms)} ms`).join(', ')}`,
      );
      return {
        cycles: run.sizes.cycles,
        did: `one node in its own network namespace cut off (its veth link down: no other node, no client reaches it) for ${String(run.sizes.partitionMs / 1000)} s, the REPORTS leader every other cycle; healed, then wait until its replicas are current`,
      };
    },
  },
} satisfies Record<string, { fault: string; namespaces: boolean; inject: Injector }>;
