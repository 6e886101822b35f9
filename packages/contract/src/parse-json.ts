import { ErrorCode, MosaicError } from '@mosaic/errors';
import { PATTERNS } from './patterns.ts';

/** Limits applied by {@link parseJson}; both default to {@link DEFAULT_JSON_LIMITS}. */
export interface JsonLimits {
  /** Largest accepted input in UTF-8 bytes. */
  maxBytes?: number;
  /** Deepest accepted nesting of objects and arrays (`[]` is depth 1). */
  maxDepth?: number;
}

export const DEFAULT_JSON_LIMITS = { maxBytes: 262_144, maxDepth: 32 } as const;

const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

type Frame =
  | { kind: 'array'; value: unknown[] }
  | { kind: 'object'; value: Record<string, unknown>; key: string };

const OPENED = Symbol('opened');
const LITERALS: readonly (readonly [string, unknown])[] = [
  ['true', true],
  ['false', false],
  ['null', null],
];

const encoder = new TextEncoder();

function utf8Length(text: string): number {
  return encoder.encode(text).length;
}

function isDigit(code: number): boolean {
  return code >= ZERO && code <= NINE;
}

const NUMBER_PARTS = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * A JSON number's exact decimal value in one spelling, `<sign><digits>e<exponent>`, with no
 * leading or trailing zeros in the digits (zero is `0e0`, unsigned): `1.50`, `15e-1` and
 * `0.15E1` all read `15e-1`.
 */
function canonicalDecimal(text: string): string {
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = NUMBER_PARTS.exec(text) ?? [];
  const significant = (whole + fraction).replace(/^0+/, '');
  if (significant === '') return '0e0';
  const digits = significant.replace(/0+$/, '');
  // An exponent too large to hold exactly denotes no finite double anyway: it only has to differ.
  const scale = Number(exponent) - fraction.length + (significant.length - digits.length);
  return `${sign}${digits}e${scale}`;
}

/**
 * True when `text` denotes exactly the decimal that `value` prints as (its shortest
 * round-trip form): no precision lost to rounding, no underflow to zero. Then a reader
 * that keeps exact decimals and one that reads doubles see the same number.
 */
function roundTrips(text: string, value: number): boolean {
  const printed = String(value);
  return text === printed || canonicalDecimal(text) === canonicalDecimal(printed);
}

function isHex(code: number): boolean {
  return isDigit(code) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66);
}

/**
 * Strict RFC 8259 parser over an already-decoded string. Iterative (an explicit stack, no
 * recursion), so no depth limit, however large, can exhaust the call stack.
 */
class Parser {
  private pos = 0;
  private readonly stack: Frame[] = [];
  private readonly text: string;
  private readonly maxDepth: number;

  constructor(text: string, maxDepth: number) {
    this.text = text;
    this.maxDepth = maxDepth;
  }

  parse(): unknown {
    for (;;) {
      let value = this.readValueOrOpen();
      if (value === OPENED) continue;
      for (;;) {
        const top = this.stack.at(-1);
        if (top === undefined) {
          this.skipWhitespace();
          if (this.pos < this.text.length)
            throw this.syntax('unexpected data after the JSON value');
          return value;
        }
        if (top.kind === 'array') top.value.push(value);
        else top.value[top.key] = value; // safe: null prototype, forbidden keys refused
        this.skipWhitespace();
        const code = this.text.charCodeAt(this.pos);
        const close = top.kind === 'array' ? CLOSE_BRACKET : CLOSE_BRACE;
        if (code === COMMA) {
          this.pos++;
          if (top.kind === 'object') this.readKey(top);
          break;
        }
        if (code !== close) throw this.syntax(`expected ',' or '${String.fromCharCode(close)}'`);
        this.pos++;
        this.stack.pop();
        value = top.value;
      }
    }
  }

  /** Reads a scalar, or opens a container (returning OPENED) unless it is empty. */
  private readValueOrOpen(): unknown {
    this.skipWhitespace();
    const code = this.text.charCodeAt(this.pos);
    if (code !== OPEN_BRACE && code !== OPEN_BRACKET) return this.readScalar(code);
    if (this.stack.length >= this.maxDepth)
      throw new MosaicError(ErrorCode.JsonDepth, `JSON nests deeper than ${this.maxDepth}`, {
        details: { limit: this.maxDepth, offset: this.byteOffset(), path: this.path() },
      });
    this.pos++;
    this.skipWhitespace();
    if (code === OPEN_BRACKET) {
      if (this.text.charCodeAt(this.pos) === CLOSE_BRACKET) {
        this.pos++;
        return [];
      }
      this.stack.push({ kind: 'array', value: [] });
      return OPENED;
    }
    const object = Object.create(null) as Record<string, unknown>;
    if (this.text.charCodeAt(this.pos) === CLOSE_BRACE) {
      this.pos++;
      return object;
    }
    const frame: Frame = { kind: 'object', value: object, key: '' };
    this.stack.push(frame);
    this.readKey(frame);
    return OPENED;
  }

