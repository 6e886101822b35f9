import { isIsoCountry, type Report } from '@mosaic/contract';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import type { RegistryView } from '@mosaic/federation';

function reject(code: ErrorCode, message: string, details: object): MosaicError {
  return new MosaicError(code, message, { details });
}

/** Every jurisdiction a report names, with where it names it. */
function namedJurisdictions(report: Report): { path: string; value: string }[] {
  const { handling } = report;
  return [
    { path: 'origin', value: report.origin },
    ...report.jurisdictions.map((value, i) => ({ path: `jurisdictions.${i}`, value })),
    ...(handling.releasableTo?.jurisdictions ?? []).map((value, i) => ({
      path: `handling.releasableTo.jurisdictions.${i}`,
      value,
    })),
    ...(handling.notReleasableTo?.jurisdictions ?? []).map((value, i) => ({
      path: `handling.notReleasableTo.jurisdictions.${i}`,
      value,
    })),
  ];
}

/** ERR_JURISDICTION_UNKNOWN unless each jurisdiction is an ISO country or a federation group. */
export function checkJurisdictionsKnown(report: Report, registry: RegistryView): void {
  for (const { path, value } of namedJurisdictions(report))
    if (!isIsoCountry(value) && registry.group(value) === undefined)
      throw reject(
        ErrorCode.JurisdictionUnknown,
        `${path} "${value}" is neither an ISO 3166-1 alpha-2 code nor a group of the federation`,
        { path, value },
      );
}

/**
 * ERR_JURISDICTION_NOT_ALLOWED unless the agency may report for the report's origin: the
 * origin is one of the agency's listed jurisdictions (a country or a group id), or a country
 * that is a member of a group the agency lists. Listing a country does not make a group
 * containing it reportable: an agency speaks for a region only when the federation says so.
 */
export function checkOriginAllowed(report: Report, agencyId: string, registry: RegistryView): void {
  const agency = registry.agency(agencyId);
  const allowed =
    agency?.jurisdictions.some(
      (j) =>
        j === report.origin ||
        ((registry.group(j)?.members as readonly string[] | undefined)?.includes(report.origin) ??
          false),
    ) ?? false;
  if (!allowed)
    throw reject(
      ErrorCode.JurisdictionNotAllowed,
      `agency "${agencyId}" may not report for origin "${report.origin}"`,
      { origin: report.origin, allowed: agency?.jurisdictions ?? [] },
    );
}

/** ERR_AGENCY_UNKNOWN unless every agency in the release lists is in the federation. */
export function checkAgenciesKnown(report: Report, registry: RegistryView): void {
  for (const list of ['releasableTo', 'notReleasableTo'] as const)
    report.handling[list]?.agencies?.forEach((value, i) => {
      if (registry.agency(value) === undefined)
        throw reject(
          ErrorCode.AgencyUnknown,
          `handling.${list}.agencies.${i} "${value}" is not an agency of the federation`,
          { path: `handling.${list}.agencies.${i}`, value },
        );
    });
}

/**
 * ERR_ISSUED_IN_FUTURE when `issuedAt` is later than `receivedAt` plus the skew;
 * ERR_ISSUED_TOO_OLD when it is more than `maxAgeMs` before `receivedAt`; ERR_VALIDITY_WINDOW
 * when `validUntil` has passed or is not after `issuedAt`.
 */
export function checkTimes(
  report: Report,
  receivedAt: Date,
  bounds: { skewMs: number; maxAgeMs: number },
): void {
  const issued = Date.parse(report.issuedAt);
  const now = receivedAt.getTime();
  const { skewMs, maxAgeMs } = bounds;
  if (issued > now + skewMs)
    throw reject(
      ErrorCode.IssuedInFuture,
      `issuedAt ${report.issuedAt} is more than ${skewMs} ms ahead of the hub's clock`,
      { issuedAt: report.issuedAt, now: receivedAt.toISOString(), skewMs },
    );
  // Negated so that an unparseable issuedAt (NaN) fails closed.
  if (!(issued >= now - maxAgeMs))
    throw reject(
      ErrorCode.IssuedTooOld,
      `issuedAt ${report.issuedAt} is more than ${maxAgeMs} ms before the hub received the report`,
      { issuedAt: report.issuedAt, now: receivedAt.toISOString(), maxAgeMs },
    );
  const { validUntil } = report.handling;
  if (validUntil === undefined) return;
  const until = Date.parse(validUntil);
  if (until <= now || until <= issued)
    throw reject(
      ErrorCode.ValidityWindow,
      until <= issued
        ? `validUntil ${validUntil} is not after issuedAt ${report.issuedAt}`
        : `validUntil ${validUntil} has already passed`,
      { validUntil, issuedAt: report.issuedAt, now: receivedAt.toISOString() },
    );
}

/** The earlier reports of the same issuer that a report retracts or supersedes. */
export function lineageTargets(report: Report): { path: string; reportId: string }[] {
  const lineage = report.lineage;
  if (lineage === undefined) return [];
  return [
    ...(lineage.retracts === undefined
      ? []
      : [{ path: 'lineage.retracts', reportId: lineage.retracts }]),
    ...(lineage.supersedes ?? []).map((reportId, i) => ({
      path: `lineage.supersedes.${i}`,
      reportId,
    })),
  ];
}
