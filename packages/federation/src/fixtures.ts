import { generateKeyPairSync } from 'node:crypto';
import { stringify } from 'yaml';
import type { FederationInput } from './schema.ts';

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
