import { ErrorCode, MosaicError } from '@mosaic/errors';
import { z } from 'zod';
import { selectorKind, type Selector } from '../kinds.ts';
import { elementBytes, elementError, isValidElement, MAX_BATCH } from './elements.ts';
import type { EvaluatedBatch } from './evaluate.ts';
import { oprfContextSchema, oprfInfo, type OprfContext } from './info.ts';
import { assertPublicKey } from './keys.ts';
import { isCanonicalScalar } from './poprf.ts';
import { poprfFor, utf8, type RandomBytes } from './suite.ts';

declare const tokenBrand: unique symbol;

/** A selector token: the POPRF output (SHA-512, 64 bytes) in unpadded base64url. */
export type SelectorToken = string & { readonly [tokenBrand]: true };

/** What the client keeps between {@link blind} and {@link finalize}: the blinds stay here. */
export class PendingTokens {
  readonly #info: Uint8Array;
  readonly #inputs: readonly Uint8Array[];
  readonly #blinds: readonly Uint8Array[];
  readonly #tweakedKey: Uint8Array;
  /** The blinded elements to send to the key service, one per selector, in order. */
  readonly blinded: readonly Uint8Array[];

  constructor(
    info: Uint8Array,
    inputs: readonly Uint8Array[],
    blinds: readonly Uint8Array[],
    blinded: readonly Uint8Array[],
    tweakedKey: Uint8Array,
  ) {
    this.#info = info;
    this.#inputs = inputs;
    this.#blinds = blinds;
    this.blinded = blinded;
    this.#tweakedKey = tweakedKey;
  }

  /** Verifies the service's answer and unblinds it; see {@link finalize}. */
  finalizeRaw(answer: EvaluatedBatch): Uint8Array[] {
    const evaluated = answer.evaluated;
    const wellFormed =
      answerSchema.safeParse(answer).success &&
      evaluated.length === this.blinded.length &&
      evaluated.every(isValidElement) &&
      isCanonicalProof(answer.proof);
    if (!wellFormed)
      throw proofError('the answer is malformed or has the wrong number of elements');
    const items = this.#inputs.map((input, i) => ({
      input,
      blind: this.#blinds[i] as Uint8Array,
      evaluated: evaluated[i] as Uint8Array,
      blinded: this.blinded[i] as Uint8Array,
    }));
    try {
      return poprfFor(this.#info).finalizeBatch(items, answer.proof, this.#tweakedKey);
    } catch (err) {
      // Every element and scalar of the answer was checked above and the rest is ours, so
      // the one failure left is the DLEQ proof: the service did not use its published key.
      throw proofError('the DLEQ proof does not verify against the public key and info', err);
    }
  }
}

const answerSchema = z.strictObject({
  evaluated: z.array(elementBytes).min(1).max(MAX_BATCH),
  proof: z.instanceof(Uint8Array).refine((b) => b.length === 64),
});

/** True when both halves of a proof are canonical scalars (below the group order). */
function isCanonicalProof(proof: Uint8Array): boolean {
  return [proof.subarray(0, 32), proof.subarray(32)].every(isCanonicalScalar);
}

function proofError(message: string, cause?: unknown): MosaicError {
  return new MosaicError(
    ErrorCode.OprfProof,
    `the key service's evaluation does not verify: ${message}`,
    {
      ...(cause === undefined ? {} : { cause }),
    },
  );
}

/** RFC 9497 POPRF Blind of raw inputs under raw info bytes (for the RFC vectors). */
export function blindRaw(
  inputs: readonly Uint8Array[],
  publicKey: Uint8Array,
  info: Uint8Array,
  random?: RandomBytes,
): PendingTokens {
  assertPublicKey(publicKey);
  const poprf = poprfFor(info);
  const blinds: Uint8Array[] = [];
  const blinded: Uint8Array[] = [];
  let tweakedKey: Uint8Array = new Uint8Array();
  for (const input of inputs) {
    const result = poprf.blind(input, publicKey, random);
    blinds.push(result.blind);
    blinded.push(result.blinded);
    tweakedKey = result.tweakedKey;
  }
  return new PendingTokens(info, inputs, blinds, blinded, tweakedKey);
}

/**
 * The client's first step: blinds selectors of one kind for the key service whose public
 * key is `publicKey`, under `context` (kind and key epoch). Send `pending.blinded`; keep
 * `pending` for {@link finalize}.
 *
 * @example
 * ```ts
 * const pending = blind([selector], servicePublicKey, { kind: 'phone', epoch: 1 });
 * const answer = await askKeyService(pending.blinded);
 * const [token] = finalize(pending, answer);
 * ```
 */
export function blind(
  selectors: readonly Selector[],
  publicKey: Uint8Array,
  context: OprfContext,
): PendingTokens {
  const result = oprfContextSchema.safeParse(context);
  if (!result.success)
    throw elementError('the evaluation context is not a selector kind and epoch', {
      field: 'context',
    });
  const parsed = result.data;
  if (selectors.length === 0 || selectors.length > MAX_BATCH)
    throw elementError(`a batch holds 1 to ${MAX_BATCH} selectors`, {
      field: 'selectors',
      limit: MAX_BATCH,
    });
  selectors.forEach((selector, index) => {
    if (selectorKind(selector) !== parsed.kind)
      throw elementError(`selector ${index} is not of kind ${parsed.kind}: one batch is one kind`, {
        field: 'selectors',
        index,
      });
  });
  return blindRaw(
    selectors.map((selector) => utf8(selector)),
    publicKey,
    utf8(oprfInfo(parsed)),
  );
}

/**
 * The client's last step: verifies the key service's batch proof against its public key
 * and the info, then unblinds. Throws ERR_OPRF_PROOF and makes no token when the answer
 * does not verify.
 */
export function finalize(pending: PendingTokens, answer: EvaluatedBatch): SelectorToken[] {
  return pending
    .finalizeRaw(answer)
    .map((output) => Buffer.from(output).toString('base64url') as SelectorToken);
}
