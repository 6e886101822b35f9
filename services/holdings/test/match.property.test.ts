/**
 * Hit naming against a brute-force reference: for any registry (hit policies naming known,
 * unknown or no agencies; holders and askers in it or not), any holdings and any check, the
 * asker is told a holder's name exactly when the holder's hit policy lists the asker and
 * both are in the registry; every other holder with a match is notified, unnamed; an
 * agency's own holdings never count.
 */
import type { Agency } from '@mosaic/federation';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HoldingsIndex } from '../src/holdings-index.ts';
import { matchTokens } from '../src/match.ts';

const IDS = ['a', 'b', 'c', 'd', 'ghost'] as const;
const id = fc.constantFrom(...IDS);
const token = fc.constantFrom(...['A', 'B', 'C', 'D'].map((c) => c.repeat(86)));

const world = fc.record({
  // `ghost` is never in the registry: it may hold (a stale holding) and ask.
  registered: fc.subarray(['a', 'b', 'c', 'd'], { minLength: 0 }),
  policies: fc.dictionary(
    id,
    fc.option(fc.uniqueArray(id, { minLength: 1, maxLength: 5 }), { nil: undefined }),
  ),
  holdings: fc.array(
    fc.record({ holder: id, token, reference: fc.stringMatching(/^[a-z0-9-]{1,12}$/) }),
    { maxLength: 30 },
  ),
  asker: id,
  checked: fc.array(token, { minLength: 1, maxLength: 6 }),
});

describe('matchTokens', () => {
  it('never names a holder its hit policy does not allow, and notifies every other holder', () => {
    fc.assert(
      fc.property(world, ({ registered, policies, holdings, asker, checked }) => {
        const agencies = new Map<string, Pick<Agency, 'id' | 'hitPolicy'>>(
          registered.map((a) => {
            const nameTo = policies[a];
            return [a, nameTo === undefined ? { id: a } : { id: a, hitPolicy: { nameTo } }];
          }),
        );
        const registry = { agency: (x: string) => agencies.get(x) };
        const index = new HoldingsIndex();
        // A later registration of the same token by the same holder replaces the earlier.
        const last = new Map<string, (typeof holdings)[number]>();
        for (const h of holdings) {
          index.set(h.holder, h.token, {
            kind: 'phone',
            reference: h.reference,
            set: 's',
            registeredAt: '2026-01-01T00:00:00.000Z',
          });
          last.set(`${h.holder}|${h.token}`, h);
        }
        const stored = [...last.values()];

        const { results, perHolder } = matchTokens(index, registry, asker, checked);

        const mayName = (holder: string): boolean =>
          holder !== asker &&
          registered.includes(asker) &&
          registered.includes(holder) &&
          (policies[holder] ?? []).includes(asker);
        checked.forEach((t, i) => {
          const others = stored.filter((h) => h.token === t && h.holder !== asker);
          const named = [...new Set(others.filter((h) => mayName(h.holder)).map((h) => h.holder))];
          const unnamed = others.some((h) => !mayName(h.holder));
          expect(results[i]).toEqual(
            others.length === 0
              ? { hit: false }
              : { hit: true, holders: named.sort(), othersNotified: unnamed },
          );
        });
        // Exactly the other holders with a match are notified, each of every matching holding.
        const expected = new Map<string, { reference: string; named: boolean }[]>();
        for (const t of checked)
          for (const h of stored.filter((s) => s.token === t && s.holder !== asker))
            expected.set(h.holder, [
              ...(expected.get(h.holder) ?? []),
              { reference: h.reference, named: mayName(h.holder) },
            ]);
        expect(
          new Map(
            [...perHolder].map(([holder, list]) => [
              holder,
              list.map(({ reference, named }) => ({ reference, named })),
            ]),
          ),
        ).toEqual(expected);
        expect(perHolder.has(asker)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});
