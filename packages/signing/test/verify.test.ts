import { generateKeyPairSync } from 'node:crypto';
import { CompactSign, importJWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '@mosaic/errors';
import {
  DEFAULT_MAX_JWS_BYTES,
  REPORT_MEDIA_TYPE,
  generateAgencyKey,
  signReport,
  staticKeyLookup,
  verifyReport,
} from '../src/index.ts';
import type { AgencyKeyPair, KeyLookup, KeyRecord } from '../src/index.ts';
import { rejectsWith } from './support/errors.ts';
import { ed25519Signer, forgeJws, hmacSigner, noSignature, rsaSigner } from './support/forge.ts';
import { bytesOf, invalidExamples, reportFor } from './support/reports.ts';

let pair: AgencyKeyPair;
let thief: AgencyKeyPair;
let keys: KeyLookup;
let report: Record<string, unknown>;
let payload: Uint8Array;
let jws: string;
let issuedAt: number;

const header = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  alg: 'EdDSA',
  kid: 'nca-uk/k1',
  typ: REPORT_MEDIA_TYPE,
  ...extra,
});

function recordOf(p: AgencyKeyPair, extra: Partial<KeyRecord> = {}): KeyRecord {
  return { kid: p.kid, agency: p.agency, keyId: p.keyId, publicJwk: p.publicJwk, ...extra };
}

/** The standard header minus one member. */
function without(name: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(header()).filter(([key]) => key !== name));
}

const iso = (ms: number): string => new Date(ms).toISOString();

beforeAll(async () => {
  pair = await generateAgencyKey('nca-uk', { keyId: 'k1' });
  thief = await generateAgencyKey('nca-uk', { keyId: 'k1' });
  keys = staticKeyLookup([recordOf(pair)]);
  report = reportFor('nca-uk');
  payload = bytesOf(report);
  jws = await signReport(payload, pair.privateJwk);
  issuedAt = Date.parse(report.issuedAt as string);
});

const signed = (h: Record<string, unknown> | string, body: Uint8Array | string = payload): string =>
  forgeJws(h, body, ed25519Signer(pair.privateJwk));

describe('verifyReport accepts', () => {
  it('a report signed by signReport, returning the exact signed bytes and the parsed report', async () => {
    const verified = await verifyReport(jws, keys);
    expect(verified.payload).toEqual(payload);
    expect(verified.report).toMatchObject({ issuer: 'nca-uk', reportId: report.reportId });
    expect(verified.header).toEqual({ alg: 'EdDSA', kid: 'nca-uk/k1', typ: REPORT_MEDIA_TYPE });
    expect(verified).toMatchObject({ kid: 'nca-uk/k1', agency: 'nca-uk', keyId: 'k1' });
  });

  it('the JWS as bytes', async () => {
    expect((await verifyReport(new TextEncoder().encode(jws), keys)).payload).toEqual(payload);
  });

  it('ES256 only when allowed, and only for a P-256 key', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const publicJwk = { ...ec.publicKey.export({ format: 'jwk' }), kid: 'nca-uk/ec1' };
    const ecKeys = staticKeyLookup([
      recordOf(pair),
      { kid: 'nca-uk/ec1', agency: 'nca-uk', keyId: 'ec1', publicJwk },
    ]);
    const key = await importJWK(ec.privateKey.export({ format: 'jwk' }), 'ES256');
    const es = await new CompactSign(payload)
      .setProtectedHeader({ alg: 'ES256', kid: 'nca-uk/ec1', typ: REPORT_MEDIA_TYPE })
      .sign(key);
    expect((await verifyReport(es, ecKeys, { allowES256: true })).payload).toEqual(payload);
    await rejectsWith(verifyReport(es, ecKeys), ErrorCode.JwsAlgorithm);
    // The algorithm must fit the registered key: no confusion between key types.
    const esHeaderEdKey = forgeJws(
      header({ alg: 'ES256' }),
      payload,
      ed25519Signer(pair.privateJwk),
    );
    await rejectsWith(
      verifyReport(esHeaderEdKey, ecKeys, { allowES256: true }),
      ErrorCode.JwsAlgorithm,
    );
    const edHeaderEcKey = forgeJws(
      header({ kid: 'nca-uk/ec1' }),
      payload,
      ed25519Signer(pair.privateJwk),
    );
    await rejectsWith(
      verifyReport(edHeaderEcKey, ecKeys, { allowES256: true }),
      ErrorCode.JwsAlgorithm,
    );
  });
});

