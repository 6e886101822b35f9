import { describe, expect, it } from 'vitest';
import { renderFaultTable, runFaults, smokeSizes, type FaultId } from '../src/index.ts';

// F6 (the leaf's link down, then the leaf node killed) and F5 (the leaf's link slowed) once
// each, short, on one cluster where de-bka connects through a leaf node of its own: it
// queues its reports in the leaf's OUTBOX (acknowledged when the hub's answer says ok) and
// reads its alerts from the leaf's copy. The shared checker covers it like every agency.
const leafFaults: FaultId[] = ['F6', 'F5'];
const LEAF = 'de-bka';

/** The number a pattern captures in one of the observations. */
function figure(observations: readonly string[], pattern: RegExp): number {
  for (const line of observations) {
    const m = pattern.exec(line);
    if (m?.[1] !== undefined) return Number(m[1]);
  }
  throw new Error(`no observation matches ${String(pattern)}:\n${observations.join('\n')}`);
}

describe('fault injection, smoke run of the leaf faults', () => {
  it('a leaf outage and a slow leaf link: every queued report answered, nothing lost or duplicated, the leaf copy complete', async () => {
    const lines: string[] = [];
    const leafAcked = new Map<FaultId, number>();
    const results = await runFaults(leafFaults, {
      sizes: smokeSizes,
      shared: true,
      log: (line) => lines.push(line),
      inspect: ({ id, checked }) => {
        leafAcked.set(
          id,
          [...checked.submissions].filter((s) => s.issuer === LEAF && s.ackedSeq !== undefined)
            .length,
        );
        return Promise.resolve();
      },
    });
    const table = renderFaultTable(results);
    expect(
      results.map((r) => r.id),
      lines.join('\n'),
    ).toEqual(leafFaults);
    for (const r of results) {
      expect(r.error, `${r.id}: ${lines.join('\n')}`).toBeUndefined();
      expect(r.check?.violations, `${r.id}\n${table}`).toEqual([]);
      expect(r.verdict).toBe('pass');
      expect(r.acked).toBeGreaterThan(0);
      expect(r.lost).toBe(0);
      expect(r.duplicatedReports).toBe(0);
      expect(r.duplicatedAlerts).toBe(0);
      expect(r.recoveryMs.length).toBe(r.cycles);
      // The leaf's copy was checked against the hub: complete, or repaired and said so.
      expect(r.observations.join('\n')).toMatch(
        /checkLeafAlerts: the leaf copy (held all \d+ alerts|still lacked \d+ alerts .* repaired \d+)/,
      );
      // No submission was answered twice with different answers (a resend's answer names
      // the same stored sequence, `duplicate: true`).
      expect(figure(r.observations, /submissions answered twice differently: (\d+)/)).toBe(0);
    }
    // The leaf agency's acknowledgements are the hub's answers to its queued submissions.
    expect(leafAcked.get('F6')).toBeGreaterThan(0);
    const [f6, f5] = results;
    // F6: reports queued while the link was down, none answered until it was back.
    expect(
      figure(f6?.observations ?? [], /(\d+) reports queued in its OUTBOX meanwhile/),
    ).toBeGreaterThan(0);
    expect(figure(f6?.observations ?? [], /(\d+) answered while down/)).toBe(0);
    expect(f6?.cycles).toBe(2);
    // F5: reports queued while the link was slow, each acknowledged (slowly).
    expect(
      figure(f5?.observations ?? [], /slow for [\d.]+ s: (\d+) reports queued/),
    ).toBeGreaterThan(0);
    expect(leafAcked.get('F5')).toBeGreaterThan(leafAcked.get('F6') ?? 0);
  }, 900_000);
});
