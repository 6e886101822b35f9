import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IBAN_LENGTHS, ibanCheckDigits, isValidIban } from '../src/index.ts';

const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const countries = Object.keys(IBAN_LENGTHS);

/** Any IBAN of a registry country with computed check digits. */
const validIban = fc.constantFrom(...countries).chain((country) =>
  fc
    .array(fc.constantFrom(...Array.from(ALNUM)), {
      minLength: IBAN_LENGTHS[country]! - 4,
      maxLength: IBAN_LENGTHS[country]! - 4,
    })
    .map((chars) => {
      const bban = chars.join('');
      return `${country}${ibanCheckDigits(country, bban)}${bban}`;
    }),
);

describe('isValidIban', () => {
  it.each([
    'NL91ABNA0417164300',
    'DE89370400440532013000',
    'GB29NWBK60161331926819',
    'RO49AAAA1B31007593840000',
    'NO9386011117947',
    'LC55HEMM000100010012001200023015',
    'RU0204452560040702810412345678901',
    'FR1420041010050500013M02606',
  ])('accepts %s', (iban) => {
    expect(isValidIban(iban)).toBe(true);
  });

  it.each([
    ['wrong check digits', 'NL92ABNA0417164300'],
    ['spaces', 'NL91 ABNA 0417 1643 00'],
    ['lower case', 'nl91abna0417164300'],
    ['too long for the country', 'NL91ABNA04171643000'],
    ['too short for the country', 'DE8937040044053201300'],
    ['country without IBANs', 'US12345678901234567890'],
    ['letters as check digits', 'NLXXABNA0417164300'],
    ['empty', ''],
  ])('rejects %s', (_name, iban) => {
    expect(isValidIban(iban)).toBe(false);
  });

  it('has a length between 15 and 34 for every country', () => {
    for (const length of Object.values(IBAN_LENGTHS)) {
      expect(length).toBeGreaterThanOrEqual(15);
      expect(length).toBeLessThanOrEqual(34);
    }
  });

  it('accepts any IBAN built with computed check digits', () => {
    fc.assert(
      fc.property(validIban, (iban) => {
        expect(isValidIban(iban)).toBe(true);
      }),
    );
  });

  // MOD 97-10 detects every substitution and transposition within digits or within letters;
  // a letter (two digits once expanded) against a digit is caught only 96 times in 97.
  const sameClass = (a: string, b: string) => /\d/.test(a) === /\d/.test(b);

  it('rejects any single-character substitution by a character of the same class', () => {
    fc.assert(
      fc.property(validIban, fc.nat(), fc.constantFrom(...Array.from(ALNUM)), (iban, at, char) => {
        const i = 2 + (at % (iban.length - 2)); // the country code is covered by the length table
        fc.pre(iban[i] !== char && sameClass(iban[i]!, char));
        expect(isValidIban(iban.slice(0, i) + char + iban.slice(i + 1))).toBe(false);
      }),
    );
  });

  it('rejects any transposition of two adjacent different characters of the same class', () => {
    fc.assert(
      fc.property(validIban, fc.nat(), (iban, at) => {
        const i = 4 + (at % (iban.length - 5));
        fc.pre(iban[i] !== iban[i + 1] && sameClass(iban[i]!, iban[i + 1]!));
        const swapped = iban.slice(0, i) + iban[i + 1]! + iban[i]! + iban.slice(i + 2);
        expect(isValidIban(swapped)).toBe(false);
      }),
    );
  });
});
