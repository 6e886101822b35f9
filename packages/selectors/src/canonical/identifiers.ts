import { isValidImo, isValidMmsi } from '@mosaic/contract';
import { SelectorKind } from '../kinds.ts';
import { assertContractAccepts, invalidSelector, spelling } from './invalid.ts';

/**
 * An IBAN in electronic form: an `IBAN` prefix and all white space and hyphens dropped
 * (the print form groups by four), upper case, then the contract's IBAN check (country,
 * length, MOD 97-10).
 */
export function canonicalIban(value: string): string {
  const kind = SelectorKind.Iban;
  const iban = spelling(kind, value)
    .replace(/^IBAN:?/i, '')
    .replace(/[\s-]/g, '')
    .toUpperCase();
  assertContractAccepts(kind, { type: 'financial-account', iban });
  return iban;
}

/** Separators people write inside document numbers; none is ever part of one. */
const DOCUMENT_SEPARATORS = /[\s\-<./]/g;

/**
 * `<issuing country>:<number>`: the country as an upper-case ISO 3166-1 code, the number
 * upper case without separators — spaces, hyphens, dots, slashes and the `<` filler of the
 * machine-readable zone: ICAO 9303 writes document numbers with letters and digits only.
 * The document type is deliberately not part of the selector: agencies classify the same
 * document differently (a national ID used as a travel document, a visa or a residence
 * permit), and the number space is the issuing country's.
 */
export function canonicalDocument(issuingCountry: string, number: string): string {
  const kind = SelectorKind.Document;
  const country = spelling(kind, issuingCountry).toUpperCase();
  const digits = spelling(kind, number).replace(DOCUMENT_SEPARATORS, '').toUpperCase();
  assertContractAccepts(kind, {
    type: 'identity-document',
    documentType: 'other',
    number: digits,
    issuingCountry: country,
  });
  return `${country}:${digits}`;
}

/** The 7 digits of an IMO ship number: an `IMO` prefix and spaces dropped, check digit verified. */
export function canonicalImo(value: string): string {
  const kind = SelectorKind.Imo;
  const imo = spelling(kind, value)
    .replace(/^IMO:?/i, '')
    .replace(/\s/g, '');
  if (!isValidImo(imo)) throw invalidSelector(kind, '7 digits with a matching check digit');
  return imo;
}

/** The 9 digits of a ship station's MMSI (MID 2–7), spaces dropped. */
export function canonicalMmsi(value: string): string {
  const kind = SelectorKind.Mmsi;
  const mmsi = spelling(kind, value)
    .replace(/^MMSI:?/i, '')
    .replace(/\s/g, '');
  if (!isValidMmsi(mmsi)) throw invalidSelector(kind, 'a 9-digit ship MMSI starting with 2–7');
  return mmsi;
}
