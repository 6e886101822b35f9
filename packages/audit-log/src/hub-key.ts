import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { z } from 'zod';
import { ErrorCode, MosaicError, toIssues } from '@mosaic/errors';
import { decodeBase64url } from './base64.ts';

/** The hub's Ed25519 public checkpoint key as a JWK (`kid` = key name). */
// Type aliases, not interfaces, so they are assignable to node:crypto's JsonWebKey.
export type HubPublicJwk = {
  kty: 'OKP';
  crv: 'Ed25519';
  alg: 'EdDSA';
  use: 'sig';
  kid: string;
  x: string;
};
export type HubPrivateJwk = HubPublicJwk & { d: string };

/** A named hub checkpoint key pair, as {@link generateHubKey} makes it. */
export interface HubKey {
  name: string;
  privateJwk: HubPrivateJwk;
  publicJwk: HubPublicJwk;
}

/** A public key a checkpoint verifier trusts, under its note key name. */
export interface HubPublicKey {
  name: string;
  publicJwk: JsonWebKey;
}

/** The hub's private signing key (only `kty`, `crv`, `x`, `d` are used). */
export interface HubSigningKey {
  name: string;
  privateJwk: JsonWebKey;
}

/** A JWKS of hub checkpoint keys. */
export interface HubJwks {
  keys: HubPublicJwk[];
}

/**
 * C2SP signed-note key names: non-empty, no Unicode white space, no `+`; Mosaic also
 * refuses control and formatting characters and caps the length.
 */
export function isKeyName(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    name.length <= 256 &&
    !/[\s+\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(name)
  );
}

export function assertKeyName(name: unknown): asserts name is string {
  if (!isKeyName(name))
    throw new MosaicError(
      ErrorCode.Checkpoint,
      `${JSON.stringify(name)} is not a key name (non-empty, no white space, no '+')`,
    );
}

function keyError(name: string, why: string, cause?: unknown): MosaicError {
  return new MosaicError(ErrorCode.KeyFile, `hub key ${JSON.stringify(name)}: ${why}`, {
    details: { name },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The 32 raw public key bytes of an Ed25519 JWK, or an ERR_KEY_FILE. */
export function rawPublicKey(name: string, jwk: JsonWebKey): Uint8Array {
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string')
    throw keyError(name, 'not an Ed25519 (OKP) JWK');
  const x = decodeBase64url(jwk.x);
  if (x?.length !== 32) throw keyError(name, 'x is not 32 base64url bytes');
  return x;
}

export function publicKeyObject(name: string, jwk: JsonWebKey): KeyObject {
  const x = rawPublicKey(name, jwk);
  try {
    return createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x as string },
      format: 'jwk',
    });
  } catch (err) {
    throw keyError(name, `unusable public key (${x.length} bytes)`, err);
  }
}

export function privateKeyObject(name: string, jwk: JsonWebKey): KeyObject {
  rawPublicKey(name, jwk);
  if (typeof jwk.d !== 'string' || decodeBase64url(jwk.d)?.length !== 32)
    throw keyError(name, 'd is not 32 base64url bytes');
  let key: KeyObject;
  try {
    key = createPrivateKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x as string, d: jwk.d },
      format: 'jwk',
    });
  } catch (err) {
    throw keyError(name, 'unusable private key', err);
  }
  // A JWK whose x does not belong to d would sign under the wrong key id.
  if (createPublicKey(key).export({ format: 'jwk' }).x !== jwk.x)
    throw keyError(name, 'x does not match d');
  return key;
}

function publicJwkOf(name: string, jwk: JsonWebKey): HubPublicJwk {
  rawPublicKey(name, jwk);
  return { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: name, x: jwk.x as string };
}

const generate = promisify(generateKeyPair);

/**
 * Generates the hub's Ed25519 checkpoint key. `name` is the note key name that signature
 * lines carry (conventionally also the checkpoint origin). Keep `privateJwk` to the hub.
 *
 * @example
 * ```ts
 * const key = await generateHubKey('mosaic-hub');
 * const signed = signCheckpoint(formatCheckpoint({ origin: key.name, size, root }), key);
 * ```
 */
export async function generateHubKey(name: string): Promise<HubKey> {
  assertKeyName(name);
  const { privateKey } = await generate('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  if (typeof jwk.d !== 'string') throw keyError(name, 'the generated key could not be exported');
  const publicJwk = publicJwkOf(name, jwk);
  return { name, privateJwk: { ...publicJwk, d: jwk.d }, publicJwk };
}

/**
 * The JWKS to publish for checkpoint verifiers: one public JWK per key, `kid` = key name,
 * never a private member.
 *
 * @example
 * ```ts
 * await writeFile('hub.jwks', JSON.stringify(hubJwks([{ name: key.name, publicJwk: key.publicJwk }])));
 * ```
 */
export function hubJwks(publicKeys: readonly HubPublicKey[]): HubJwks {
  return {
    keys: publicKeys.map((k) => {
      assertKeyName(k.name);
      return publicJwkOf(k.name, k.publicJwk);
    }),
  };
}

const jwksSchema = z.object({
  keys: z
    .array(
      z.object({
        kty: z.literal('OKP'),
        crv: z.literal('Ed25519'),
        kid: z.string(),
        x: z.string(),
        d: z.never().optional(),
      }),
    )
    .min(1)
    .max(100),
});

/**
 * The verifier keys of a hub JWKS (as {@link hubJwks} writes it, parsed JSON). Throws
 * ERR_KEY_FILE when it is not a JWKS of Ed25519 public keys named by `kid`.
 *
 * @example
 * ```ts
 * const keys = hubKeysFromJwks(JSON.parse(await readFile('hub.jwks', 'utf8')));
 * verifyCheckpoint(text, keys);
 * ```
 */
export function hubKeysFromJwks(jwks: unknown): HubPublicKey[] {
  const parsed = jwksSchema.safeParse(jwks);
  if (!parsed.success)
    throw new MosaicError(ErrorCode.KeyFile, 'not a JWKS of Ed25519 public keys', {
      details: { issues: toIssues(parsed.error.issues) },
    });
  return parsed.data.keys.map((k) => {
    assertKeyName(k.kid);
    return { name: k.kid, publicJwk: publicJwkOf(k.kid, { kty: k.kty, crv: k.crv, x: k.x }) };
  });
}
