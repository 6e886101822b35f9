import { describe, expect, it } from 'vitest';
import {
  generateHubKey,
  hubJwks,
  hubKeysFromJwks,
  verifyAuditLog,
  verifyInclusion,
  leafHash,
} from '../src/index.ts';
import { buildLog } from './support/log.ts';

describe('a 100,000-entry log', () => {
  it('builds and verifies (figures: bench/verify-100k.ts)', async () => {
    const key = await generateHubKey('mosaic-hub');
    const { items, checkpoints, log } = buildLog(key, 100_000, 10_000);
    expect(checkpoints).toHaveLength(10);
    const verdict = await verifyAuditLog(items, checkpoints, hubKeysFromJwks(hubJwks([key])));
    expect(verdict).toMatchObject({
      ok: true,
      entries: 100_000,
      checkpoints: 10,
      uncheckpointed: 0,
    });
    const index = 77_777;
    expect(
      verifyInclusion({
        index,
        size: 100_000,
        leafHash: leafHash(items[index]!.data),
        proof: log.inclusionProof(index),
        root: log.root(),
      }),
    ).toBe(true);
  }, 60_000);
});
