import { PATTERNS } from './patterns.ts';

/**
 * The IMO check digit of the first six digits: weights 7 down to 2, last digit of the sum.
 *
 * @example
 * ```ts
 * imoCheckDigit('931245'); // 6, so 9312456 is a valid IMO number
 * ```
 */
export function imoCheckDigit(sixDigits: string): number {
  let sum = 0;
  for (let i = 0; i < 6; i++) sum += Number(sixDigits[i]) * (7 - i);
  return sum % 10;
}

/**
 * True for a 7-digit IMO ship number (canonical form: digits only, no `IMO` prefix) whose
 * last digit is the IMO check digit.
 *
 * @example
 * ```ts
 * isValidImo('9312456'); // true
 * isValidImo('IMO 9312456'); // false: store the digits only
 * ```
 */
export function isValidImo(imo: string): boolean {
  return PATTERNS.imo.test(imo) && imoCheckDigit(imo) === Number(imo[6]);
}

/**
 * True for the 9-digit MMSI of a ship station (MID starting with 2–7). MMSIs of coast
 * stations, SAR aircraft and AIS devices are not vessel identifiers and are refused.
 *
 * @example
 * ```ts
 * isValidMmsi('244123456'); // true (MID 244: the Netherlands)
 * isValidMmsi('002441234'); // false: a coast station
 * ```
 */
export function isValidMmsi(mmsi: string): boolean {
  return PATTERNS.mmsi.test(mmsi);
}
