import type { JWK } from 'jose';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { checkPublicJwk } from './jwk.ts';

/**
 * A public key Mosaic may verify with, and when. Times are RFC 3339. A key is valid for
 * reports issued at `notBefore` or later and before `notAfter`; from `revokedAt` on it is
 * unusable (see `acceptRevokedBefore` in `verifyReport` for audit replay).
 */
export interface KeyRecord {
  kid: string;
  agency: string;
  keyId: string;
  publicJwk: JWK;
  notBefore?: string | undefined;
  notAfter?: string | undefined;
  revokedAt?: string | undefined;
}

/** Resolves a `kid` to a key record. The federation registry implements it too. */
export interface KeyLookup {
  resolve(kid: string): Promise<KeyRecord | undefined>;
}

/** An in-memory lookup that also lists its records. */
export interface StaticKeyLookup extends KeyLookup {
  readonly records: readonly KeyRecord[];
}

/** The JWK members that carry validity in a JWKS; namespaced so they never clash with JOSE's. */
export const JWK_VALIDITY_MEMBERS = {
  notBefore: 'mosaic:notBefore',
  notAfter: 'mosaic:notAfter',
  revokedAt: 'mosaic:revokedAt',
} as const;

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
const TIME_FIELDS = ['notBefore', 'notAfter', 'revokedAt'] as const;

function invalid(source: string, problem: string): MosaicError {
  return new MosaicError(ErrorCode.KeyFile, `${source}: ${problem}`, { details: { source } });
}

function checkTime(value: unknown, name: string, source: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !RFC3339.test(value) || Number.isNaN(Date.parse(value)))
    throw invalid(source, `"${name}" must be an RFC 3339 date-time`);
  return value;
}

function checkRecord(record: KeyRecord, source: string): KeyRecord {
  const key = checkPublicJwk(record.publicJwk, source);
  if (key.kid !== record.kid || key.agency !== record.agency || key.keyId !== record.keyId)
    throw invalid(source, `record kid/agency/keyId do not match the JWK kid "${key.kid}"`);
  const checked: KeyRecord = {
    kid: key.kid,
    agency: key.agency,
    keyId: key.keyId,
    publicJwk: key.publicJwk,
  };
  for (const field of TIME_FIELDS) {
    const time = checkTime(record[field], field, source);
    if (time !== undefined) checked[field] = time;
  }
  return Object.freeze(checked);
}

function lookupOf(records: KeyRecord[]): StaticKeyLookup {
  const byKid = new Map<string, KeyRecord>();
  for (const record of records) {
    // Two keys under one kid would make "which key signed this" ambiguous.
    if (byKid.has(record.kid))
      throw invalid(`key ${record.kid}`, 'the same kid appears more than once');
    byKid.set(record.kid, record);
  }
  const frozen = Object.freeze([...records]);
  return {
    records: frozen,
    resolve: (kid) => Promise.resolve(byKid.get(kid)),
  };
}

/**
 * A key lookup over fixed records, each checked (public Ed25519 or P-256 key, `kid` matching
 * agency and key id, RFC 3339 times). Throws ERR_KEY_FILE on a bad record or a repeated kid.
 *
 * @example
 * ```ts
 * const keys = staticKeyLookup([
 *   { kid: pair.kid, agency: pair.agency, keyId: pair.keyId, publicJwk: pair.publicJwk },
 * ]);
 * const { report } = await verifyReport(jws, keys);
 * ```
 */
export function staticKeyLookup(records: Iterable<KeyRecord>): StaticKeyLookup {
  return lookupOf([...records].map((record, i) => checkRecord(record, `key record ${i}`)));
}

/**
 * A key lookup over a JWKS (`{ keys: [...] }`). Validity rides on each JWK in the members
 * `mosaic:notBefore`, `mosaic:notAfter` and `mosaic:revokedAt` (RFC 3339). Throws ERR_KEY_FILE
 * when the set or a key is unusable.
 *
 * @example
 * ```ts
 * const keys = jwksKeyLookup({ keys: [{ ...pair.publicJwk, 'mosaic:notAfter': '2027-01-01T00:00:00Z' }] });
 * ```
 */
export function jwksKeyLookup(jwks: unknown, source = 'JWKS'): StaticKeyLookup {
  if (
    typeof jwks !== 'object' ||
    jwks === null ||
    !Array.isArray((jwks as { keys?: unknown }).keys)
  )
    throw invalid(source, 'not a JWKS (expected an object with a "keys" array)');
  const keys = (jwks as { keys: unknown[] }).keys;
  return lookupOf(
    keys.map((jwk, i) => {
      const where = `${source} key ${i}`;
      const key = checkPublicJwk(jwk, where);
      const members = jwk as Record<string, unknown>;
      return checkRecord(
        {
          kid: key.kid,
          agency: key.agency,
          keyId: key.keyId,
          publicJwk: key.publicJwk,
          notBefore: checkTime(
            members[JWK_VALIDITY_MEMBERS.notBefore],
            JWK_VALIDITY_MEMBERS.notBefore,
            where,
          ),
          notAfter: checkTime(
            members[JWK_VALIDITY_MEMBERS.notAfter],
            JWK_VALIDITY_MEMBERS.notAfter,
            where,
          ),
          revokedAt: checkTime(
            members[JWK_VALIDITY_MEMBERS.revokedAt],
            JWK_VALIDITY_MEMBERS.revokedAt,
            where,
          ),
        },
        where,
      );
    }),
  );
}
