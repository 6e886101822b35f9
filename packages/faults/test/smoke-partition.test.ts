import { describe, expect, it } from 'vitest';
import { networkLeftovers, renderFaultTable, runFaults, smokeSizes } from '../src/index.ts';

// F4 once: the three nodes each in a network namespace of its own, the REPORTS leader cut
// off (its link down) beyond the election timeout, then healed. Needs root, as CI has.
describe('fault injection, smoke run: partition', () => {
  it('F4 once: the REPORTS leader cut off and healed, nothing acknowledged lost, invariants hold, no namespace or link of the run left', async () => {
    const lines: string[] = [];
    const seen: { prefix?: string; hosts?: string[]; during?: string[] } = {};
    const results = await runFaults(['F4'], {
      sizes: smokeSizes,
      shared: true,
      log: (line) => lines.push(line),
      inspect: async ({ cluster }) => {
        const prefix = cluster.network?.prefix ?? '';
        seen.prefix = prefix;
        seen.hosts = cluster.nodes.map((n) => new URL(n.url).hostname);
        seen.during = await networkLeftovers(prefix);
      },
    });
    const log = lines.join('\n');
    const table = renderFaultTable(results);
    expect(results.map((r) => r.id)).toEqual(['F4']);
    const [r] = results;
    expect(r?.error, log).toBeUndefined();
    expect(r?.check?.violations, `${table}\n${log}`).toEqual([]);
    expect(r?.verdict).toBe('pass');
    expect(r?.acked).toBeGreaterThan(0);
    expect(r?.lost).toBe(0);
    expect(r?.duplicatedAlerts).toBe(0);
    expect(r?.cycles).toBe(smokeSizes.cycles);
    expect(r?.recoveryMs.length).toBe(r?.cycles);
    // The first cycle cuts the REPORTS leader off.
    expect(r?.observations[0], log).toMatch(/^cut off: mosaic-n\d \(leader\)/);
    // …and the two nodes left elected another (the cut was real).
    const victim = /^cut off: (mosaic-n\d)/.exec(r?.observations[0] ?? '')?.[1] ?? '';
    const [, elected = ''] =
      /^new REPORTS leader while the leader was cut off: (mosaic-n\d) after/.exec(
        r?.observations[1] ?? '',
      ) ?? [];
    expect(elected, log).toMatch(/^mosaic-n\d$/);
    expect(elected).not.toBe(victim);
    // The nodes ran in the run's namespaces, at addresses of their own.
    const prefix = seen.prefix ?? '';
    expect(prefix).toMatch(/^mosaic-[0-9a-f]{6}$/);
    expect(seen.hosts?.every((h) => h.startsWith('10.') && h !== '127.0.0.1')).toBe(true);
    expect(new Set(seen.hosts).size).toBe(3);
    expect(seen.during).toEqual(
      expect.arrayContaining([prefix, `${prefix}-n1`, `${prefix}-n2`, `${prefix}-n3`]),
    );
    // The run removed its namespaces, veths and bridge.
    expect(await networkLeftovers(prefix)).toEqual([]);
  }, 600_000);
});
