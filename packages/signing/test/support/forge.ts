import { createHmac, createPrivateKey, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/** Signs the JWS signing input; returns the raw signature (empty for `alg: none`). */
export type Signer = (input: Buffer) => Buffer;

const b64 = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString('base64url');

/**
 * Builds a compact JWS by hand, so tests can produce what no honest library would: any header
 * (object or raw JSON text), any algorithm, any key.
 */
export function forgeJws(
  header: object | string,
  payload: Uint8Array | string,
  signer: Signer,
): string {
  const input = `${b64(typeof header === 'string' ? header : JSON.stringify(header))}.${b64(payload)}`;
  return `${input}.${b64(signer(Buffer.from(input, 'ascii')))}`;
}

export function ed25519Signer(privateJwk: { x: string; d: string }): Signer {
  const key = createPrivateKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: privateJwk.x, d: privateJwk.d },
    format: 'jwk',
  });
  return (input) => sign(null, input, key);
}

export function rsaSigner(key: KeyObject): Signer {
  return (input) => sign('sha256', input, key);
}

export function hmacSigner(secret: Uint8Array): Signer {
  return (input) => createHmac('sha256', secret).update(input).digest();
}

export const noSignature: Signer = () => Buffer.alloc(0);
