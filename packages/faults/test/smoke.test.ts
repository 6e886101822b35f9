import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  checkInvariants,
  renderFaultTable,
  runFaults,
  smokeSizes,
  type CheckedSubmission,
  type FaultId,
  type InvariantReport,
} from '../src/index.ts';

// One short cycle of the node, configuration, limit and clock faults on one shared cluster (a
// cluster start is the slow part); `npm run faults` runs them at full size, each on a fresh
// cluster. F8 (a corrupted message block) is left out: on nats-server 2.15.1 it loses an
// acknowledged report, a server-side finding written up in docs/reliability.md that the full
// run reports as a failure. Faults with a setup of their own have smoke files of their own.
const smokeFaults: FaultId[] = ['F1', 'F2', 'F3', 'F10', 'F7', 'F9'];

describe('fault injection, smoke run', () => {
  it('every fault once: nothing acknowledged lost, alerts exactly as route() entitles, audit intact, no other process crashed; the checker fails on data that breaks each invariant', async () => {
    const lines: string[] = [];
    let sabotaged: InvariantReport | undefined;
    const results = await runFaults(smokeFaults, {
      sizes: smokeSizes,
      shared: true,
      log: (line) => lines.push(line),
      // After the first fault: the same check, given a lost ack, a report whose routing the
      // hub did not follow, an alert its subscriber never got, a crashed process and a
      // subscription that ended.
      inspect: async ({ id, checked }) => {
        if (id !== smokeFaults[0]) return;
        const submissions = [...checked.submissions];
        const stored = submissions.find((s) => s.ackedSeq !== undefined);
        if (stored === undefined) throw new Error('nothing acknowledged');
        const phantom: CheckedSubmission = {
          ...stored,
          reportId: randomUUID(),
          ackedSeq: 1,
        };
        const rerouted: CheckedSubmission = {
          ...stored,
          report: { ...stored.report, handling: { ...stored.report.handling, tlp: 'RED' } },
        };
        const received = new Map(
          [...checked.received].map(([agency, ids]) => [agency, new Map(ids)]),
        );
        const [agency, ids] = [...received].find(([, m]) => m.size > 0) ?? [];
        const dropped = [...(ids?.keys() ?? [])][0];
        if (agency === undefined || dropped === undefined) throw new Error('no alert handed');
        ids?.delete(dropped);
        sabotaged = await checkInvariants({
          ...checked,
          submissions: [...submissions.filter((s) => s !== stored), rerouted, phantom],
          received,
          crashed: ['router (pid 1, SIGSEGV)'],
          subscriptionsEnded: ['nl-police: reading alerts failed: leadership change'],
          deliveryTimeoutMs: 1_000,
        });
        expect(sabotaged.lost).toEqual([phantom.reportId]);
        expect(sabotaged.alerts.unexpected.length).toBeGreaterThan(0);
        expect(sabotaged.undelivered).toContain(dropped);
      },
    });
    const table = renderFaultTable(results);
    expect(
      results.map((r) => r.id),
      lines.join('\n'),
    ).toEqual(smokeFaults);
    for (const r of results) {
      expect(r.error, `${r.id}: ${lines.join('\n')}`).toBeUndefined();
      expect(r.check?.violations, `${r.id}\n${table}`).toEqual([]);
      expect(r.verdict).toBe('pass');
      expect(r.acked).toBeGreaterThan(0);
      expect(r.lost).toBe(0);
      expect(r.recoveryMs.length).toBe(r.cycles);
    }
    expect(sabotaged?.ok).toBe(false);
    expect(sabotaged?.violations.map((v) => v.split(':')[0])).toEqual(
      expect.arrayContaining([
        'acknowledged but not in REPORTS',
        'alerts route() does not entitle',
        'alerts their subscriber was never handed',
        'processes that were not the target ended',
        'subscriptions that ended instead of riding the fault out',
      ]),
    );
  }, 900_000);
});
