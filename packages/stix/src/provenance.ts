import { parseReport } from '@mosaic/contract';
import type { Report } from '@mosaic/contract';
import { canonicalJson } from '@mosaic/audit-log';
import { ErrorCode, MosaicError, isMosaicError } from '@mosaic/errors';

function part(text: string | undefined): Buffer | undefined {
  if (text === undefined || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  return Buffer.from(text, 'base64url');
}

/**
 * The key id of a compact JWS that carries exactly `report`, read WITHOUT verifying the
 * signature: an importer re-verifies with the originator's key. Throws ERR_STIX_PROVENANCE
 * when the JWS is malformed or signs another report.
 */
export function provenanceKid(jws: string, report: Report): string {
  const [header, payload, signature, extra] = jws.split('.');
  const headerBytes = part(header);
  const payloadBytes = part(payload);
  if (
    headerBytes === undefined ||
    payloadBytes === undefined ||
    part(signature) === undefined ||
    extra !== undefined
  )
    throw new MosaicError(ErrorCode.StixProvenance, 'the provenance is not a compact JWS');
  let kid: unknown;
  let signed: Report;
  try {
    kid = (JSON.parse(headerBytes.toString('utf8')) as { kid?: unknown }).kid;
    signed = parseReport(payloadBytes);
  } catch (err) {
    if (!(err instanceof SyntaxError) && !isMosaicError(err)) throw err;
    throw new MosaicError(ErrorCode.StixProvenance, 'the provenance JWS does not carry a report', {
      cause: err,
    });
  }
  if (typeof kid !== 'string' || kid.length === 0)
    throw new MosaicError(ErrorCode.StixProvenance, 'the provenance JWS names no key id');
  if (canonicalJson(signed) !== canonicalJson(report))
    throw new MosaicError(
      ErrorCode.StixProvenance,
      `the provenance JWS signs another report than ${report.issuer}/${report.reportId}`,
      { details: { issuer: report.issuer, reportId: report.reportId } },
    );
  return kid;
}
