import { createPrivateKey, createPublicKey } from 'node:crypto';
import type { JWK } from 'jose';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { decodeBase64url } from './base64url.ts';
import { parseKid } from './kid.ts';
import type { SignatureAlgorithm } from './header.ts';

/** An agency's Ed25519 public key as Mosaic writes it. */
// Type aliases, not interfaces, so they are assignable to node:crypto's and jose's JWK types.
export type AgencyPublicJwk = {
  kty: 'OKP';
  crv: 'Ed25519';
  alg: 'EdDSA';
  use: 'sig';
  kid: string;
  x: string;
};

/** An agency's Ed25519 private key as Mosaic writes it; never leaves the agency. */
export type AgencyPrivateJwk = AgencyPublicJwk & {
  d: string;
};

/** A checked private key together with the two halves of its `kid`. */
export interface AgencyPrivateKey {
  kid: string;
  agency: string;
  keyId: string;
  privateJwk: AgencyPrivateJwk;
}

/** A checked public key: only the members needed to verify, plus the parsed `kid`. */
export interface CheckedPublicKey {
  kid: string;
  agency: string;
  keyId: string;
  alg: SignatureAlgorithm;
  publicJwk: JWK;
}

const ED25519_BYTES = 32;
const P256_COORDINATE_BYTES = 32;

function keyFileError(source: string, problem: string, cause?: unknown): MosaicError {
  return new MosaicError(ErrorCode.KeyFile, `${source}: ${problem}`, {
    details: { source },
    ...(cause === undefined ? {} : { cause }),
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasBytes(value: unknown, length: number): value is string {
  return typeof value === 'string' && decodeBase64url(value)?.length === length;
}

function checkCommon(
  jwk: Record<string, unknown>,
  alg: SignatureAlgorithm,
  source: string,
): { kid: string; agency: string; keyId: string } {
  if (jwk.alg !== undefined && jwk.alg !== alg)
    throw keyFileError(source, `"alg" is ${JSON.stringify(jwk.alg)}, expected "${alg}"`);
  if (jwk.use !== undefined && jwk.use !== 'sig')
    throw keyFileError(source, `"use" is ${JSON.stringify(jwk.use)}, expected "sig"`);
  const kid = jwk.kid;
  if (typeof kid !== 'string') throw keyFileError(source, 'the JWK has no "kid"');
  const parts = parseKid(kid);
  if (parts === undefined)
    throw keyFileError(source, `"kid" ${JSON.stringify(kid)} is not of the form <agency>/<keyId>`);
  return { kid, ...parts };
}

/**
 * Checks that `value` is an Ed25519 private JWK with a Mosaic `kid` and returns a clean copy
 * (unknown members dropped). `source` names the file or argument in error messages.
 */
export function checkPrivateJwk(value: unknown, source: string): AgencyPrivateKey {
  if (!isRecord(value)) throw keyFileError(source, 'not a JSON object');
  if (value.kty !== 'OKP' || value.crv !== 'Ed25519')
    throw keyFileError(source, 'not an Ed25519 key (expected "kty": "OKP", "crv": "Ed25519")');
  if (value.d === undefined)
    throw keyFileError(source, 'is a public key; a private key (with "d") is needed');
  if (!hasBytes(value.d, ED25519_BYTES) || !hasBytes(value.x, ED25519_BYTES))
    throw keyFileError(source, '"x" and "d" must be 32-byte base64url values');
  const parts = checkCommon(value, 'EdDSA', source);
  const privateJwk: AgencyPrivateJwk = {
    kty: 'OKP',
    crv: 'Ed25519',
    alg: 'EdDSA',
    use: 'sig',
    kid: parts.kid,
    x: value.x,
    d: value.d,
  };
  // A mismatched "x" would make us publish a public key that verifies nothing we sign.
  const derived = createPublicKey(
    createPrivateKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: value.x, d: value.d },
      format: 'jwk',
    }),
  ).export({ format: 'jwk' });
  if (derived.x !== value.x) throw keyFileError(source, '"x" is not the public half of "d"');
  return { ...parts, privateJwk };
}

/**
 * Checks that `value` is a public Ed25519 (or ECDSA P-256) JWK with a Mosaic `kid`, holding no
 * private material, and returns the members needed to verify.
 */
export function checkPublicJwk(value: unknown, source: string): CheckedPublicKey {
  if (!isRecord(value)) throw keyFileError(source, 'not a JSON object');
  // A private key in a public key set means it has already been handed to the wrong people.
  if (value.d !== undefined)
    throw keyFileError(source, 'holds private key material ("d"); publish public keys only');
  let alg: SignatureAlgorithm;
  let publicJwk: JWK;
  if (value.kty === 'OKP' && value.crv === 'Ed25519') {
    if (!hasBytes(value.x, ED25519_BYTES))
      throw keyFileError(source, '"x" must be a 32-byte base64url value');
    alg = 'EdDSA';
    publicJwk = { kty: 'OKP', crv: 'Ed25519', x: value.x };
  } else if (value.kty === 'EC' && value.crv === 'P-256') {
    if (!hasBytes(value.x, P256_COORDINATE_BYTES) || !hasBytes(value.y, P256_COORDINATE_BYTES))
      throw keyFileError(source, '"x" and "y" must be 32-byte base64url values');
    alg = 'ES256';
    publicJwk = { kty: 'EC', crv: 'P-256', x: value.x, y: value.y };
    try {
      createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: value.x, y: value.y }, format: 'jwk' });
    } catch (err) {
      throw keyFileError(source, 'the point is not on the P-256 curve', err);
    }
  } else {
    throw keyFileError(
      source,
      'not a supported public key (expected OKP/Ed25519, or EC/P-256 for ES256)',
    );
  }
  const parts = checkCommon(value, alg, source);
  return { ...parts, alg, publicJwk: { ...publicJwk, alg, use: 'sig', kid: parts.kid } };
}
