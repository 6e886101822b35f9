import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { imoCheckDigit, isValidImo, isValidMmsi } from '../src/index.ts';

const validImo = fc
  .integer({ min: 100_000, max: 999_999 })
  .map((n) => `${n}${imoCheckDigit(String(n))}`);

describe('IMO numbers', () => {
  it('accepts the canonical 7 digits with a matching check digit', () => {
    expect(isValidImo('9074729')).toBe(true); // the example in IMO resolution A.1117(30)
    expect(isValidImo('9312456')).toBe(true);
  });

  it.each(['9074728', 'IMO9074729', 'IMO 9074729', '907472', '90747290', '907472a', ''])(
    'rejects %s',
    (imo) => {
      expect(isValidImo(imo)).toBe(false);
    },
  );

  it('computes the check digit with weights 7..2', () => {
    expect(imoCheckDigit('907472')).toBe(9); // 63+0+35+28+21+4 = 151
  });

  it('accepts every number with its computed check digit', () => {
    fc.assert(
      fc.property(validImo, (imo) => {
        expect(isValidImo(imo)).toBe(true);
      }),
    );
  });

  it('detects a single-digit change unless weight × change is a multiple of 10 (a limit of the scheme)', () => {
    fc.assert(
      fc.property(
        validImo,
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 1, max: 9 }),
        (imo, i, add) => {
          const digit = (Number(imo[i]) + add) % 10;
          const changed = imo.slice(0, i) + String(digit) + imo.slice(i + 1);
          const weight = 7 - i; // the check digit itself (i = 6) is compared directly
          const undetectable = i < 6 && (weight * add) % 10 === 0;
          expect(isValidImo(changed)).toBe(undetectable);
        },
      ),
    );
  });

  it('rejects every transposition of two different adjacent digits among the first six', () => {
    // weights differ by one, so a swap changes the sum by the digits' difference (1..9)
    fc.assert(
      fc.property(validImo, fc.integer({ min: 0, max: 4 }), (imo, i) => {
        fc.pre(imo[i] !== imo[i + 1]);
        expect(isValidImo(imo.slice(0, i) + imo[i + 1]! + imo[i]! + imo.slice(i + 2))).toBe(false);
      }),
    );
  });
});

describe('MMSI', () => {
  it.each(['244123456', '211234560', '538001234', '636012345', '725000001', '412345678'])(
    'accepts %s',
    (mmsi) => {
      expect(isValidMmsi(mmsi)).toBe(true);
    },
  );

  it.each([
    '002441234',
    '111244123',
    '970123456',
    '812345678',
    '24412345',
    '2441234567',
    '24412345a',
  ])('rejects %s', (mmsi) => {
    expect(isValidMmsi(mmsi)).toBe(false);
  });
});
