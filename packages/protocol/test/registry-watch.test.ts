import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { startServer } from '@mosaic/testkit';
import { describe, expect, it } from 'vitest';
import { REGISTRY_BUCKET, RegistryKeys, seedRegistry, watchRegistry } from '../src/index.ts';
import { federationSchema, type Federation } from '@mosaic/federation';
import { validFederation } from '@mosaic/federation/internal';

describe('watchRegistry', () => {
  it('follows the KV registry: revocations, new agencies, a bad entry kept out', async () => {
    await using server = await startServer();
    await using nc = await connect({ servers: server.url });
    const kv = await new Kvm(jetstream(nc)).create(REGISTRY_BUCKET, { history: 16 });
    const federation = federationSchema.parse(validFederation());
    await seedRegistry(kv, federation);

    const changes: { agencies: string[]; revision: number }[] = [];
    const errors: unknown[] = [];
    await using view = watchRegistry(kv, {
      onChange: (f: Federation, revision) => {
        changes.push({ agencies: f.agencies.map((a) => a.id), revision });
      },
      onError: (err) => errors.push(err),
    });
    await view.ready;
    const first = view.revision();
    expect(first).toBeGreaterThan(0);
    expect(changes).toHaveLength(1);
    expect(view.agency('nl-police')?.keys[0]?.revokedAt).toBeUndefined();
    expect((await view.resolve('nl-police/k1'))?.revokedAt).toBeUndefined();

    // A revocation: the next lookup sees it.
    const agency = federation.agencies.find((a) => a.id === 'nl-police')!;
    const revoked = {
      ...agency,
      keys: agency.keys.map((k) => ({ ...k, revokedAt: '2025-06-01T00:00:00Z' })),
    };
    const rev = await kv.put(RegistryKeys.agency('nl-police'), JSON.stringify(revoked));
    await expect.poll(() => view.revision(), { timeout: 5_000 }).toBeGreaterThanOrEqual(rev);
    expect((await view.resolve('nl-police/k1'))?.revokedAt).toBe('2025-06-01T00:00:00Z');

    // A new agency.
    const added = { ...revoked, id: 'be-police', jurisdictions: ['BE'], keys: [] };
    const rev2 = await kv.put(RegistryKeys.agency('be-police'), JSON.stringify(added));
    await expect.poll(() => view.revision(), { timeout: 5_000 }).toBeGreaterThanOrEqual(rev2);
    expect(view.agency('be-police')?.jurisdictions).toEqual(['BE']);
    expect(changes.at(-1)?.agencies).toContain('be-police');

    // A bad entry is left out and reported; the view applies the change around it.
    const rev3 = await kv.put(RegistryKeys.agency('xx-broken'), 'not json');
    await expect.poll(() => view.revision(), { timeout: 5_000 }).toBeGreaterThanOrEqual(rev3);
    expect(errors).toMatchObject([{ code: 'ERR_REGISTRY', details: { key: 'agency.xx-broken' } }]);
    expect(view.lastError()).toBeUndefined();
    expect(view.agency('be-police')).toBeDefined();
    expect(view.agency('xx-broken')).toBeUndefined();

    // A registry without a valid meta is reported; the view keeps the last good federation.
    await kv.put(RegistryKeys.meta, 'not json');
    await expect
      .poll(() => view.lastError(), { timeout: 5_000 })
      .toMatchObject({ code: 'ERR_REGISTRY', details: { key: 'meta' } });
    expect(view.agency('be-police')).toBeDefined();
    const rev4 = await kv.put(RegistryKeys.meta, JSON.stringify({ version: 1 }));
    await expect.poll(() => view.revision(), { timeout: 5_000 }).toBeGreaterThanOrEqual(rev4);
    expect(view.lastError()).toBeUndefined();
  });

  it('rejects ready with ERR_REGISTRY when the registry is empty', async () => {
    await using server = await startServer();
    await using nc = await connect({ servers: server.url });
    const kv = await new Kvm(jetstream(nc)).create(REGISTRY_BUCKET);
    await using view = watchRegistry(kv);
    await expect(view.ready).rejects.toMatchObject({ code: 'ERR_REGISTRY' });
    expect(() => view.federation()).toThrow(/not loaded/);
  });
});
