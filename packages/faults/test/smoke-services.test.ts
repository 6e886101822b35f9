import { describe, expect, it } from 'vitest';
import {
  SERVICE_BURST,
  readAuditChain,
  renderFaultTable,
  runFaults,
  smokeSizes,
  type AuditChain,
  type FaultId,
} from '../src/index.ts';

// One SIGKILL each of an ingest, a router and an auditor instance on one shared cluster, each
// service scaled out to two processes so the survivor carries on.
const serviceFaults: FaultId[] = ['S1', 'S2', 'S3'];

describe('fault injection, service crashes (smoke)', () => {
  it('an ingest, a router, an auditor instance SIGKILLed mid-load: nothing acknowledged lost, every alert once, audit verify passes and AUDIT is one chain', async () => {
    const lines: string[] = [];
    let chain: AuditChain | undefined;
    const results = await runFaults(serviceFaults, {
      sizes: smokeSizes,
      shared: true,
      log: (line) => lines.push(line),
      inspect: async ({ id, cluster }) => {
        if (id !== 'S3') return;
        chain = await readAuditChain((await cluster.hub()).jsm);
      },
    });
    const table = renderFaultTable(results);
    const log = lines.join('\n');
    expect(
      results.map((r) => r.id),
      log,
    ).toEqual(serviceFaults);
    for (const r of results) {
      expect(r.error, `${r.id}: ${log}`).toBeUndefined();
      expect(r.check?.violations, `${r.id}\n${table}`).toEqual([]);
      expect(r.verdict).toBe('pass');
      expect(r.acked).toBeGreaterThan(0);
      expect(r.lost).toBe(0);
      expect(r.duplicatedReports).toBe(0);
      expect(r.recoveryMs.length).toBe(r.cycles);
      // The kill landed while submissions of the burst were unanswered.
      const kill = r.observations.find((o) => o.includes('SIGKILLed with'));
      const unanswered = Number(/with (\d+) of/.exec(kill ?? '')?.[1] ?? 0);
      expect(unanswered, `${r.id}: ${r.observations.join('\n')}`).toBeGreaterThan(0);
      expect(unanswered).toBeLessThanOrEqual(SERVICE_BURST);
    }
    const [s1, s2, s3] = results;
    // Only the killed instances ended, and each was recorded as the fault's target.
    expect(s1?.observations.join('\n')).toContain('ingest-2 SIGKILLed');
    // The router's redelivered reports: stored once, every entitled alert exactly once.
    expect(s2?.check?.alerts.expected).toBeGreaterThan(0);
    expect(s2?.check?.alerts).toMatchObject({ missing: [], unexpected: [], duplicated: [] });
    expect(s2?.check?.alerts.stored).toBe(s2?.check?.alerts.expected);
    expect(s2?.duplicatedAlerts).toBe(0);
    // audit verify passes after the auditor's crash (recovered entries allowed), one chain.
    expect(s3?.check?.audit.ok, s3?.check?.audit.output).toBe(true);
    expect(chain?.entries).toBeGreaterThan(0);
    expect(chain?.breaks).toEqual([]);
    expect(chain?.unreadable).toEqual([]);
    expect(s3?.observations.join('\n')).toMatch(/one chain \(breaks: 0, unreadable: 0\)/);
  }, 900_000);
});
