import { ErrorCode, MosaicError } from '@mosaic/errors';
import { z } from 'zod';
import { ELEMENT_BYTES, elementError, isValidElement } from './elements.ts';
import { deriveKeyPair, generateKeyPair, isCanonicalScalar, isZero } from './poprf.ts';

/** A key service key pair: the secret scalar stays in the service, the public element is published. */
export interface OprfKeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

/**
 * A fresh random key pair for one key epoch.
 *
 * @example
 * ```ts
 * const { secretKey, publicKey } = generateOprfKeyPair();
 * ```
 */
export function generateOprfKeyPair(): OprfKeyPair {
  const { secretKey, publicKey } = generateKeyPair();
  return { secretKey, publicKey };
}

/** RFC 9497 DeriveKeyPair in POPRF mode: the same seed and key info give the same pair. */
export function deriveOprfKeyPair(seed: Uint8Array, keyInfo: Uint8Array): OprfKeyPair {
  const { secretKey, publicKey } = deriveKeyPair(seed, keyInfo);
  return { secretKey, publicKey };
}

const secretKeySchema = z.instanceof(Uint8Array).refine((b) => b.length === ELEMENT_BYTES);

/** Refuses a secret key that is not a canonical non-zero scalar. */
export function assertSecretKey(secretKey: Uint8Array): void {
  const valid =
    secretKeySchema.safeParse(secretKey).success &&
    isCanonicalScalar(secretKey) &&
    !isZero(secretKey);
  // The secret key is the key service's own configuration, never a caller's input.
  if (!valid)
    throw new MosaicError(
      ErrorCode.Internal,
      'the OPRF secret key is not a canonical non-zero ristretto255 scalar',
    );
}

/** Refuses a public key that is not a non-identity element (ERR_OPRF_ELEMENT). */
export function assertPublicKey(publicKey: Uint8Array): void {
  if (!(publicKey instanceof Uint8Array) || !isValidElement(publicKey))
    throw elementError('the key service public key is not a ristretto255 element', {
      field: 'publicKey',
    });
}
