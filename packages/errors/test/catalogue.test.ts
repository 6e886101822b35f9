import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCode, MosaicError, isMosaicError } from '../src/index.ts';

const docs = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
const documented = [...docs.matchAll(/^### (ERR_[A-Z0-9_]+)\s*$/gm)].map((m) => m[1]);
const codes = Object.values(ErrorCode);

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
