import { describe, expect, it } from 'vitest';
import { isMosaicError } from '@mosaic/errors';
import { QuotaLedger } from '../src/index.ts';

const NOON = Date.parse('2026-03-14T12:00:00Z');

function clock(start: number) {
  let now = start;
  return { now: () => now, set: (at: number) => (now = at) };
}

describe('QuotaLedger', () => {
  it('refuses a batch that would exceed the quota before evaluating anything', () => {
    const time = clock(NOON);
    const ledger = new QuotaLedger({ perDay: 10, now: time.now });
    let evaluations = 0;
    const evaluate = (n: number) => () => (evaluations += n);
    ledger.run('nl-police', 6, evaluate(6));
    let refusal: unknown;
    try {
      ledger.run('nl-police', 5, evaluate(5));
    } catch (err) {
      refusal = err;
    }
    expect(evaluations).toBe(6);
    expect(isMosaicError(refusal, 'ERR_QUOTA_EXCEEDED')).toBe(true);
    expect((refusal as { details: unknown }).details).toEqual({
      agency: 'nl-police',
      quota: 10,
      used: 6,
      requested: 5,
      resetsAt: '2026-03-15T00:00:00.000Z',
    });
    expect(ledger.used('nl-police')).toBe(6);
    ledger.run('nl-police', 4, evaluate(4));
    expect(evaluations).toBe(10);
  });

  it('counts each agency apart, with its own quota', () => {
    const ledger = new QuotaLedger({ perDay: 2, perAgency: { 'de-bka': 5 }, now: () => NOON });
    ledger.charge('de-bka', 5);
    ledger.charge('ro-dicot', 2);
    expect(ledger.used('de-bka')).toBe(5);
    expect(() => {
      ledger.charge('ro-dicot', 1);
    }).toThrow(/daily quota of 2/);
    expect(() => {
      ledger.charge('de-bka', 1);
    }).toThrow(/daily quota of 5/);
  });

  it('starts again at UTC midnight', () => {
    const time = clock(Date.parse('2026-03-14T23:59:59.999Z'));
    const ledger = new QuotaLedger({ perDay: 3, now: time.now });
    ledger.charge('nl-police', 3);
    expect(() => {
      ledger.charge('nl-police', 1);
    }).toThrow(/quota/);
    time.set(Date.parse('2026-03-15T00:00:00Z'));
    expect(ledger.used('nl-police')).toBe(0);
    ledger.charge('nl-police', 3);
    expect(ledger.used('nl-police')).toBe(3);
  });

  it('refuses a count that is not a non-negative integer', () => {
    const ledger = new QuotaLedger({ perDay: 3, now: () => NOON });
    for (const count of [-1, 1.5, Number.NaN])
      expect(() => {
        ledger.charge('nl-police', count);
      }).toThrow(/non-negative integer/);
    expect(ledger.used('nl-police')).toBe(0);
  });
});
