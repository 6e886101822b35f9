import { parseReport, type Report } from '@mosaic/contract';
import { ErrorCode, MosaicError } from '@mosaic/errors';

/**
 * The report inside a stored compact JWS. Not a verification: only the ingest identity can
 * write REPORTS, and ingest stored these exact bytes after verifying them (nothing unverified
 * is stored; what is stored is exactly what was signed).
 * The payload is still parsed strictly, so a value the contract refuses never reaches routing.
 */
export function reportOfStoredJws(jws: Uint8Array): Report {
  const text = Buffer.from(jws.buffer, jws.byteOffset, jws.byteLength).toString('latin1');
  const parts = text.split('.');
  const payload = parts[1];
  if (parts.length !== 3 || payload === undefined || !/^[A-Za-z0-9_-]+$/.test(payload))
    throw new MosaicError(ErrorCode.JwsMalformed, 'the stored message is not a compact JWS', {
      details: { parts: parts.length },
    });
  return parseReport(new Uint8Array(Buffer.from(payload, 'base64url')));
}
