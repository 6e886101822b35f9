import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitForAgencyGone } from '../src/index.ts';

async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await mkdtemp(join(tmpdir(), 'mosaic-operator-test-'));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

describe('waitForAgencyGone', () => {
  it('resolves once the hub deleted the agency context', async () => {
    await using dir = await tempDir();
    await expect(waitForAgencyGone('be-police', { contextsDir: dir.path })).resolves.toBe(
      undefined,
    );
  });

  it('fails with ERR_UNAVAILABLE naming the context while it is still there', async () => {
    await using dir = await tempDir();
    const context = join(dir.path, 'be-police.json');
    await writeFile(context, '{}');
    await expect(
      waitForAgencyGone('be-police', { contextsDir: dir.path, timeoutMs: 0 }),
    ).rejects.toMatchObject({
      code: 'ERR_UNAVAILABLE',
      details: { agency: 'be-police', context },
    });
  });
});
