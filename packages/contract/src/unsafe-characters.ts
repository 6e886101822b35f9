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

/** The fields of a `fields` spec as pairs, made once rather than per visit. */
const FIELD_LISTS = new WeakMap<object, readonly (readonly [string, Spec])[]>();

function fieldsOf(spec: { readonly fields: Readonly<Record<string, Spec>> }) {
  let list = FIELD_LISTS.get(spec);
  if (list === undefined) {
    list = Object.entries(spec.fields);
    FIELD_LISTS.set(spec, list);
  }
  return list;
}

/** `path` is the walk's own stack, pushed and popped in place; joined only for a message. */
function walk(value: unknown, spec: Spec, path: string[]): void {
  if (spec === 'id') {
    if (typeof value === 'string' && hasUnsafeCharacters(value))
      assertSafeIdentifier(value, path.join('.'));
  } else if (spec === 'ids' || 'each' in spec) {
    const inner: Spec = spec === 'ids' ? 'id' : spec.each;
    if (Array.isArray(value))
      for (let index = 0; index < value.length; index++) {
        path.push(String(index));
        walk(value[index], inner, path);
        path.pop();
      }
  } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    for (const [key, inner] of fieldsOf(spec))
      if (Object.hasOwn(record, key)) {
        path.push(key);
        walk(record[key], inner, path);
        path.pop();
      }
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

/** Why a character is refused in free text. */
export type UnsafeTextReason = 'bidi-override' | 'unbalanced-isolate' | 'invisible';

/** An unsafe character in free text, with why it is refused. */
export interface UnsafeTextCharacter extends UnsafeCharacter {
  reason: UnsafeTextReason;
}

const ZWNJ = 0x200c;
const ZWJ = 0x200d;
const PDI = 0x2069;
const LINE_FEED = 0x0a;

/**
 * Format characters free text may hold: the directional marks (LRM, RLM, ALM), which only
 * settle the direction of neutral characters next to them, and the Arabic number signs,
 * which are visible. ZWNJ and ZWJ are allowed between two non-ASCII characters only.
 */
const TEXT_FORMAT_ALLOWED: ReadonlySet<number> = new Set([
  0x200e, 0x200f, 0x061c, 0x0600, 0x0601, 0x0602, 0x0603, 0x0604, 0x0605, 0x06dd, 0x070f, 0x0890,
  0x0891, 0x08e2,
]);

const isOverride = (c: number): boolean => c >= 0x202a && c <= 0x202e;
const isIsolateOpen = (c: number): boolean => c >= 0x2066 && c <= 0x2068;

function describe(value: string, index: number, reason: UnsafeTextReason): UnsafeTextCharacter {
  const codePoint = value.codePointAt(index) ?? 0;
  return {
    index,
    codePoint: `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`,
    reason,
  };
}

/**
 * Finds the first character that would let free text (a narrative, a note, a name) display
 * otherwise than it reads — Trojan Source: bidi embeddings and overrides (U+202A–U+202E,
 * always), isolates (U+2066–U+2068) not closed by U+2069 on the same line and U+2069 closing
 * nothing, and invisible characters (zero-width space, word joiner, BOM, tags, soft hyphen,
 * fillers, every other format character). Allowed: letters of any script, RTL included; the
 * marks LRM, RLM and ALM; balanced isolates; ZWNJ and ZWJ between two non-ASCII characters
 * (Persian, Indic scripts, emoji sequences). Control characters are left to the schema.
 *
 * @example
 * ```ts
 * findUnsafeTextCharacter('مرحبا hello'); // undefined
 * findUnsafeTextCharacter('total \u202E01 EUR'); // { index: 6, codePoint: 'U+202E', reason: 'bidi-override' }
 * ```
 */
export function findUnsafeTextCharacter(value: string): UnsafeTextCharacter | undefined {
  // No format character at all: the common case.
  if (!PATTERNS.textSuspect.test(value)) return undefined;
  const isolates: number[] = [];
  // Visits only the suspect characters and line feeds (matchAll leaves the pattern untouched).
  for (const match of value.matchAll(PATTERNS.textScan)) {
    const i = match.index;
    const c = match[0].codePointAt(0) ?? 0;
    if (c === LINE_FEED) {
      const open = isolates[0];
      if (open !== undefined) return describe(value, open, 'unbalanced-isolate');
    } else if (isOverride(c)) return describe(value, i, 'bidi-override');
    else if (isIsolateOpen(c)) isolates.push(i);
    else if (c === PDI) {
      if (isolates.pop() === undefined) return describe(value, i, 'unbalanced-isolate');
    } else if (c === ZWNJ || c === ZWJ) {
      const next = value.codePointAt(i + 1) ?? -1;
      if (codePointBefore(value, i) <= 0x7f || next <= 0x7f) return describe(value, i, 'invisible');
    } else if (!TEXT_FORMAT_ALLOWED.has(c)) return describe(value, i, 'invisible');
  }
  const open = isolates[0];
  return open === undefined ? undefined : describe(value, open, 'unbalanced-isolate');
}

/** The code point ending just before UTF-16 index `i`, or -1 at the start. */
function codePointBefore(value: string, i: number): number {
  if (i === 0) return -1;
  const last = value.charCodeAt(i - 1);
  const pair = i >= 2 && last >= 0xdc00 && last <= 0xdfff ? value.codePointAt(i - 2) : undefined;
  return pair !== undefined && pair > 0xffff ? pair : last;
}

const TEXT_REASONS: Readonly<Record<UnsafeTextReason, string>> = {
  'bidi-override': 'the bidi embedding or override',
  'unbalanced-isolate': 'the unbalanced bidi isolate',
  invisible: 'the invisible character',
};

/** Deeper than any report: what lies below is left to the schema, which refuses it anyway. */
const MAX_TEXT_DEPTH = 16;

/** `path` is the walk's own stack, pushed and popped in place: no array per visited value. */
function walkText(value: unknown, path: string[]): void {
  if (typeof value === 'string') {
    const found = findUnsafeTextCharacter(value);
    if (found === undefined) return;
    const where = path.join('.');
    throw new MosaicError(
      ErrorCode.UnsafeCharacters,
      `${where === '' ? '(root)' : where} holds ${TEXT_REASONS[found.reason]} ${found.codePoint}`,
      { details: { path: where, ...found } },
    );
  }
  if (path.length >= MAX_TEXT_DEPTH || typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      path.push(String(index));
      walkText(value[index], path);
      path.pop();
    }
    return;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    path.push(key);
    walkText(record[key], path);
    path.pop();
  }
}

/**
 * Throws ERR_UNSAFE_CHARACTERS (`details.path`, `index`, `codePoint`, `reason`) when any
 * string of a report-shaped value — narrative, notes, names, every free-text field, present
 * or future — holds a character {@link findUnsafeTextCharacter} refuses.
 *
 * @example
 * ```ts
 * assertReportTextSafe(JSON.parse(text)); // then reportSchema.parse(...)
 * ```
 */
export function assertReportTextSafe(value: unknown): void {
  walkText(value, []);
}
