/**
 * `related` against a brute-force reference: over random histories of reports (issuer,
 * selectors, recipients), each recipient's list names exactly the earlier reports sharing a
 * selector that it received or issued — never one it was not entitled to — the most recent
 * `MAX_RELATED`, oldest first.
 */
import { MAX_RELATED } from '@mosaic/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { relatedFor, type RelatedCandidate } from '../src/related.ts';

const AGENCIES = ['nl-police', 'ro-dicot', 'de-bka', 'be-fedpol', 'fr-ocrteh'] as const;
const SELECTORS = ['phone:a', 'phone:b', 'iban:c', 'email:d', 'imo:e'] as const;

interface Stored {
  issuer: string;
  reportId: string;
  seq: number;
  selectors: ReadonlySet<string>;
  recipients: ReadonlySet<string>;
}

const history = fc
  .array(
    fc.record({
      issuer: fc.constantFrom(...AGENCIES),
      selectors: fc.subarray([...SELECTORS], { minLength: 1 }),
      recipients: fc.subarray([...AGENCIES]),
    }),
    { minLength: 1, maxLength: 60 },
  )
  .map((reports) =>
    reports.map((r, i): Stored => ({
      issuer: r.issuer,
      reportId: `r${i}`,
      seq: i + 1,
      selectors: new Set(r.selectors),
      // The policy never sends a report back to its issuer.
      recipients: new Set(r.recipients.filter((a) => a !== r.issuer)),
    })),
  );

/** What the router hands `relatedFor`: every earlier report sharing a selector (via the index). */
function candidatesOf(reports: readonly Stored[], routed: Stored): RelatedCandidate[] {
  return reports
    .filter((s) => s.seq < routed.seq)
    .flatMap((s) => {
      const shared = [...s.selectors].filter((x) => routed.selectors.has(x));
      if (shared.length === 0) return [];
      return [
        {
          issuer: s.issuer,
          reportId: s.reportId,
          seq: s.seq,
          kinds: new Set(shared.map((x) => x.slice(0, x.indexOf(':')))),
          recipients: s.recipients,
        },
      ];
    });
}

describe('related reports of an alert', () => {
  it('match a brute-force reference and never name a report the recipient does not hold', () => {
    fc.assert(
      fc.property(
        history,
        fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 64 }),
        (reports, order) => {
          for (const routed of reports)
            for (const recipient of routed.recipients) {
              // The index hands candidates in any order.
              const candidates = candidatesOf(reports, routed);
              const shuffled = candidates
                .map((c, i) => ({ c, k: order[i % Math.max(order.length, 1)] ?? i }))
                .sort((a, b) => a.k - b.k)
                .map((x) => x.c);
              const got = relatedFor(recipient, shuffled);
              const holds = (s: Stored): boolean =>
                s.issuer === recipient || s.recipients.has(recipient);
              const expected = reports
                .filter(
                  (s) =>
                    s.seq < routed.seq &&
                    holds(s) &&
                    [...s.selectors].some((x) => routed.selectors.has(x)),
                )
                .slice(-MAX_RELATED);
              expect(got.map((r) => r.seq)).toEqual(expected.map((s) => s.seq));
              for (const r of got) {
                const s = reports[r.seq - 1]!;
                expect(holds(s), `${recipient} does not hold ${s.reportId}`).toBe(true);
                expect(r).toMatchObject({ issuer: s.issuer, reportId: s.reportId });
                expect(
                  r.kinds.every((k) => [...s.selectors].some((x) => x.startsWith(`${k}:`))),
                ).toBe(true);
              }
            }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('stops at the most recent MAX_RELATED', () => {
    const candidates: RelatedCandidate[] = Array.from({ length: MAX_RELATED + 5 }, (_, i) => ({
      issuer: 'ro-dicot',
      reportId: `r${i}`,
      seq: i + 1,
      kinds: new Set(['phone']),
      recipients: new Set(['nl-police']),
    }));
    const got = relatedFor('nl-police', candidates);
    expect(got).toHaveLength(MAX_RELATED);
    expect(got[0]!.seq).toBe(6);
    expect(relatedFor('de-bka', candidates)).toEqual([]);
  });
});
