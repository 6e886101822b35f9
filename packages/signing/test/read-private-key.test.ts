import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '@mosaic/errors';
import { generateAgencyKey, readPrivateKeyFile, writeAgencyKeyFiles } from '../src/index.ts';
import { rejectsWith } from './support/errors.ts';
import { tempDir } from './support/tmp.ts';

async function keyFile(content: unknown, mode = 0o600): Promise<string> {
  const path = join(await tempDir(), 'key.private.jwk');
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content), { mode });
  return path;
}

describe('readPrivateKeyFile', () => {
  it('reads a key written by writeAgencyKeyFiles', async () => {
    const pair = await generateAgencyKey('nca-uk', { keyId: 'k1' });
    const { privateKeyPath } = await writeAgencyKeyFiles(await tempDir(), pair);
    expect(await readPrivateKeyFile(privateKeyPath)).toEqual({
      kid: 'nca-uk/k1',
      agency: 'nca-uk',
      keyId: 'k1',
      privateJwk: pair.privateJwk,
    });
  });

  it.each([0o640, 0o604, 0o660, 0o610])(
    'refuses a file with mode %o and says which chmod fixes it',
    async (mode) => {
      const pair = await generateAgencyKey('nca-uk', { keyId: 'k1' });
      const { privateKeyPath } = await writeAgencyKeyFiles(await tempDir(), pair);
      await chmod(privateKeyPath, mode);
      const err = await rejectsWith(readPrivateKeyFile(privateKeyPath), ErrorCode.KeyFile);
      expect(err.message).toContain(`chmod 600 '${privateKeyPath}'`);
    },
  );

  it('says a public key (or key set) is not a private key, whatever its file mode', async () => {
    const pair = await generateAgencyKey('nca-uk', { keyId: 'k1' });
    const { publicKeyPath } = await writeAgencyKeyFiles(await tempDir(), pair);
    const err = await rejectsWith(readPrivateKeyFile(publicKeyPath), ErrorCode.KeyFile);
    expect(err.message).toContain('is a public key');
    expect(err.message).toContain('private key');
    expect(err.message).not.toContain('chmod');
    const jwks = join(await tempDir(), 'set.jwks');
    await writeFile(jwks, JSON.stringify({ keys: [pair.publicJwk] }), { mode: 0o600 });
    const set = await rejectsWith(readPrivateKeyFile(jwks), ErrorCode.KeyFile);
    expect(set.message).toContain('is a public key');
  });

  it('refuses a missing file and a directory', async () => {
    const dir = await tempDir();
    await rejectsWith(readPrivateKeyFile(join(dir, 'absent.jwk')), ErrorCode.KeyFile);
    await mkdir(join(dir, 'sub'), { mode: 0o700 });
    await rejectsWith(readPrivateKeyFile(join(dir, 'sub')), ErrorCode.KeyFile);
  });

  it('refuses a file that is not JSON, or JSON with a repeated key', async () => {
    const pair = await generateAgencyKey('nca-uk', { keyId: 'k1' });
    await rejectsWith(readPrivateKeyFile(await keyFile('not json')), ErrorCode.KeyFile);
    const repeated = JSON.stringify(pair.privateJwk).replace('{', `{"d":"${pair.privateJwk.d}",`);
    const err = await rejectsWith(readPrivateKeyFile(await keyFile(repeated)), ErrorCode.KeyFile);
    expect((err.cause as { code?: string }).code).toBe(ErrorCode.JsonDuplicateKey);
  });

  it('refuses a public key, another key type, a malformed kid and a mismatched x', async () => {
    const pair = await generateAgencyKey('nca-uk', { keyId: 'k1' });
    const other = await generateAgencyKey('nca-uk', { keyId: 'k1' });
    const cases: unknown[] = [
      pair.publicJwk,
      { ...pair.privateJwk, crv: 'X25519' },
      {
        kty: 'EC',
        crv: 'P-256',
        kid: 'nca-uk/k1',
        x: pair.privateJwk.x,
        y: pair.privateJwk.x,
        d: pair.privateJwk.d,
      },
      { ...pair.privateJwk, kid: 'nca-uk' },
      { ...pair.privateJwk, kid: 'NCA/k1' },
      { ...pair.privateJwk, kid: undefined },
      { ...pair.privateJwk, alg: 'ES256' },
      { ...pair.privateJwk, x: other.privateJwk.x },
      { ...pair.privateJwk, d: 'AAAA' },
      [pair.privateJwk],
    ];
    for (const content of cases)
      await rejectsWith(readPrivateKeyFile(await keyFile(content)), ErrorCode.KeyFile);
  });
});
