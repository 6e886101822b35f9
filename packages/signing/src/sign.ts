import { CompactSign, importJWK } from 'jose';
import { parseReport } from '@mosaic/contract';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { REPORT_MEDIA_TYPE } from './header.ts';
import type { ProtectedHeader } from './header.ts';
import { checkPrivateJwk } from './jwk.ts';

function payloadBytes(report: Uint8Array | string | object): Uint8Array {
  // A copy: the caller must not be able to change the bytes between validation and signing.
  if (report instanceof Uint8Array) return new Uint8Array(report);
  if (typeof report === 'string') return new TextEncoder().encode(report);
  let json: string | undefined;
  try {
    json = JSON.stringify(report);
  } catch (err) {
    // Cycles and BigInts are the only ways JSON.stringify throws.
    if (!(err instanceof TypeError)) throw err;
    throw new MosaicError(ErrorCode.Schema, 'the report object cannot be serialised as JSON', {
      cause: err,
    });
  }
  if (json === undefined)
    throw new MosaicError(ErrorCode.Schema, 'the report object cannot be serialised as JSON');
  return new TextEncoder().encode(json);
}

/**
 * Signs a report as a compact JWS with the agency's Ed25519 private JWK. The payload is exactly
 * the bytes given (a string as UTF-8; an object is `JSON.stringify`'d once). The report is
 * checked first with `parseReport` (its MosaicError, e.g. ERR_SCHEMA, is thrown as is), and its
 * `issuer` must be the agency of the key's `kid` (ERR_ISSUER_MISMATCH). A bad key is ERR_KEY_FILE.
 * The protected header is exactly `{ alg: 'EdDSA', kid, typ: REPORT_MEDIA_TYPE }`.
 *
 * @example
 * ```ts
 * const key = await readPrivateKeyFile('./keys/nca-uk.20250101-1a2b3c4d.private.jwk');
 * const jws = await signReport(readFileSync('report.json'), key.privateJwk);
 * ```
 */
export async function signReport(
  report: Uint8Array | string | object,
  privateJwk: object,
): Promise<string> {
  const key = checkPrivateJwk(privateJwk, 'private key');
  const payload = payloadBytes(report);
  const parsed = parseReport(payload);
  if (parsed.issuer !== key.agency)
    throw new MosaicError(
      ErrorCode.IssuerMismatch,
      `report issuer "${parsed.issuer}" is not the agency of key "${key.kid}"`,
      { details: { issuer: parsed.issuer, kid: key.kid } },
    );
  const { kty, crv, x, d } = key.privateJwk;
  const signingKey = await importJWK({ kty, crv, x, d }, 'EdDSA');
  const header: ProtectedHeader = { alg: 'EdDSA', kid: key.kid, typ: REPORT_MEDIA_TYPE };
  return new CompactSign(payload).setProtectedHeader(header).sign(signingKey);
}
