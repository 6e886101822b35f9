import { createPrivateKey, createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '@mosaic/errors';
import { KEY_ID_PATTERN, defaultKeyId, generateAgencyKey } from '../src/index.ts';
import { rejectsWith } from './support/errors.ts';

describe('generateAgencyKey', () => {
  it('makes an Ed25519 JWK pair with kid <agency>/<keyId>', async () => {
    const pair = await generateAgencyKey('nca-uk', { keyId: 'k1' });
    expect(pair.kid).toBe('nca-uk/k1');
    expect(pair.agency).toBe('nca-uk');
    expect(pair.keyId).toBe('k1');
    expect(pair.publicJwk).toEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      alg: 'EdDSA',
      use: 'sig',
      kid: 'nca-uk/k1',
      x: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) as unknown,
    });
    expect(pair.privateJwk).toEqual({
      ...pair.publicJwk,
      d: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) as unknown,
    });
    const derived = createPublicKey(
      createPrivateKey({ key: pair.privateJwk, format: 'jwk' }),
    ).export({ format: 'jwk' });
    expect(derived.x).toBe(pair.publicJwk.x);
  });

  it('defaults to a date-based, random key id', async () => {
    const [a, b] = await Promise.all([generateAgencyKey('nca-uk'), generateAgencyKey('nca-uk')]);
    expect(a.keyId).toMatch(KEY_ID_PATTERN);
    expect(a.keyId).toMatch(/^\d{8}-[0-9a-f]{8}$/);
    expect(a.keyId).not.toBe(b.keyId);
    expect(a.publicJwk.x).not.toBe(b.publicJwk.x);
    expect(defaultKeyId(new Date('2025-03-04T23:59:59Z'))).toMatch(/^20250304-/);
  });

  it.each([
    ['NCA', 'k1'],
    ['nca.uk', 'k1'],
    ['nca-uk', 'k.1'],
    ['nca-uk', '../k'],
    ['nca-uk', ''],
  ])('refuses agency %j with key id %j (ERR_USAGE)', async (agency, keyId) => {
    await rejectsWith(generateAgencyKey(agency, { keyId }), ErrorCode.Usage);
  });
});
