import { join } from 'node:path';
import { PUBLIC_KEYS_BUCKET, REGISTRY_BUCKET, parsePublicKeyRecord } from '@mosaic/protocol';
import { logSink } from '@mosaic/testkit';
import { Kvm } from '@nats-io/kv';
import { describe, expect, it } from 'vitest';
import { connectOperator } from '@mosaic/operator';
import { startHub } from '../src/index.ts';
import { connectContext, freshReport, submit, tempDir } from './helpers.ts';

const LEFT_OUT = 'registry entry left out of the live registry';
/** What a JetStream API answer looks like: the kind of value a stray write leaves. */
const API_ANSWER = JSON.stringify({ type: 'io.nats.jetstream.api.v1.consumer_info_response' });

describe('malformed entries in the registry and public-keys buckets', () => {
  it('are reported with their key and left out; revocation, key projection and a restart still work', async () => {
    await using dir = await tempDir();
    const junk = ['x-stray', 'agency.zz-stray'];
    {
      const sink = logSink('hub', { level: 'info' });
      await using hub = await startHub({ dataDir: dir.path, log: sink.log });
      await using admin = await connectContext(join(dir.path, 'breakglass', 'admin.json'));
      const keys = await new Kvm(admin).open(PUBLIC_KEYS_BUCKET);
      await keys.put('de-bka.demo', API_ANSWER);
      await keys.put('zz.stray', API_ANSWER);
      const registry = await new Kvm(admin).open(REGISTRY_BUCKET);
      await registry.put('x-stray', API_ANSWER);
      const last = await registry.put('agency.zz-stray', 'not json');

      // The live view applied the change around the bad entries, and said which they were.
      await expect
        .poll(() => hub.registry.revision(), { timeout: 10_000 })
        .toBeGreaterThanOrEqual(last);
      expect(hub.registry.lastError()).toBeUndefined();
      const leftOut = new Set(
        sink.records.filter((r) => r['msg'] === LEFT_OUT).map((r) => r['key']),
      );
      expect([...leftOut].sort()).toEqual([...junk].sort());
      // The projection put the real key back and dropped the stray entry.
      await expect
        .poll(async () => (await keys.get('de-bka.demo'))?.string(), { timeout: 10_000 })
        .not.toBe(API_ANSWER);
      expect(
        parsePublicKeyRecord('de-bka/demo', (await keys.get('de-bka.demo'))!.string()).kid,
      ).toBe('de-bka/demo');
      expect((await keys.get('zz.stray'))?.operation).not.toBe('PUT');

      // A revocation by the routine operator goes through and applies at once.
      await using op = await connectOperator(join(hub.contextsDir, 'operator.json'));
      const change = await op.revokeKey({ agency: 'ro-dicot', keyId: 'demo', reason: 'test' });
      await expect
        .poll(() => hub.registry.revision(), { timeout: 10_000 })
        .toBeGreaterThanOrEqual(change.revision);
      expect(hub.registry.agency('ro-dicot')?.keys[0]?.revokedAt).toBeDefined();
      expect(hub.registry.agency('zz-stray')).toBeUndefined();
    }

    // A restart with the bad entries still in the bucket.
    const sink = logSink('hub', { level: 'info' });
    await using hub = await startHub({ dataDir: dir.path, log: sink.log });
    expect(hub.registry.agency('ro-dicot')?.keys[0]?.revokedAt).toBeDefined();
    expect(
      [...new Set(sink.records.filter((r) => r['msg'] === LEFT_OUT).map((r) => r['key']))].sort(),
    ).toEqual([...junk].sort());
    await using nc = await connectContext(join(hub.contextsDir, 'de-bka.json'));
    const reply = await submit(nc, 'de-bka', join(hub.keysDir, 'de-bka.jwk'), await freshReport());
    expect(reply, JSON.stringify(reply)).toMatchObject({ ok: true, duplicate: false });
  });
});
