import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '@mosaic/errors';
import { generateAgencyKey, readPublicKeyFile, writeAgencyKeyFiles } from '../src/index.ts';
import { rejectsWith } from './support/errors.ts';
import { tempDir } from './support/tmp.ts';

describe('readPublicKeyFile', () => {
  it('reads a single public JWK file written by writeAgencyKeyFiles', async () => {
    const pair = await generateAgencyKey('nca-uk', { keyId: 'k1' });
    const { publicKeyPath } = await writeAgencyKeyFiles(await tempDir(), pair);
    const keys = await readPublicKeyFile(publicKeyPath);
    expect(await keys.resolve('nca-uk/k1')).toMatchObject({
      agency: 'nca-uk',
      keyId: 'k1',
      publicJwk: { x: pair.publicJwk.x },
    });
  });

  it('reads a JWKS file with several agencies', async () => {
    const a = await generateAgencyKey('nca-uk', { keyId: 'k1' });
    const b = await generateAgencyKey('bka-de', { keyId: 'k9' });
    const path = join(await tempDir(), 'federation.jwks');
    await writeFile(
      path,
      JSON.stringify({
        keys: [a.publicJwk, { ...b.publicJwk, 'mosaic:revokedAt': '2025-01-01T00:00:00Z' }],
      }),
    );
    const keys = await readPublicKeyFile(path);
    expect(keys.records.map((r) => r.kid)).toEqual(['nca-uk/k1', 'bka-de/k9']);
    expect((await keys.resolve('bka-de/k9'))?.revokedAt).toBe('2025-01-01T00:00:00Z');
  });

  it('refuses private keys, non-JSON, missing files and repeated kids (ERR_KEY_FILE)', async () => {
    const pair = await generateAgencyKey('nca-uk', { keyId: 'k1' });
    const dir = await tempDir();
    const write = async (name: string, content: string): Promise<string> => {
      await writeFile(join(dir, name), content);
      return join(dir, name);
    };
    await rejectsWith(
      readPublicKeyFile(await write('a', JSON.stringify(pair.privateJwk))),
      ErrorCode.KeyFile,
    );
    await rejectsWith(
      readPublicKeyFile(await write('b', JSON.stringify({ keys: [pair.privateJwk] }))),
      ErrorCode.KeyFile,
    );
    await rejectsWith(readPublicKeyFile(await write('c', '{"keys": [')), ErrorCode.KeyFile);
    await rejectsWith(
      readPublicKeyFile(
        await write('d', JSON.stringify({ keys: [pair.publicJwk, pair.publicJwk] })),
      ),
      ErrorCode.KeyFile,
    );
    await rejectsWith(readPublicKeyFile(join(dir, 'absent')), ErrorCode.KeyFile);
  });
});
