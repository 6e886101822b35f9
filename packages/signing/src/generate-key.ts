import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import type { AgencyPrivateJwk, AgencyPublicJwk } from './jwk.ts';
import { KEY_ID_PATTERN, formatKid } from './kid.ts';

/** A freshly generated agency key pair, both halves carrying the same `kid`. */
export interface AgencyKeyPair {
  kid: string;
  agency: string;
  keyId: string;
  privateJwk: AgencyPrivateJwk;
  publicJwk: AgencyPublicJwk;
}

/**
 * A default key id: the UTC date for humans, plus randomness so two keys made the same day differ.
 *
 * @example
 * ```ts
 * defaultKeyId(new Date('2025-06-01T00:00:00Z')); // '20250601-9f3c27a1'
 * ```
 */
export function defaultKeyId(now: Date = new Date()): string {
  const day = now.toISOString().slice(0, 10).replaceAll('-', '');
  return `${day}-${randomBytes(4).toString('hex')}`;
}

/**
 * Generates an Ed25519 key pair for `agency` as JWKs with `kid` `<agency>/<keyId>`.
 * Throws ERR_USAGE when the agency id or key id is malformed.
 *
 * @example
 * ```ts
 * const pair = await generateAgencyKey('nca-uk');
 * pair.publicJwk; // { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: 'nca-uk/20250101-1a2b3c4d', x: '…' }
 * ```
 */
export async function generateAgencyKey(
  agency: string,
  options: { keyId?: string } = {},
): Promise<AgencyKeyPair> {
  const keyId = options.keyId ?? defaultKeyId();
  const kid = formatKid(agency, keyId);
  if (kid === undefined)
    throw new MosaicError(
      ErrorCode.Usage,
      `cannot make a key for agency ${JSON.stringify(agency)} with key id ${JSON.stringify(keyId)}: ` +
        `the agency must be a valid agency id and the key id must match ${String(KEY_ID_PATTERN)}`,
      { details: { agency, keyId } },
    );
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const exported = await exportJWK(privateKey);
  const { x, d } = exported;
  if (typeof x !== 'string' || typeof d !== 'string')
    throw new MosaicError(ErrorCode.KeyFile, 'the generated key could not be exported as a JWK');
  const publicJwk: AgencyPublicJwk = {
    kty: 'OKP',
    crv: 'Ed25519',
    alg: 'EdDSA',
    use: 'sig',
    kid,
    x,
  };
  return { kid, agency, keyId, privateJwk: { ...publicJwk, d }, publicJwk };
}
