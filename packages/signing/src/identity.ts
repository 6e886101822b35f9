/**
 * The duplicate identity of a report: `<issuer>/<reportId>`. Deduplication keys on this, never on
 * signature or JWS bytes: one report can carry many valid signatures (re-signed after a key
 * rotation, randomised ES256 signatures, a re-encoded header), and each would otherwise be stored
 * as another report. The issuer is part of it because agencies choose their report ids, and one
 * agency must not be able to shadow another's report by reusing its id. `/` cannot occur in an
 * agency id, and the contract only accepts canonical lower-case UUIDs, so equal reports give
 * equal strings.
 *
 * @example
 * ```ts
 * reportIdentity({ issuer: 'nca-uk', reportId: '0f8fad5b-d9cb-469f-a165-70867728950e' });
 * // 'nca-uk/0f8fad5b-d9cb-469f-a165-70867728950e'
 * ```
 */
export function reportIdentity(report: { issuer: string; reportId: string }): string {
  return `${report.issuer}/${report.reportId}`;
}