describe('verifyReport refuses, with a stable code,', () => {
  it('an oversize JWS (ERR_PAYLOAD_TOO_LARGE)', async () => {
    await rejectsWith(
      verifyReport(jws, keys, { maxBytes: jws.length - 1 }),
      ErrorCode.PayloadTooLarge,
    );
    await rejectsWith(
      verifyReport(new TextEncoder().encode(jws), keys, { maxBytes: 10 }),
      ErrorCode.PayloadTooLarge,
    );
    await rejectsWith(
      verifyReport('a'.repeat(DEFAULT_MAX_JWS_BYTES + 1), keys),
      ErrorCode.PayloadTooLarge,
    );
    // Counted in UTF-8 bytes, not UTF-16 units.
    await rejectsWith(
      verifyReport('é'.repeat(jws.length), keys, { maxBytes: jws.length + 1 }),
      ErrorCode.PayloadTooLarge,
    );
  });

  it.each([
    ['two parts', (t: string) => t.split('.').slice(0, 2).join('.')],
    ['four parts', (t: string) => `${t}.AAAA`],
    ['a trailing dot', (t: string) => `${t}.`],
    ['nothing', () => ''],
    ['an empty header', (t: string) => t.replace(/^[^.]+/, '')],
    ['a detached (empty) payload', (t: string) => t.replace(/\.[^.]+\./, '..')],
    ['standard base64 "+"', (t: string) => t.replace(/[A-Za-z]/, '+')],
    ['standard base64 "/"', (t: string) => t.replace(/[A-Za-z]/, '/')],
    ['padding', (t: string) => `${t}==`],
    ['white space', (t: string) => ` ${t}`],
    ['a line break', (t: string) => t.replace('.', '.\n')],
    ['a non-ASCII character', (t: string) => t.replace(/[A-Za-z]/, 'é')],
    ['an impossible base64url length', (t: string) => `${t.slice(0, t.lastIndexOf('.'))}.A`],
  ])('a JWS with %s (ERR_JWS_MALFORMED)', async (_name, mutate) => {
    await rejectsWith(verifyReport(mutate(jws), keys), ErrorCode.JwsMalformed);
  });

  it('a non-canonical base64url signature (non-zero padding bits) (ERR_JWS_MALFORMED)', async () => {
    const last = jws.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // 64 bytes = 86 characters; the last one carries 2 significant bits and 4 padding bits.
    const twin = alphabet[alphabet.indexOf(last) ^ 0b0001]!;
    await rejectsWith(verifyReport(jws.slice(0, -1) + twin, keys), ErrorCode.JwsMalformed);
  });

  it('a non-ASCII byte in a byte JWS (ERR_JWS_MALFORMED)', async () => {
    const bytes = new TextEncoder().encode(jws);
    bytes[5] = 0xc3;
    await rejectsWith(verifyReport(bytes, keys), ErrorCode.JwsMalformed);
  });

  it('a protected header that is not a JSON object, or repeats a key (ERR_JWS_MALFORMED)', async () => {
    await rejectsWith(verifyReport(signed('not json'), keys), ErrorCode.JwsMalformed);
    await rejectsWith(verifyReport(signed('["EdDSA"]'), keys), ErrorCode.JwsMalformed);
    await rejectsWith(verifyReport(signed('null'), keys), ErrorCode.JwsMalformed);
    const repeated = `{"alg":"EdDSA","kid":"nca-uk/k1","typ":"${REPORT_MEDIA_TYPE}","kid":"bka-de/k1"}`;
    const err = await rejectsWith(verifyReport(signed(repeated), keys), ErrorCode.JwsMalformed);
    expect((err.cause as { code?: string }).code).toBe(ErrorCode.JsonDuplicateKey);
    const proto = `{"alg":"EdDSA","kid":"nca-uk/k1","typ":"${REPORT_MEDIA_TYPE}","__proto__":{"b64":false}}`;
    await rejectsWith(verifyReport(signed(proto), keys), ErrorCode.JwsMalformed);
  });

  it('alg "none" with an empty signature (ERR_JWS_ALG)', async () => {
    for (const alg of ['none', 'None', 'NONE'])
      await rejectsWith(
        verifyReport(forgeJws(header({ alg }), payload, noSignature), keys),
        ErrorCode.JwsAlgorithm,
      );
  });

  it('HMAC signed with the public key bytes as the secret (ERR_JWS_ALG)', async () => {
    const secrets = [
      Buffer.from(pair.publicJwk.x, 'base64url'),
      Buffer.from(JSON.stringify(pair.publicJwk)),
    ];
    for (const secret of secrets)
      for (const alg of ['HS256', 'HS384', 'HS512'])
        await rejectsWith(
          verifyReport(forgeJws(header({ alg }), payload, hmacSigner(secret)), keys),
          ErrorCode.JwsAlgorithm,
        );
  });

  it('RS256 and every other algorithm (ERR_JWS_ALG)', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await rejectsWith(
      verifyReport(forgeJws(header({ alg: 'RS256' }), payload, rsaSigner(rsa.privateKey)), keys),
      ErrorCode.JwsAlgorithm,
    );
    for (const alg of ['PS256', 'ES256', 'ES512', 'Ed25519', 'eddsa', '', 42, null])
      await rejectsWith(verifyReport(signed(header({ alg })), keys), ErrorCode.JwsAlgorithm);
    await rejectsWith(verifyReport(signed(without('alg')), keys), ErrorCode.JwsAlgorithm);
  });

  it('an embedded or remote key or certificate (ERR_JWS_HEADER)', async () => {
    const embedded: Record<string, unknown> = {
      jwk: thief.publicJwk,
      jku: 'https://attacker.example/jwks.json',
      x5u: 'https://attacker.example/cert.pem',
      x5c: ['MIIBszCCAVmgAwIBAgIU'],
      x5t: 'dGh1bWJwcmludA',
      'x5t#S256': 'dGh1bWJwcmludA',
    };
    for (const [name, value] of Object.entries(embedded)) {
      // Signed with the embedded key's owner (the thief) and with the real key: both refused.
      const byThief = forgeJws(header({ [name]: value }), payload, ed25519Signer(thief.privateJwk));
      const err = await rejectsWith(verifyReport(byThief, keys), ErrorCode.JwsHeader);
      expect(err.details).toEqual({ parameter: name });
      expect(err.message).toMatch(/is not allowed/);
      await rejectsWith(verifyReport(signed(header({ [name]: value })), keys), ErrorCode.JwsHeader);
    }
  });

  it('b64 false, with or without crit (ERR_JWS_HEADER)', async () => {
    await rejectsWith(
      verifyReport(signed(header({ b64: false, crit: ['b64'] })), keys),
      ErrorCode.JwsHeader,
    );
    await rejectsWith(verifyReport(signed(header({ b64: false })), keys), ErrorCode.JwsHeader);
    await rejectsWith(verifyReport(signed(header({ b64: 'false' })), keys), ErrorCode.JwsHeader);
  });

  it('a missing or non-string kid, or an unknown header parameter (ERR_JWS_HEADER)', async () => {
    await rejectsWith(verifyReport(signed(without('kid')), keys), ErrorCode.JwsHeader);
    await rejectsWith(verifyReport(signed(header({ kid: 7 })), keys), ErrorCode.JwsHeader);
    await rejectsWith(
      verifyReport(signed(header({ kid: ['nca-uk/k1'] })), keys),
      ErrorCode.JwsHeader,
    );
    await rejectsWith(verifyReport(signed(header({ cty: 'json' })), keys), ErrorCode.JwsHeader);
  });

  it('any crit (ERR_JWS_CRIT)', async () => {
    await rejectsWith(
      verifyReport(signed(header({ crit: ['exp'], exp: 1 })), keys),
      ErrorCode.JwsCrit,
    );
    await rejectsWith(verifyReport(signed(header({ crit: [] })), keys), ErrorCode.JwsCrit);
    await rejectsWith(
      verifyReport(signed(header({ crit: ['b64'], b64: true })), keys),
      ErrorCode.JwsCrit,
    );
  });

  it('a missing or wrong typ (ERR_JWS_TYP)', async () => {
    await rejectsWith(verifyReport(signed(without('typ')), keys), ErrorCode.JwsType);
    for (const typ of [
      'JWT',
      'mosaic-report+jws',
      'APPLICATION/MOSAIC-REPORT+JWS',
      'application/mosaic-alert+jws',
    ])
      await rejectsWith(verifyReport(signed(header({ typ })), keys), ErrorCode.JwsType);
  });

  it('a malformed or unregistered kid (ERR_KEY_UNKNOWN)', async () => {
    for (const kid of [
      'nca-uk',
      'nca-uk/',
      '/k1',
      'NCA-UK/k1',
      'nca-uk/k1/x',
      '../k1',
      'nca-uk/k\u202e1',
    ])
      await rejectsWith(verifyReport(signed(header({ kid })), keys), ErrorCode.KeyUnknown);
    await rejectsWith(
      verifyReport(signed(header({ kid: 'nca-uk/k2' })), keys),
      ErrorCode.KeyUnknown,
    );
    await rejectsWith(
      verifyReport(signed(header({ kid: 'bka-de/k1' })), keys),
      ErrorCode.KeyUnknown,
    );
  });

  it('a kid the lookup answers with another key record (ERR_KEY_UNKNOWN)', async () => {
    const confused: KeyLookup = {
      resolve: () => Promise.resolve({ ...recordOf(pair), kid: 'nca-uk/k2', keyId: 'k2' }),
    };
    await rejectsWith(verifyReport(jws, confused), ErrorCode.KeyUnknown);
  });

  it('a tampered payload byte (ERR_SIG_INVALID)', async () => {
    const [h, p, s] = jws.split('.') as [string, string, string];
    const bytes = Buffer.from(p, 'base64url');
    const at = bytes.indexOf('nca-uk');
    bytes[at] = 'm'.charCodeAt(0);
    await rejectsWith(
      verifyReport(`${h}.${bytes.toString('base64url')}.${s}`, keys),
      ErrorCode.SignatureInvalid,
    );
    // Even a change the JSON parser would not notice (white space) breaks the signature.
    const spaced = Buffer.concat([Buffer.from(' '), Buffer.from(p, 'base64url')]).toString(
      'base64url',
    );
    await rejectsWith(verifyReport(`${h}.${spaced}.${s}`, keys), ErrorCode.SignatureInvalid);
  });

  it('a tampered header (ERR_SIG_INVALID)', async () => {
    const [, p, s] = jws.split('.') as [string, string, string];
    const h = Buffer.from(JSON.stringify(header(), null, 1)).toString('base64url');
    await rejectsWith(verifyReport(`${h}.${p}.${s}`, keys), ErrorCode.SignatureInvalid);
  });

  it('a signature by another key under a stolen kid (ERR_SIG_INVALID)', async () => {
    const stolen = await signReport(payload, thief.privateJwk);
    expect(stolen.split('.')[0]).toBe(jws.split('.')[0]);
    await rejectsWith(verifyReport(stolen, keys), ErrorCode.SignatureInvalid);
    const [h, p] = jws.split('.');
    await rejectsWith(verifyReport(`${h}.${p}.`, keys), ErrorCode.SignatureInvalid);
  });

  it('a signed payload that is not a valid report (contract codes)', async () => {
    await rejectsWith(verifyReport(signed(header(), '{}'), keys), ErrorCode.Schema);
    await rejectsWith(
      verifyReport(signed(header(), '{"issuer":"nca-uk","issuer":"x"}'), keys),
      ErrorCode.JsonDuplicateKey,
    );
    await rejectsWith(verifyReport(signed(header(), 'not json'), keys), ErrorCode.JsonSyntax);
  });

  it('every invalid contract example, validly signed, with the contract code', async () => {
    for (const { bytes, code } of invalidExamples())
      await rejectsWith(verifyReport(signed(header(), bytes), keys), code as ErrorCode);
  });

  it('a report whose issuer is not the agency of the key (ERR_ISSUER_MISMATCH)', async () => {
    const forged = signed(header(), bytesOf(reportFor('bka-de')));
    await rejectsWith(verifyReport(forged, keys), ErrorCode.IssuerMismatch);
  });

  it('a key not yet valid or expired at issuedAt (ERR_KEY_NOT_VALID)', async () => {
    const lookup = (extra: Partial<KeyRecord>): KeyLookup =>
      staticKeyLookup([recordOf(pair, extra)]);
    await rejectsWith(
      verifyReport(jws, lookup({ notBefore: iso(issuedAt + 1000) })),
      ErrorCode.KeyExpired,
    );
    await rejectsWith(
      verifyReport(jws, lookup({ notAfter: iso(issuedAt - 1000) })),
      ErrorCode.KeyExpired,
    );
    // notAfter is exclusive, notBefore inclusive.
    await rejectsWith(verifyReport(jws, lookup({ notAfter: iso(issuedAt) })), ErrorCode.KeyExpired);
    await verifyReport(jws, lookup({ notBefore: iso(issuedAt), notAfter: iso(issuedAt + 1) }));
  });

  it('a key retired before the report was received, however early issuedAt claims (ERR_KEY_NOT_VALID)', async () => {
    // Rotation with retire-at now: the old key's window ended a minute after issuedAt.
    const retiredAt = issuedAt + 60_000;
    const retired = staticKeyLookup([recordOf(pair, { notAfter: iso(retiredAt) })]);
    await verifyReport(jws, retired, { receivedAt: new Date(retiredAt - 1) });
    await rejectsWith(
      verifyReport(jws, retired, { receivedAt: new Date(retiredAt) }),
      ErrorCode.KeyExpired,
    );
    // A backdated report signed after retirement: issuedAt inside the window, receipt after it.
    const backdated = await signReport(
      bytesOf({ ...report, issuedAt: iso(retiredAt - 86_400_000).replace('.000Z', 'Z') }),
      pair.privateJwk,
    );
    const err = await rejectsWith(
      verifyReport(backdated, retired, { receivedAt: new Date(retiredAt + 1000) }),
      ErrorCode.KeyExpired,
    );
    expect(err.details).toMatchObject({ receivedAt: iso(retiredAt + 1000) });
    // A key not yet valid when received is refused as well.
    const future = staticKeyLookup([recordOf(pair, { notBefore: iso(issuedAt) })]);
    await rejectsWith(
      verifyReport(jws, future, { receivedAt: new Date(issuedAt - 1) }),
      ErrorCode.KeyExpired,
    );
  });

  it('issuedAt before the key’s validity began, e.g. 1970 or year 1 (ERR_KEY_NOT_VALID)', async () => {
    const from = staticKeyLookup([recordOf(pair, { notBefore: iso(issuedAt - 60_000) })]);
    for (const claimed of ['1970-01-01T00:00:00Z', '0001-01-01T00:00:00Z']) {
      const old = await signReport(bytesOf({ ...report, issuedAt: claimed }), pair.privateJwk);
      await rejectsWith(
        verifyReport(old, from, { receivedAt: new Date(issuedAt) }),
        ErrorCode.KeyExpired,
      );
    }
  });

  it('a revocation is judged at receivedAt when given', async () => {
    const revokedAt = issuedAt + 60_000;
    const revoked = staticKeyLookup([recordOf(pair, { revokedAt: iso(revokedAt) })]);
    await verifyReport(jws, revoked, { receivedAt: new Date(revokedAt - 1) });
    await rejectsWith(
      verifyReport(jws, revoked, { receivedAt: new Date(revokedAt) }),
      ErrorCode.KeyRevoked,
    );
  });

  it('audit replay of a stored report still verifies after its key was retired', async () => {
    const retiredAt = issuedAt + 60_000;
    const retired = staticKeyLookup([recordOf(pair, { notAfter: iso(retiredAt) })]);
    const replay = await verifyReport(jws, retired, {
      now: new Date(retiredAt + 86_400_000),
      acceptRevokedBefore: new Date(issuedAt + 1000),
    });
    expect(replay.payload).toEqual(payload);
  });

  it('an unparseable validity time from a foreign lookup fails closed (ERR_KEY_NOT_VALID)', async () => {
    const foreign: KeyLookup = {
      resolve: () => Promise.resolve(recordOf(pair, { notBefore: 'someday' })),
    };
    await rejectsWith(verifyReport(jws, foreign), ErrorCode.KeyExpired);
    const revoked: KeyLookup = {
      resolve: () => Promise.resolve(recordOf(pair, { revokedAt: 'someday' })),
    };
    await rejectsWith(verifyReport(jws, revoked), ErrorCode.KeyRevoked);
  });

  it('a revoked key (ERR_KEY_REVOKED), unless audit replay proves the report predates revocation', async () => {
    const revokedAt = issuedAt + 60_000;
    const revoked = staticKeyLookup([recordOf(pair, { revokedAt: iso(revokedAt) })]);
    const now = new Date(revokedAt + 1);
    await rejectsWith(verifyReport(jws, revoked, { now }), ErrorCode.KeyRevoked);
    await rejectsWith(
      verifyReport(jws, revoked, { now: new Date(revokedAt) }),
      ErrorCode.KeyRevoked,
    );
    // Revocation scheduled for later does not bite yet.
    await verifyReport(jws, revoked, { now: new Date(revokedAt - 1) });
    // Audit replay: archived before revocation, issued before revocation.
    const replay = await verifyReport(jws, revoked, {
      now,
      acceptRevokedBefore: new Date(issuedAt + 1000),
    });
    expect(replay.payload).toEqual(payload);
    // Archived only after revocation: the issuedAt claim alone is not trusted.
    await rejectsWith(
      verifyReport(jws, revoked, { now, acceptRevokedBefore: new Date(revokedAt + 1) }),
      ErrorCode.KeyRevoked,
    );
    // A report claiming to be issued after revocation never passes.
    const late = staticKeyLookup([recordOf(pair, { revokedAt: iso(issuedAt - 1) })]);
    await rejectsWith(
      verifyReport(jws, late, { now, acceptRevokedBefore: new Date(issuedAt - 1000) }),
      ErrorCode.KeyRevoked,
    );
  });
});
