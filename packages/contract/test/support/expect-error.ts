import { MosaicError, type ErrorCode } from '@mosaic/errors';
import { expect } from 'vitest';

/** Runs `fn`, asserts it throws a MosaicError with `code`, and returns the error. */
export function expectMosaicError(fn: () => unknown, code: ErrorCode): MosaicError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, `expected ${code} to be thrown`).toBeInstanceOf(MosaicError);
  const error = thrown as MosaicError;
  expect(error.code, error.message).toBe(code);
  return error;
}

/** The `details` of a MosaicError as a record. */
export function details(error: MosaicError): Record<string, unknown> {
  expect(typeof error.details).toBe('object');
  return error.details as Record<string, unknown>;
}
