import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { generateAgencyKey, jwksKeyLookup, staticKeyLookup } from '../src/index.ts';
import type { KeyRecord } from '../src/index.ts';

function expectCode(fn: () => unknown, code: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(MosaicError);
  expect((thrown as MosaicError).code).toBe(code);
}

async function record(overrides: Partial<KeyRecord> = {}): Promise<KeyRecord> {
  const pair = await generateAgencyKey('nca-uk', { keyId: 'k1' });
  return {
    kid: pair.kid,
    agency: pair.agency,
    keyId: pair.keyId,
    publicJwk: pair.publicJwk,
    ...overrides,
  };
}

describe('staticKeyLookup', () => {
  it('resolves registered kids only', async () => {
    const rec = await record({
      notBefore: '2025-01-01T00:00:00Z',
      revokedAt: '2026-01-01T00:00:00.5+01:00',
    });
    const keys = staticKeyLookup([rec]);
    const found = await keys.resolve('nca-uk/k1');
    expect(found).toMatchObject({
      kid: 'nca-uk/k1',
      agency: 'nca-uk',
      keyId: 'k1',
      notBefore: '2025-01-01T00:00:00Z',
    });
    expect(found?.publicJwk).toEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      x: rec.publicJwk.x,
      alg: 'EdDSA',
      use: 'sig',
      kid: 'nca-uk/k1',
    });
    expect(await keys.resolve('nca-uk/k2')).toBeUndefined();
    expect(keys.records).toHaveLength(1);
  });

  it('refuses inconsistent records, bad times, private keys and repeated kids (ERR_KEY_FILE)', async () => {
    const rec = await record();
    const priv = await generateAgencyKey('nca-uk', { keyId: 'k1' });
    expectCode(() => staticKeyLookup([{ ...rec, agency: 'other' }]), ErrorCode.KeyFile);
    expectCode(() => staticKeyLookup([{ ...rec, kid: 'other/k1' }]), ErrorCode.KeyFile);
    expectCode(() => staticKeyLookup([{ ...rec, notAfter: 'tomorrow' }]), ErrorCode.KeyFile);
    expectCode(
      () => staticKeyLookup([{ ...rec, revokedAt: '2025-13-45T00:00:00Z' }]),
      ErrorCode.KeyFile,
    );
    expectCode(() => staticKeyLookup([{ ...rec, publicJwk: priv.privateJwk }]), ErrorCode.KeyFile);
    expectCode(() => staticKeyLookup([rec, rec]), ErrorCode.KeyFile);
  });
});

describe('jwksKeyLookup', () => {
  it('reads validity from the mosaic: members', async () => {
    const pair = await generateAgencyKey('nca-uk', { keyId: 'k1' });
    const keys = jwksKeyLookup({
      keys: [
        {
          ...pair.publicJwk,
          'mosaic:notBefore': '2025-01-01T00:00:00Z',
          'mosaic:notAfter': '2027-01-01T00:00:00Z',
          'mosaic:revokedAt': '2026-06-01T00:00:00Z',
        },
      ],
    });
    expect(await keys.resolve(pair.kid)).toMatchObject({
      notBefore: '2025-01-01T00:00:00Z',
      notAfter: '2027-01-01T00:00:00Z',
      revokedAt: '2026-06-01T00:00:00Z',
    });
  });

  it('accepts EC P-256 keys (for the ES256 option) and refuses other key types', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
      format: 'jwk',
    });
    const keys = jwksKeyLookup({ keys: [{ ...ec, kid: 'nca-uk/ec1' }] });
    expect((await keys.resolve('nca-uk/ec1'))?.publicJwk).toMatchObject({
      kty: 'EC',
      crv: 'P-256',
      alg: 'ES256',
    });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
      format: 'jwk',
    });
    expectCode(() => jwksKeyLookup({ keys: [{ ...rsa, kid: 'nca-uk/r1' }] }), ErrorCode.KeyFile);
    expectCode(
      () => jwksKeyLookup({ keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'nca-uk/h1' }] }),
      ErrorCode.KeyFile,
    );
    expectCode(
      () =>
        jwksKeyLookup({
          keys: [
            { ...ec, kid: 'nca-uk/ec1', y: ec.x?.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) },
          ],
        }),
      ErrorCode.KeyFile,
    );
  });

  it('refuses what is not a JWKS', () => {
    expectCode(() => jwksKeyLookup({}), ErrorCode.KeyFile);
    expectCode(() => jwksKeyLookup([]), ErrorCode.KeyFile);
    expectCode(() => jwksKeyLookup(null), ErrorCode.KeyFile);
  });
});
