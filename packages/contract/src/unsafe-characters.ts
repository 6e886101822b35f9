import { ErrorCode, MosaicError } from '@mosaic/errors';
import { PATTERNS } from './patterns.ts';

/** Where an unsafe character sits in a string. */
export interface UnsafeCharacter {
  /** UTF-16 index in the string. */
  index: number;
  /** Code point as `U+XXXX`. */
  codePoint: string;
}

/**
 * Finds the first character that must never appear in an identifier: control characters
 * (C0, DEL, C1), every format character (bidi embeddings, overrides, isolates and marks,
 * zero-width space/joiners, BOM, word joiner, soft hyphen, tag characters…), lone
 * surrogates, line/paragraph separators, and fillers that render as nothing.
 *
 * @example
 * ```ts
 * findUnsafeCharacter('nl-police'); // undefined
 * findUnsafeCharacter('nl-\u202Epolice'); // { index: 3, codePoint: 'U+202E' }
 * ```
 */
export function findUnsafeCharacter(value: string): UnsafeCharacter | undefined {
  const match = PATTERNS.unsafeCharacter.exec(value);
  if (match === null) return undefined;
  const codePoint = match[0].codePointAt(0) ?? 0;
  return {
    index: match.index,
    codePoint: `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`,
  };
}

/**
 * True when `value` holds a character that is unsafe in an identifier.
 *
 * @example
 * ```ts
 * hasUnsafeCharacters('de-bka\u200B'); // true: zero-width space
 * ```
 */
export function hasUnsafeCharacters(value: string): boolean {
  return PATTERNS.unsafeCharacter.test(value);
}

/**
 * Throws ERR_UNSAFE_CHARACTERS when the identifier `value` (found at `path`) holds an
 * unsafe character.
 *
 * @example
 * ```ts
 * assertSafeIdentifier(header.kid, 'kid');
 * ```
 */
export function assertSafeIdentifier(value: string, path: string): void {
  const found = findUnsafeCharacter(value);
  if (found !== undefined)
    throw new MosaicError(
      ErrorCode.UnsafeCharacters,
      `${path} holds the invisible or control character ${found.codePoint}`,
      { details: { path, ...found } },
    );
}

/** Which fields hold identifiers: a string, an array of strings, an array of objects, an object. */
type Spec =
  'id' | 'ids' | { readonly each: Spec } | { readonly fields: Readonly<Record<string, Spec>> };

const RELEASE: Spec = { fields: { jurisdictions: 'ids', agencies: 'ids' } };

/** Identifier fields of every indicator type (free-text fields are deliberately absent). */
const INDICATOR_IDENTIFIERS: Spec = {
  fields: {
    type: 'id',
    nationality: 'id',
    gender: 'id',
    role: 'id',
    number: 'id',
    address: 'id',
    handle: 'id',
    platform: 'id',
    documentType: 'id',
    issuingCountry: 'id',
    plate: 'id',
    country: 'id',
    imo: 'id',
    mmsi: 'id',
    flag: 'id',
    iban: 'id',
    bic: 'id',
    network: 'id',
    registrationNumber: 'id',
    place: { fields: { country: 'id' } },
  },
};

/** The identifier fields of a report, checked before the schema so they get their own code. */
const REPORT_IDENTIFIERS: Spec = {
  fields: {
    schemaVersion: 'id',
    reportId: 'id',
    issuer: 'id',
    origin: 'id',
    jurisdictions: 'ids',
    category: 'id',
    indicators: { each: INDICATOR_IDENTIFIERS },
    handling: { fields: { tlp: 'id', releasableTo: RELEASE, notReleasableTo: RELEASE } },
    lineage: { fields: { supersedes: 'ids', retracts: 'id', relatesTo: 'ids' } },
  },
};

function walk(value: unknown, spec: Spec, path: readonly string[]): void {
  if (spec === 'id') {
    if (typeof value === 'string') assertSafeIdentifier(value, path.join('.'));
  } else if (spec === 'ids' || 'each' in spec) {
    const inner: Spec = spec === 'ids' ? 'id' : spec.each;
    if (Array.isArray(value))
      value.forEach((item: unknown, index) => {
        walk(item, inner, [...path, String(index)]);
      });
  } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    for (const [key, inner] of Object.entries(spec.fields))
      if (Object.hasOwn(record, key)) walk(record[key], inner, [...path, key]);
  }
}

/**
 * Throws ERR_UNSAFE_CHARACTERS when an identifier field of a report-shaped value holds an
 * unsafe character; everything else (types, shapes) is left to the schema.
 *
 * @example
 * ```ts
 * assertReportIdentifiersSafe(JSON.parse(text)); // then reportSchema.parse(...)
 * ```
 */
export function assertReportIdentifiersSafe(value: unknown): void {
  walk(value, REPORT_IDENTIFIERS, []);
}
