import { expect } from 'vitest';
import { MosaicError } from '@mosaic/errors';
import type { ErrorCode } from '@mosaic/errors';

/** Awaits `promise` and asserts it rejects with a MosaicError of `code`; returns the error. */
export async function rejectsWith(
  promise: Promise<unknown>,
  code: ErrorCode,
): Promise<MosaicError> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected a MosaicError ${code}`).toBeInstanceOf(MosaicError);
  expect((err as MosaicError).code).toBe(code);
  return err as MosaicError;
}
