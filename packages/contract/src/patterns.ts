/**
 * Every regular expression of the contract, in one place so that one test can run each
 * against adversarial input. Rules for adding one: anchor it, never nest quantifiers, and
 * never put two quantifiers over overlapping characters next to each other unless one of
 * them is bounded by a small constant — that keeps matching linear in the input length.
 */
/** E.164: `+`, then 7–15 digits, the first non-zero (phone indicators, federation contacts). */
export const E164_PATTERN = /^\+[1-9][0-9]{6,14}$/;

export const PATTERNS = {
  /** Lower-case canonical UUID, versions 1–8, RFC 9562 variant. */
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  /** Agency id: lower-case DNS-label style, so it is also a safe subject token. */
  agencyId: /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/,
  /** Shape of an ISO 3166-1 alpha-2 code; membership is checked against the list. */
  isoCountryShape: /^[A-Z]{2}$/,
  /** Federation-defined jurisdiction group (3–32 chars, so never confused with ISO codes). */
  jurisdictionGroup: /^[A-Z][A-Z0-9-]{2,31}$/,
  /** E.164: `+`, then 7–15 digits, the first non-zero. */
  e164: E164_PATTERN,
  /** Electronic IBAN form: upper case, no spaces, 15–34 characters. */
  iban: /^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$/,
  /** BIC (ISO 9362): bank, country, location, optional branch. */
  bic: /^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?$/,
  /** IMO ship number without the `IMO` prefix. */
  imo: /^[0-9]{7}$/,
  /** MMSI of a ship station: the first digit of the MID is 2–7. */
  mmsi: /^[2-7][0-9]{8}$/,
  /** Identity document number: upper case letters, digits and inner hyphens, 3–32. */
  documentNumber: /^[A-Z0-9][A-Z0-9-]{1,30}[A-Z0-9]$/,
  /** Number plate: upper case letters, digits and inner hyphens, 1–16, no spaces. */
  plate: /^[A-Z0-9](?:[A-Z0-9-]{0,14}[A-Z0-9])?$/,
  /** Online handle: 1–128 characters without white space. */
  handle: /^\S{1,128}$/u,
  /** Platform: lower-case token or domain, e.g. `telegram`, `classifieds.example`. */
  platform: /^[a-z0-9](?:[a-z0-9.-]{0,62}[a-z0-9])?$/,
  /** Company registration number, e.g. `HRB 123456`, `J40/1234/2015`. */
  registrationNumber: /^[A-Za-z0-9](?:[A-Za-z0-9 ./-]{0,62}[A-Za-z0-9])?$/,
  /** Bitcoin legacy (P2PKH `1…`) or P2SH (`3…`) base58 address; checksum verified in code. */
  bitcoinBase58: /^[13][1-9A-HJ-NP-Za-km-z]{25,34}$/,
  /** Litecoin legacy (`L…`), P2SH (`M…`, `3…`) base58 address; checksum verified in code. */
  litecoinBase58: /^[LM3][1-9A-HJ-NP-Za-km-z]{25,34}$/,
  /** Ethereum (and EVM) address; EIP-55 case is not verified (it needs Keccak-256). */
  ethereum: /^0x[0-9a-fA-F]{40}$/,
  /** Tron base58 address (`T…`); checksum verified in code. */
  tron: /^T[1-9A-HJ-NP-Za-km-z]{33}$/,
  /** Monero standard/sub-address (95) or integrated address (106); format only. */
  monero: /^[48][1-9A-HJ-NP-Za-km-z]{94}(?:[1-9A-HJ-NP-Za-km-z]{11})?$/,
  /** Any other network: printable ASCII without spaces. */
  otherAddress: /^[\x21-\x7E]{8,128}$/,
  /** Characters never allowed in an identifier (see unsafe-characters.ts). */
  unsafeCharacter: /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\u034F\u115F\u1160\u3164\uFFA0]/u,
  /**
   * Characters that may hide or reorder free text: format characters and fillers (lone
   * surrogates never get past `parseJson`). An alternation, not one class: V8 scans long
   * non-Latin text several times faster this way.
   */
  textSuspect: /\p{Cf}|[\u034F\u115F\u1160\u3164\uFFA0]/u,
  /** The same and line feeds, for scanning with `matchAll` (an isolate must close on its line). */
  textScan: /\p{Cf}|[\u034F\u115F\u1160\u3164\uFFA0\n]/gu,
  /** Characters never allowed in a NATS subject token. */
  subjectTokenForbidden: /[.*>\p{White_Space}\p{Cc}\p{Cf}\p{Cs}\u034F\u115F\u1160\u3164\uFFA0]/u,
  /** Control characters forbidden in single-line text (names, notes). */
  lineTextForbidden: /[\p{Cc}\u2028\u2029]/u,
  /** Control characters forbidden in multi-line text: all but tab and line feed. */
  multilineTextForbidden: /[^\P{Cc}\t\n]|[\u2028\u2029]/u,
  /** A lone surrogate in a JavaScript string (not representable in UTF-8). */
  loneSurrogate: /\p{Cs}/u,
} as const satisfies Record<string, RegExp>;
