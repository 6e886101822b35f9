import { ErrorCode, MosaicError } from '@mosaic/errors';
import { z } from 'zod';
import { isElement } from './poprf.ts';

/** Bytes of a ristretto255 element and of a scalar. */
export const ELEMENT_BYTES = 32;
/** Most elements evaluated in one batch: a report holds at most 256 indicators. */
export const MAX_BATCH = 256;

export const elementBytes = z.instanceof(Uint8Array).refine((b) => b.length === ELEMENT_BYTES, {
  message: `must be ${ELEMENT_BYTES} bytes`,
});

/** A batch of encoded elements: 1..MAX_BATCH arrays of 32 bytes. */
const elementBatchSchema = z.array(elementBytes).min(1).max(MAX_BATCH);

export function elementError(message: string, details: Record<string, unknown>): MosaicError {
  return new MosaicError(ErrorCode.OprfElement, message, { details });
}

/** Refuses a batch that is not 1..MAX_BATCH elements of 32 bytes, before any work on it. */
export function assertBatchShape(batch: unknown, field: string): asserts batch is Uint8Array[] {
  const result = elementBatchSchema.safeParse(batch);
  if (result.success) return;
  const issue = result.error.issues[0];
  throw elementError(`${field}: ${issue?.message ?? 'malformed batch'}`, {
    field,
    index: issue?.path[0],
    limit: MAX_BATCH,
  });
}

/**
 * True when `bytes` is the canonical encoding of a ristretto255 element other than the
 * identity (RFC 9497 §3.3: an implementation must refuse the identity from the wire).
 */
export function isValidElement(bytes: Uint8Array): boolean {
  return isElement(bytes);
}
