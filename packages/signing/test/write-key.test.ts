import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '@mosaic/errors';
import {
  generateAgencyKey,
  keyFileNames,
  readPrivateKeyFile,
  writeAgencyKeyFiles,
} from '../src/index.ts';
import { rejectsWith } from './support/errors.ts';
import { tempDir } from './support/tmp.ts';

describe('writeAgencyKeyFiles', () => {
  it('writes <agency>.<keyId>.private.jwk with mode 0600 and the public half world-readable', async () => {
    const dir = await tempDir();
    const pair = await generateAgencyKey('nca-uk', { keyId: 'k1' });
    const files = await writeAgencyKeyFiles(dir, pair);
    expect(files).toEqual({
      privateKeyPath: join(dir, 'nca-uk.k1.private.jwk'),
      publicKeyPath: join(dir, 'nca-uk.k1.public.jwk'),
    });
    expect((await stat(files.privateKeyPath)).mode & 0o777).toBe(0o600);
    const publicMode = (await stat(files.publicKeyPath)).mode & 0o777;
    expect(publicMode & 0o600).toBe(0o600);
    expect(publicMode & 0o022).toBe(0);
    expect(JSON.parse(await readFile(files.privateKeyPath, 'utf8'))).toEqual(pair.privateJwk);
    expect(JSON.parse(await readFile(files.publicKeyPath, 'utf8'))).toEqual(pair.publicJwk);
    expect((await readPrivateKeyFile(files.privateKeyPath)).privateJwk).toEqual(pair.privateJwk);
  });

  it('refuses to overwrite an existing private key (ERR_IO) and leaves it untouched', async () => {
    const dir = await tempDir();
    const pair = await generateAgencyKey('nca-uk', { keyId: 'k1' });
    const path = join(dir, keyFileNames('nca-uk', 'k1').private);
    await writeFile(path, 'precious', { mode: 0o600 });
    const err = await rejectsWith(writeAgencyKeyFiles(dir, pair), ErrorCode.Io);
    expect(err.message).toMatch(/refusing to overwrite/);
    expect(await readFile(path, 'utf8')).toBe('precious');
  });

  it('refuses when only the public file exists, leaving no private key behind', async () => {
    const dir = await tempDir();
    const pair = await generateAgencyKey('nca-uk', { keyId: 'k1' });
    const names = keyFileNames('nca-uk', 'k1');
    await writeFile(join(dir, names.public), 'other');
    await rejectsWith(writeAgencyKeyFiles(dir, pair), ErrorCode.Io);
    expect(existsSync(join(dir, names.private))).toBe(false);
    expect(await readFile(join(dir, names.public), 'utf8')).toBe('other');
  });

  it('fails with ERR_IO when the directory does not exist', async () => {
    const dir = await tempDir();
    const pair = await generateAgencyKey('nca-uk', { keyId: 'k1' });
    await rejectsWith(writeAgencyKeyFiles(join(dir, 'missing'), pair), ErrorCode.Io);
  });

  it('refuses a pair whose halves do not belong together (ERR_KEY_FILE)', async () => {
    const dir = await tempDir();
    const a = await generateAgencyKey('nca-uk', { keyId: 'k1' });
    const b = await generateAgencyKey('nca-uk', { keyId: 'k1' });
    await rejectsWith(
      writeAgencyKeyFiles(dir, { ...a, publicJwk: b.publicJwk }),
      ErrorCode.KeyFile,
    );
  });
});