  /** Reads `"key" :`, refusing forbidden and (after NFC) duplicate keys. */
  private readKey(frame: Frame & { kind: 'object' }): void {
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) !== QUOTE) throw this.syntax('expected a string key');
    const start = this.pos;
    const key = this.readString();
    if (FORBIDDEN_KEYS.has(key)) {
      this.pos = start;
      throw new MosaicError(ErrorCode.JsonForbiddenKey, `the key "${key}" is not allowed`, {
        details: { key, path: this.path(key), offset: this.byteOffset() },
      });
    }
    if (Object.hasOwn(frame.value, key)) {
      this.pos = start;
      throw new MosaicError(ErrorCode.JsonDuplicateKey, `the key "${key}" appears twice`, {
        details: { key, path: this.path(key), offset: this.byteOffset() },
      });
    }
    frame.key = key;
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) !== COLON) throw this.syntax("expected ':'");
    this.pos++;
  }

  private readScalar(code: number): unknown {
    if (code === QUOTE) return this.readString();
    if (code === MINUS || isDigit(code)) return this.readNumber();
    for (const [word, value] of LITERALS)
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    throw this.syntax(Number.isNaN(code) ? 'unexpected end of input' : 'unexpected character');
  }

  private readNumber(): number {
    const start = this.pos;
    if (this.text.charCodeAt(this.pos) === MINUS) this.pos++;
    const first = this.text.charCodeAt(this.pos);
    if (first === ZERO) {
      this.pos++;
      if (isDigit(this.text.charCodeAt(this.pos)))
        throw this.syntax('leading zeros are not allowed');
    } else if (isDigit(first)) this.skipDigits();
    else throw this.syntax('expected a digit');
    if (this.text.charCodeAt(this.pos) === DOT) {
      this.pos++;
      if (!isDigit(this.text.charCodeAt(this.pos))) throw this.syntax('expected a digit after "."');
      this.skipDigits();
    }
    const e = this.text.charCodeAt(this.pos);
    if (e === 0x65 || e === 0x45) {
      this.pos++;
      const sign = this.text.charCodeAt(this.pos);
      if (sign === PLUS || sign === MINUS) this.pos++;
      if (!isDigit(this.text.charCodeAt(this.pos)))
        throw this.syntax('expected a digit in the exponent');
      this.skipDigits();
    }
    const text = this.text.slice(start, this.pos);
    const value = Number(text);
    if (!Number.isFinite(value)) {
      this.pos = start;
      throw this.syntax('number is out of the range of a double');
    }
    if (!roundTrips(text, value)) {
      this.pos = start;
      const offset = this.byteOffset();
      throw new MosaicError(
        ErrorCode.JsonNumber,
        `invalid JSON at byte ${offset}: number ${abbreviate(text)} does not read exactly as a double (it reads as ${String(value)})`,
        { details: { offset, path: this.path(), number: abbreviate(text), reads: value } },
      );
    }
    return value;
  }

  private skipDigits(): void {
    while (isDigit(this.text.charCodeAt(this.pos))) this.pos++;
  }

  /** Reads a string token (at its opening quote) and returns it NFC-normalised. */
  private readString(): string {
    this.pos++;
    let out = '';
    let chunk = this.pos;
    for (;;) {
      const code = this.text.charCodeAt(this.pos);
      if (code === QUOTE) {
        out += this.text.slice(chunk, this.pos);
        this.pos++;
        return out.normalize('NFC');
      }
      if (code === BACKSLASH) {
        out += this.text.slice(chunk, this.pos);
        out += this.readEscape();
        chunk = this.pos;
      } else if (Number.isNaN(code)) throw this.syntax('unterminated string');
      else if (code < 0x20) throw this.syntax('control character in a string must be escaped');
      else this.pos++;
    }
  }

  /** Reads an escape (at its backslash); surrogate escapes must form a pair. */
  private readEscape(): string {
    const char = this.text.charAt(this.pos + 1);
    if (char !== 'u') {
      const simple = Object.hasOwn(SIMPLE_ESCAPES, char) ? SIMPLE_ESCAPES[char] : undefined;
      if (simple === undefined) throw this.syntax('invalid escape');
      this.pos += 2;
      return simple;
    }
    const high = this.readUnicodeEscape();
    if (high >= 0xdc00 && high <= 0xdfff) throw this.syntax('lone low surrogate escape', -6);
    if (high < 0xd800 || high > 0xdbff) return String.fromCharCode(high);
    if (this.text.charCodeAt(this.pos) !== BACKSLASH || this.text.charAt(this.pos + 1) !== 'u')
      throw this.syntax('lone high surrogate escape', -6);
    const low = this.readUnicodeEscape();
    if (low < 0xdc00 || low > 0xdfff) throw this.syntax('lone high surrogate escape', -12);
    return String.fromCharCode(high, low);
  }

  /** Reads `\uXXXX` at the current position. */
  private readUnicodeEscape(): number {
    for (let i = 2; i < 6; i++)
      if (!isHex(this.text.charCodeAt(this.pos + i))) {
        this.pos += i;
        throw this.syntax('invalid \\u escape');
      }
    const value = Number.parseInt(this.text.slice(this.pos + 2, this.pos + 6), 16);
    this.pos += 6;
    return value;
  }

  private skipWhitespace(): void {
    for (;;) {
      const code = this.text.charCodeAt(this.pos);
      if (code !== 0x20 && code !== 0x0a && code !== 0x0d && code !== 0x09) return;
      this.pos++;
    }
  }

  private byteOffset(delta = 0): number {
    return utf8Length(this.text.slice(0, Math.max(0, this.pos + delta)));
  }

  /** Dotted path of the value being read, e.g. `indicators.0.iban`. */
  private path(key?: string): string {
    const parts = this.stack.map((frame) =>
      frame.kind === 'array' ? String(frame.value.length) : frame.key,
    );
    if (key !== undefined) parts[parts.length - 1] = key;
    return parts.join('.');
  }

  private syntax(message: string, delta = 0): MosaicError {
    const offset = this.byteOffset(delta);
    return new MosaicError(ErrorCode.JsonSyntax, `invalid JSON at byte ${offset}: ${message}`, {
      details: { offset },
    });
  }
}

