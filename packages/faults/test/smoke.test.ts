import { describe, expect, it } from 'vitest';
import { FaultIds, renderFaultTable, runFaults, smokeSizes } from '../src/index.ts';

// One short cycle of every fault on one shared cluster (a cluster start is the slow part);
// `npm run faults` runs them at full size, each on a fresh cluster.
describe('fault injection, smoke run', () => {
  it('every fault once: nothing acknowledged lost, alerts exactly as route() entitles, audit intact, no other process crashed', async () => {
    const lines: string[] = [];
    const results = await runFaults(FaultIds, {
      sizes: smokeSizes,
      shared: true,
      log: (line) => lines.push(line),
    });
    const table = renderFaultTable(results);
    expect(
      results.map((r) => r.id),
      lines.join('\n'),
    ).toEqual([...FaultIds]);
    for (const r of results) {
      expect(r.error, `${r.id}: ${lines.join('\n')}`).toBeUndefined();
      expect(r.check?.violations, `${r.id}\n${table}`).toEqual([]);
      expect(r.verdict).toBe('pass');
      expect(r.acked).toBeGreaterThan(0);
      expect(r.lost).toBe(0);
      expect(r.recoveryMs.length).toBe(r.cycles);
    }
  }, 600_000);
});
