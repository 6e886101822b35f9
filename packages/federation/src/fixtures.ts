import { generateKeyPairSync } from 'node:crypto';
import { generateAgencyKey, type AgencyKeyPair } from '@mosaic/signing';
import { stringify } from 'yaml';
import { parseFederation } from './load.ts';
import type { Federation, FederationInput } from './schema.ts';

/** A fresh Ed25519 key pair as JWKs; the private one only ever lives in memory. */
export function ed25519Jwks(): {
  publicJwk: { kty: 'OKP'; crv: 'Ed25519'; x: string };
  privateJwk: Record<string, string>;
} {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = publicKey.export({ format: 'jwk' });
  return {
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x: String(pub.x) },
    privateJwk: privateKey.export({ format: 'jwk' }) as Record<string, string>,
  };
}

/** A small valid federation: two agencies, one group, one agreement. */
export function validFederation(): FederationInput {
  return {
    version: 1,
    name: 'test',
    groups: [{ id: 'BENELUX', name: 'Benelux', members: ['BE', 'NL', 'LU'] }],
    agencies: [
      {
        id: 'nl-police',
        name: 'NL police',
        kind: 'police',
        jurisdictions: ['NL'],
        contact: { email: 'a@police.example' },
        keys: [
          {
            keyId: 'k1',
            publicJwk: ed25519Jwks().publicJwk,
            notBefore: '2025-01-01T00:00:00Z',
            notAfter: '2026-01-01T00:00:00Z',
          },
        ],
        subscriptions: [
          {
            jurisdictions: ['BENELUX', 'DE'],
            categories: ['recruitment'],
            maxTlp: 'AMBER',
            minSourceReliability: 'C',
            minInformationCredibility: 3,
            minConfidence: 40,
            indicatorTypes: ['phone'],
          },
        ],
      },
      {
        id: 'ngo-x',
        name: 'NGO X',
        kind: 'ngo',
        jurisdictions: ['BE', 'NL'],
        contact: { email: 'x@ngo.example' },
      },
    ],
    agreements: [
      { from: 'nl-police', to: ['ngo-x'], categories: ['recruitment'], maxTlp: 'GREEN' },
    ],
  };
}

export function toYaml(value: unknown): string {
  return stringify(value);
}

/** A key `k1` for each agency, as `policeFederation` names it. */
export async function agencyKeys(agencies: readonly string[]): Promise<Map<string, AgencyKeyPair>> {
  const keys = new Map<string, AgencyKeyPair>();
  for (const id of agencies) keys.set(id, await generateAgencyKey(id, { keyId: 'k1' }));
  return keys;
}

/**
 * Police agencies, each with the one jurisdiction it is mapped to and its key `k1` from `keys`
 * (see `agencyKeys`); an agency in `revokedAt` has that key revoked at that time.
 *
 * @example
 * const keys = await agencyKeys(['nl-police', 'de-bka']);
 * const federation = policeFederation({ 'nl-police': 'NL', 'de-bka': 'DE' }, keys);
 */
export function policeFederation(
  jurisdictions: Readonly<Record<string, string>>,
  keys: ReadonlyMap<string, AgencyKeyPair>,
  revokedAt: Readonly<Record<string, string>> = {},
): Federation {
  return parseFederation(
    JSON.stringify({
      version: 1,
      agencies: Object.entries(jurisdictions).map(([id, jurisdiction]) => ({
        id,
        name: id,
        kind: 'police',
        jurisdictions: [jurisdiction],
        contact: { email: `${id}@example.org` },
        keys: [
          {
            keyId: 'k1',
            // An agency without a key in `keys` fails the schema below, naming the agency.
            publicJwk: keys.get(id)?.publicJwk,
            ...(revokedAt[id] === undefined ? {} : { revokedAt: revokedAt[id] }),
          },
        ],
      })),
    }),
  );
}
