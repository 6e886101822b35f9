import { assertBatchShape, elementError, isValidElement } from './elements.ts';
import { oprfContextSchema, oprfInfo, type OprfContext } from './info.ts';
import { assertSecretKey } from './keys.ts';
import { poprfFor, utf8, type RandomBytes } from './suite.ts';

/** The key service's answer: one evaluated element per blinded element, and one DLEQ proof for all. */
export interface EvaluatedBatch {
  evaluated: Uint8Array[];
  proof: Uint8Array;
}

/** RFC 9497 POPRF BlindEvaluateBatch under raw info bytes (for the RFC vectors). */
export function evaluateBatchRaw(
  secretKey: Uint8Array,
  blinded: readonly Uint8Array[],
  info: Uint8Array,
  random?: RandomBytes,
): EvaluatedBatch {
  assertSecretKey(secretKey);
  assertBatchShape(blinded, 'blinded');
  blinded.forEach((element, index) => {
    if (!isValidElement(element))
      throw elementError(`blinded element ${index} is not a non-identity ristretto255 element`, {
        field: 'blinded',
        index,
      });
  });
  const { evaluated, proof } = poprfFor(info).blindEvaluateBatch(secretKey, [...blinded], random);
  return { evaluated, proof };
}

/**
 * The key service's side: evaluates a batch of blinded selectors of one kind and epoch
 * with its secret key, and proves with one DLEQ proof that it used the key behind its
 * public key and this info. It never sees a selector. Throws ERR_OPRF_ELEMENT, before
 * any scalar multiplication, for an empty, oversized or malformed batch.
 *
 * @example
 * ```ts
 * const answer = evaluateBatch(keys.secretKey, request.blinded, { kind: 'phone', epoch: 1 });
 * ```
 */
export function evaluateBatch(
  secretKey: Uint8Array,
  blinded: readonly Uint8Array[],
  context: OprfContext,
): EvaluatedBatch {
  const parsed = oprfContextSchema.safeParse(context);
  if (!parsed.success)
    throw elementError('the evaluation context is not a selector kind and epoch', {
      field: 'context',
    });
  return evaluateBatchRaw(secretKey, blinded, utf8(oprfInfo(parsed.data)));
}
