import { parseKid, type KeyLookup, type KeyRecord } from '@mosaic/signing';
import type { Agency, Federation, JurisdictionGroup } from './schema.ts';

/**
 * What the hub services read of the federation: agencies, groups and keys. Implemented
 * by a fixed federation (`staticRegistryView`) and by the live KV registry, which swaps in
 * a new view on every change so a key revocation applies to the next report.
 */
export interface RegistryView extends KeyLookup {
  federation(): Federation;
  agency(id: string): Agency | undefined;
  group(id: string): JurisdictionGroup | undefined;
}

/** The key record a `kid` names, from an agency's registered keys. */
export function keyRecordFor(agency: Agency, keyId: string): KeyRecord | undefined {
  const key = agency.keys.find((k) => k.keyId === keyId);
  if (!key) return undefined;
  return {
    kid: `${agency.id}/${key.keyId}`,
    agency: agency.id,
    keyId: key.keyId,
    publicJwk: key.publicJwk,
    ...(key.notBefore === undefined ? {} : { notBefore: key.notBefore }),
    ...(key.notAfter === undefined ? {} : { notAfter: key.notAfter }),
    ...(key.revokedAt === undefined ? {} : { revokedAt: key.revokedAt }),
  };
}

/**
 * A registry view over one federation, indexed once.
 *
 * @example
 * ```ts
 * const view = staticRegistryView(await loadFederation({ path: 'federation.yaml' }));
 * const verified = await verifyReport(jws, view);
 * ```
 */
export function staticRegistryView(federation: Federation): RegistryView {
  const agencies = new Map(federation.agencies.map((a) => [a.id, a]));
  const groups = new Map(federation.groups.map((g) => [g.id, g]));
  return {
    federation: () => federation,
    agency: (id) => agencies.get(id),
    group: (id) => groups.get(id),
    resolve(kid) {
      const parts = parseKid(kid);
      const agency = parts && agencies.get(parts.agency);
      return Promise.resolve(agency && parts && keyRecordFor(agency, parts.keyId));
    },
  };
}
