import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ErrorClass,
  ErrorCode,
  MosaicError,
  errorCatalogue,
  errorClass,
  httpStatus,
  isErrorCode,
  isMosaicError,
  isRetryable,
  unavailable,
} from '../src/index.ts';

const docs = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
const documented = [...docs.matchAll(/^### (ERR_[A-Z0-9_]+)\s*$/gm)].map((m) => m[1]);
/** The rows of the table `| [ERR_…](#…) | class | retryable | HTTP |`. */
const rows = new Map(
  [
    ...docs.matchAll(
      /^\| \[(ERR_[A-Z0-9_]+)\]\(#[a-z0-9_]+\) *\| *(\w+) *\| *(yes|no) *\| *(\d{3}) *\|$/gm,
    ),
  ].map((m) => [m[1], { class: m[2], retryable: m[3] === 'yes', status: Number(m[4]) }]),
);
const codes = Object.values(ErrorCode);
const classes: readonly string[] = Object.values(ErrorClass);

describe('error catalogue', () => {
  it('has no code used by two names', () => {
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('documents every code exactly once', () => {
    expect(new Set(documented).size).toBe(documented.length);
    for (const code of codes)
      expect(documented, `${code} missing from docs/errors.md`).toContain(code);
  });

  it('documents no code that does not exist', () => {
    for (const code of documented) expect(codes).toContain(code);
  });

  it('uses the ERR_ prefix and upper snake case for every code', () => {
    for (const code of codes) expect(code).toMatch(/^ERR_[A-Z][A-Z0-9_]*$/);
  });

  it('documents the class, retryability and HTTP status of every code as declared', () => {
    expect([...rows.keys()].sort()).toEqual([...codes].sort());
    for (const code of codes)
      expect(rows.get(code), code).toEqual({
        class: errorClass(code),
        retryable: isRetryable(code),
        status: httpStatus(code),
      });
  });
});

describe('classes', () => {
  it('gives every code one of the four classes', () => {
    for (const code of codes) expect(classes, code).toContain(errorClass(code));
    expect(Object.keys(errorCatalogue)).toEqual(Object.keys(ErrorCode));
  });

  it('gives ERR_USAGE a class of its own', () => {
    expect(codes.filter((code) => errorClass(code) === ErrorClass.Usage)).toEqual([
      ErrorCode.Usage,
    ]);
  });

  it('derives the HTTP status from the class where a code names none, within its family where it does', () => {
    const family: Record<ErrorClass, (status: number) => boolean> = {
      input: (s) => s >= 400 && s < 500,
      usage: (s) => s === 400,
      // 502: an upstream service (the selector key service) answered with something that does not verify.
      // 429: the HTTP gateway's per-agency request rate, spent for a moment.
      environment: (s) => [403, 409, 429, 500, 502, 503].includes(s),
      internal: (s) => s === 500,
    };
    const byDefault: Record<ErrorClass, (retryable: boolean) => number> = {
      input: () => 422,
      usage: () => 400,
      environment: (retryable) => (retryable ? 503 : 500),
      internal: () => 500,
    };
    for (const spec of Object.values(errorCatalogue) as { code: ErrorCode; status?: number }[]) {
      const { code } = spec;
      const status = httpStatus(code);
      expect(family[errorClass(code)](status), `${code} ${status}`).toBe(true);
      if (spec.status === undefined)
        expect(status, code).toBe(byDefault[errorClass(code)](isRetryable(code)));
    }
  });

  it('never gives a retryable code a status a client would not retry, nor 503 to another', () => {
    for (const code of codes) {
      if (isRetryable(code)) expect([409, 429, 503], code).toContain(httpStatus(code));
      if (httpStatus(code) === 503) expect(isRetryable(code), code).toBe(true);
    }
  });

  it('makes only input-independent failures retryable', () => {
    for (const code of codes.filter(isRetryable))
      expect(errorClass(code), code).toBe('environment');
    expect(isRetryable(ErrorCode.Unavailable)).toBe(true);
    expect(isRetryable(ErrorCode.Schema)).toBe(false);
  });

  it('tells the codes of this version from foreign strings', () => {
    expect(isErrorCode('ERR_SCHEMA')).toBe(true);
    expect(isErrorCode('ERR_FROM_A_NEWER_HUB')).toBe(false);
    expect(() => errorClass('ERR_FROM_A_NEWER_HUB' as ErrorCode)).toThrow(TypeError);
  });
});

describe('unavailable', () => {
  it('is ERR_UNAVAILABLE naming the operation, with the cause', () => {
    const cause = new Error('timeout');
    const err = unavailable('REPORTS append', cause);
    expect(err.toJSON()).toEqual({
      code: 'ERR_UNAVAILABLE',
      message: 'REPORTS append failed: timeout',
      details: { operation: 'REPORTS append' },
    });
    expect(err.cause).toBe(cause);
    expect(unavailable('lookup', 'gone').message).toBe('lookup failed: gone');
  });

  it('passes on a MosaicError, whose code already says what failed', () => {
    const known = new MosaicError(ErrorCode.PermissionDenied, 'no');
    expect(unavailable('ALERTS read', known)).toBe(known);
  });
});

describe('MosaicError', () => {
  it('carries code, details and cause and serialises without the stack', () => {
    const cause = new Error('disk');
    const err = new MosaicError(ErrorCode.Io, 'cannot read report.json', {
      details: { path: 'report.json' },
      cause,
    });
    expect(err).toBeInstanceOf(Error);
    expect(err.cause).toBe(cause);
    expect(JSON.parse(JSON.stringify(err))).toEqual({
      code: 'ERR_IO',
      message: 'cannot read report.json',
      details: { path: 'report.json' },
    });
  });

  it('is recognised by code', () => {
    const err = new MosaicError(ErrorCode.Schema, 'bad');
    expect(isMosaicError(err)).toBe(true);
    expect(isMosaicError(err, 'ERR_SCHEMA')).toBe(true);
    expect(isMosaicError(err, 'ERR_IO')).toBe(false);
    expect(isMosaicError(new Error('x'))).toBe(false);
  });
});
