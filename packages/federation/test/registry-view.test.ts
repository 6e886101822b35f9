import { describe, expect, it } from 'vitest';
import { federationSchema, keyRecordFor, staticRegistryView } from '../src/index.ts';
import { validFederation } from '../src/internal.ts';

const federation = federationSchema.parse(validFederation());

describe('staticRegistryView', () => {
  const view = staticRegistryView(federation);

  it('resolves a registered kid to its key record with the validity window', async () => {
    const agency = federation.agencies.find((a) => a.id === 'nl-police')!;
    const record = await view.resolve('nl-police/k1');
    expect(record).toEqual({
      kid: 'nl-police/k1',
      agency: 'nl-police',
      keyId: 'k1',
      publicJwk: agency.keys[0]!.publicJwk,
      notBefore: '2025-01-01T00:00:00Z',
      notAfter: '2026-01-01T00:00:00Z',
    });
  });

  it.each(['nl-police/k2', 'xx-unknown/k1', 'nl-police', 'nl-police/', '/k1', ''])(
    'resolves %j to nothing',
    async (kid) => {
      expect(await view.resolve(kid)).toBeUndefined();
    },
  );

  it('carries revocation into the key record', () => {
    const agency = federation.agencies.find((a) => a.id === 'nl-police')!;
    const revoked = {
      ...agency,
      keys: [{ ...agency.keys[0]!, revokedAt: '2025-06-01T00:00:00Z' }],
    };
    expect(keyRecordFor(revoked, 'k1')?.revokedAt).toBe('2025-06-01T00:00:00Z');
  });

  it('finds agencies and groups by id and nothing else', () => {
    expect(view.agency('nl-police')?.id).toBe('nl-police');
    expect(view.agency('NL-POLICE')).toBeUndefined();
    expect(view.group('BENELUX')?.members).toEqual(['BE', 'NL', 'LU']);
    expect(view.group('EU27')).toBeUndefined();
    expect(view.federation()).toBe(federation);
  });
});