/** Byte offset of the first invalid UTF-8 sequence (error path only: binary search). */
function invalidUtf8Offset(bytes: Uint8Array): number {
  let low = 0;
  let high = bytes.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid + 1), {
        stream: true,
      });
      low = mid + 1;
    } catch (err) {
      // TextDecoder signals invalid data with a TypeError: the prefix holds the bad sequence
      if (!(err instanceof TypeError)) throw err;
      high = mid;
    }
  }
  return low;
}

/** At most 64 characters of a number's text, for messages: a number can be as long as the input. */
function abbreviate(text: string): string {
  return text.length <= 64 ? text : `${text.slice(0, 30)}…${text.slice(-30)}`;
}

function tooLarge(size: number, limit: number): MosaicError {
  return new MosaicError(ErrorCode.PayloadTooLarge, `input is larger than ${limit} bytes`, {
    details: { limit, size },
  });
}

function decode(input: Uint8Array | string, maxBytes: number): string {
  if (typeof input === 'string') {
    // UTF-8 never takes fewer bytes than UTF-16 code units, so long strings fail fast.
    if (input.length > maxBytes) throw tooLarge(input.length, maxBytes);
    const size = utf8Length(input);
    if (size > maxBytes) throw tooLarge(size, maxBytes);
    const lone = PATTERNS.loneSurrogate.exec(input);
    if (lone !== null) {
      const offset = utf8Length(input.slice(0, lone.index));
      throw new MosaicError(
        ErrorCode.JsonSyntax,
        `input holds a lone surrogate at byte ${offset}`,
        {
          details: { offset },
        },
      );
    }
    return input;
  }
  if (input.length > maxBytes) throw tooLarge(input.length, maxBytes);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
  } catch (cause) {
    const offset = invalidUtf8Offset(input);
    throw new MosaicError(ErrorCode.JsonSyntax, `input is not valid UTF-8 at byte ${offset}`, {
      details: { offset },
      cause,
    });
  }
}

/**
 * Parses untrusted JSON strictly (RFC 8259) with limits, before any schema runs.
 *
 * - size is checked first (UTF-8 bytes) → ERR_PAYLOAD_TOO_LARGE;
 * - invalid UTF-8, a lone surrogate (also as a `\uD800` escape), a BOM, comments, trailing
 *   commas, leading zeros, non-finite numbers → ERR_JSON_SYNTAX with `details.offset`;
 * - a number whose text is not exactly the decimal its double prints as (`1e-400` reading 0,
 *   `75.0000000000000000001` reading 75, `9007199254740993`) → ERR_JSON_NUMBER; trailing
 *   zeros and exponent spellings of the same decimal (`1.50`, `15e-1`) are fine;
 * - nesting deeper than `maxDepth` → ERR_JSON_DEPTH;
 * - a repeated key (compared after NFC) → ERR_JSON_DUPLICATE_KEY;
 * - `__proto__`, `constructor`, `prototype` as a key → ERR_JSON_FORBIDDEN_KEY.
 *
 * Every string (keys and values) is NFC-normalised. Objects have a null prototype.
 *
 * @example
 * ```ts
 * const value = parseJson(new TextEncoder().encode('{"a":[1,2]}'));
 * parseJson('{"a":1,"a":2}'); // throws ERR_JSON_DUPLICATE_KEY
 * ```
 */
export function parseJson(input: Uint8Array | string, limits: JsonLimits = {}): unknown {
  const maxBytes = limits.maxBytes ?? DEFAULT_JSON_LIMITS.maxBytes;
  const maxDepth = limits.maxDepth ?? DEFAULT_JSON_LIMITS.maxDepth;
  if (!(maxBytes >= 0) || !(maxDepth >= 0))
    throw new MosaicError(ErrorCode.Usage, 'JSON limits must be non-negative numbers', {
      details: { maxBytes, maxDepth },
    });
  return new Parser(decode(input, maxBytes), maxDepth).parse();
}
