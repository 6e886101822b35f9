import { isIsoCountry } from '@mosaic/contract';
import libphonenumber from 'google-libphonenumber';
import { SelectorKind } from '../kinds.ts';
import { assertContractAccepts, invalidSelector, spelling } from './invalid.ts';

const util = libphonenumber.PhoneNumberUtil.getInstance();
const kind = SelectorKind.Phone;

/**
 * Digits with the separators people write (space, `-`, `.`, `/`, parentheses) and at most a
 * leading `+`. Letters are refused: libphonenumber would read `1-800-FLOWERS` as digits.
 */
const SPELLING = /^\+?[0-9 ()./-]+$/;

/**
 * E.164 form of a phone number. A number without `+` is read as dialled in `country`
 * (national format, or that country's international prefix such as `00`); the trunk
 * prefix written after a country code (`+44 (0)20…`) is dropped, as libphonenumber does.
 * The number must be possible for its country (length), not necessarily assigned, so an
 * update of the numbering metadata never changes which numbers are selectors.
 */
export function canonicalPhone(value: string, country?: string): string {
  const text = spelling(kind, value);
  if (!SPELLING.test(text))
    throw invalidSelector(kind, 'only digits, spaces, - . / ( ) and a leading + are allowed');
  let region = 'ZZ';
  if (country !== undefined) {
    const upper = country.trim().toUpperCase();
    if (!isIsoCountry(upper)) throw invalidSelector(kind, 'country is not an ISO 3166-1 code');
    region = upper;
  } else if (!text.startsWith('+'))
    throw invalidSelector(kind, 'a number without + needs a country to be read in');
  let parsed: libphonenumber.PhoneNumber;
  try {
    parsed = util.parse(text, region);
  } catch (err) {
    // libphonenumber throws plain Errors naming the parse failure (e.g. an unknown country code).
    throw invalidSelector(kind, err instanceof Error ? err.message : 'unparseable', err);
  }
  if (parsed.hasExtension())
    throw invalidSelector(kind, 'an extension is not part of a selector; give the line number');
  if (!util.isPossibleNumber(parsed))
    throw invalidSelector(kind, 'not a possible number for its country (length)');
  const e164 = util.format(parsed, libphonenumber.PhoneNumberFormat.E164);
  assertContractAccepts(kind, { type: 'phone', number: e164 });
  return e164;
}
