import { PATTERNS } from './patterns.ts';

/**
 * IBAN length by country: the ISO 13616 registry (SWIFT), plus the territories that the
 * registry lists under France (FR) and Finland (AX) but that banks also issue with their
 * own code. "Experimental" IBANs of countries outside the registry are not accepted.
 */
export const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AX: 18, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27,
  BL: 27, BR: 29, BY: 28, CH: 21, CR: 22, CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28,
  EE: 20, EG: 29, ES: 24, FI: 18, FK: 18, FO: 18, FR: 27, GB: 22, GE: 22, GF: 27, GI: 23,
  GL: 18, GP: 27, GR: 27, GT: 28, HN: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26,
  IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20, LV: 21, LY: 25,
  MC: 27, MD: 24, ME: 22, MF: 27, MK: 19, MN: 20, MQ: 27, MR: 27, MT: 31, MU: 30, NC: 27,
  NI: 28, NL: 18, NO: 15, OM: 23, PF: 27, PK: 24, PL: 28, PM: 27, PS: 29, PT: 25, QA: 29,
  RE: 27, RO: 24, RS: 22, RU: 33, SA: 24, SC: 31, SD: 18, SE: 24, SI: 19, SK: 24, SM: 27,
  SO: 23, ST: 25, SV: 28, TF: 27, TL: 23, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24, WF: 27,
  XK: 20, YE: 30, YT: 27,
}; // prettier-ignore

/** ISO 7064 MOD 97-10 remainder of an alphanumeric string (letters count as 10–35). */
function mod97(value: string): number {
  let remainder = 0;
  for (const char of value) {
    const code = char.charCodeAt(0);
    const n = code >= 65 ? code - 55 : code - 48;
    remainder = (n >= 10 ? remainder * 100 + n : remainder * 10 + n) % 97;
  }
  return remainder;
}

/** Why `iban` is not a valid IBAN in electronic form, or undefined when it is. */
export function ibanProblem(iban: string): string | undefined {
  if (!PATTERNS.iban.test(iban))
    return 'IBAN must be upper case letters and digits without spaces: 2-letter country, 2 check digits, then the account';
  const country = iban.slice(0, 2);
  const length = Object.hasOwn(IBAN_LENGTHS, country) ? IBAN_LENGTHS[country] : undefined;
  if (length === undefined) return `${country} does not issue IBANs`;
  if (iban.length !== length)
    return `an IBAN of ${country} has ${length} characters, not ${iban.length}`;
  if (mod97(iban.slice(4) + iban.slice(0, 4)) !== 1) return 'IBAN check digits do not match';
  return undefined;
}

/**
 * True when `iban` is a valid IBAN in electronic form (no spaces, upper case): known
 * country, exact length for that country and ISO 13616 MOD 97-10 check digits.
 *
 * @example
 * ```ts
 * isValidIban('NL91ABNA0417164300'); // true
 * isValidIban('NL91 ABNA 0417 1643 00'); // false: spaces
 * ```
 */
export function isValidIban(iban: string): boolean {
  return ibanProblem(iban) === undefined;
}

/**
 * The two check digits for `country` + `bban`, so tests and tools can build valid IBANs.
 *
 * @example
 * ```ts
 * ibanCheckDigits('NL', 'ABNA0417164300'); // '91'
 * ```
 */
export function ibanCheckDigits(country: string, bban: string): string {
  return String(98 - mod97(`${bban}${country}00`)).padStart(2, '0');
}
