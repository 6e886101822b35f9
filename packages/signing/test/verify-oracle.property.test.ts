/**
 * `verifyReport` checks signatures through node:crypto; jose's `compactVerify` is the oracle:
 * for reports signed with Ed25519 or P-256 keys and then tampered with, `verifyReport` accepts
 * exactly the tokens jose accepts, and refuses the rest with the code of the check that fails.
 */
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { compactVerify, importJWK } from 'jose';
import type { JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import {
  REPORT_MEDIA_TYPE,
  generateAgencyKey,
  staticKeyLookup,
  verifyReport,
} from '../src/index.ts';
import type { KeyLookup, SignatureAlgorithm } from '../src/index.ts';
import { validExamples } from './support/reports.ts';

/** The order of P-256 (SEC 2 §2.4.2): `n − s` is the other, "high" S of a signature. */
const P256_ORDER = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

/** The codes of the checks before the signature's: a tampered header may fail any of them. */
const BEFORE_SIGNATURE: readonly string[] = [
  ErrorCode.JwsMalformed,
  ErrorCode.JwsAlgorithm,
  ErrorCode.JwsHeader,
  ErrorCode.JwsCrit,
  ErrorCode.JwsType,
  ErrorCode.KeyUnknown,
];

interface Signer {
  alg: SignatureAlgorithm;
  kid: string;
  privateKey: KeyObject;
  publicJwk: JWK;
}

let ed: Signer;
let ec: Signer;
/** Another Ed25519 key, never registered. */
let thief: KeyObject;
/** A second P-256 key, never registered. */
let ecThief: KeyObject;
let keys: KeyLookup;
let reports: Uint8Array[];

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

function signWith(alg: SignatureAlgorithm, key: KeyObject, input: string): Uint8Array {
  const data = Buffer.from(input, 'ascii');
  return new Uint8Array(
    alg === 'EdDSA'
      ? sign(null, data, key)
      : sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' }),
  );
}

/** The same ES256 signature with S replaced by n − S. */
function highS(signature: Uint8Array): Uint8Array {
  const s = BigInt(`0x${Buffer.from(signature.subarray(32)).toString('hex')}`);
  const other = Buffer.from((P256_ORDER - s).toString(16).padStart(64, '0'), 'hex');
  return new Uint8Array([...signature.subarray(0, 32), ...other]);
}

function flip(bytes: Uint8Array, bit: number): Uint8Array {
  const out = new Uint8Array(bytes);
  const at = bit % (out.length * 8);
  out[at >> 3]! ^= 1 << (at & 7);
  return out;
}

type Tamper =
  | { kind: 'none' }
  | { kind: 'header-bit'; bit: number }
  | { kind: 'payload-bit'; bit: number }
  | { kind: 'signature-bit'; bit: number }
  | { kind: 'truncate'; drop: number }
  | { kind: 'extend'; byte: number }
  | { kind: 'wrong-key' }
  | { kind: 'other-algorithm' }
  | { kind: 'high-s' }
  | { kind: 'der' };

/** Tamperings that leave the header untouched: only the signature check can refuse them. */
const SIGNATURE_ONLY = new Set<Tamper['kind']>([
  'payload-bit',
  'signature-bit',
  'truncate',
  'extend',
  'wrong-key',
  'other-algorithm',
  'der',
]);

const tampers: fc.Arbitrary<Tamper> = fc.oneof(
  fc.constant<Tamper>({ kind: 'none' }),
  fc.nat().map<Tamper>((bit) => ({ kind: 'header-bit', bit })),
  fc.nat().map<Tamper>((bit) => ({ kind: 'payload-bit', bit })),
  fc.nat().map<Tamper>((bit) => ({ kind: 'signature-bit', bit })),
  fc.integer({ min: 1, max: 64 }).map<Tamper>((drop) => ({ kind: 'truncate', drop })),
  fc.integer({ min: 0, max: 255 }).map<Tamper>((byte) => ({ kind: 'extend', byte })),
  fc.constant<Tamper>({ kind: 'wrong-key' }),
  fc.constant<Tamper>({ kind: 'other-algorithm' }),
  fc.constant<Tamper>({ kind: 'high-s' }),
  fc.constant<Tamper>({ kind: 'der' }),
);

/** A compact JWS of `payload` by `signer`, tampered with as `tamper` says. */
function token(signer: Signer, payload: Uint8Array, tamper: Tamper): string {
  const signed: Uint8Array = new TextEncoder().encode(
    JSON.stringify({ alg: signer.alg, kid: signer.kid, typ: REPORT_MEDIA_TYPE }),
  );
  let body = payload;
  const input = `${b64(signed)}.${b64(body)}`;
  let header = signed;
  let signature: Uint8Array;
  switch (tamper.kind) {
    case 'wrong-key':
      signature = signWith(signer.alg, signer.alg === 'EdDSA' ? thief : ecThief, input);
      break;
    case 'other-algorithm':
      // A valid signature of the other algorithm over the same input (64 bytes either way).
      signature =
        signer.alg === 'EdDSA'
          ? signWith('ES256', ec.privateKey, input)
          : signWith('EdDSA', ed.privateKey, input);
      break;
    default:
      signature = signWith(signer.alg, signer.privateKey, input);
  }
  switch (tamper.kind) {
    case 'header-bit':
      // Signed before the flip, as is every tampering below: it happens on the wire.
      header = flip(header, tamper.bit);
      break;
    case 'payload-bit':
      body = flip(body, tamper.bit);
      break;
    case 'signature-bit':
      signature = flip(signature, tamper.bit);
      break;
    case 'truncate':
      signature = signature.subarray(0, signature.length - tamper.drop);
      break;
    case 'extend':
      signature = new Uint8Array([...signature, tamper.byte]);
      break;
    case 'high-s':
      if (signer.alg === 'ES256') signature = highS(signature);
      break;
    case 'der':
      if (signer.alg === 'ES256')
        signature = new Uint8Array(
          sign('sha256', Buffer.from(input, 'ascii'), {
            key: signer.privateKey,
            dsaEncoding: 'der',
          }),
        );
      break;
    default:
      break;
  }
  return `${b64(header)}.${b64(body)}.${b64(signature)}`;
}

/** jose's verdict with the registered key of `signer` and its algorithm alone. */
async function oracle(signer: Signer, jws: string): Promise<Uint8Array | undefined> {
  const key = await importJWK(signer.publicJwk, signer.alg);
  return compactVerify(jws, key, { algorithms: [signer.alg] }).then(
    (result) => result.payload,
    () => undefined,
  );
}

beforeAll(async () => {
  const pair = await generateAgencyKey('nca-uk', { keyId: 'k1' });
  ed = {
    alg: 'EdDSA',
    kid: pair.kid,
    privateKey: createPrivateKey({ key: pair.privateJwk, format: 'jwk' }),
    publicJwk: pair.publicJwk,
  };
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicJwk = p256.publicKey.export({ format: 'jwk' }) as JWK;
  ec = {
    alg: 'ES256',
    kid: 'nca-uk/ec1',
    privateKey: p256.privateKey,
    publicJwk: { ...publicJwk, kid: 'nca-uk/ec1', alg: 'ES256' },
  };
  thief = generateKeyPairSync('ed25519').privateKey;
  ecThief = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  keys = staticKeyLookup([
    { kid: ed.kid, agency: 'nca-uk', keyId: 'k1', publicJwk: ed.publicJwk },
    { kid: ec.kid, agency: 'nca-uk', keyId: 'ec1', publicJwk: ec.publicJwk },
  ]);
  reports = validExamples().map(({ bytes }) => {
    const report = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    return new TextEncoder().encode(JSON.stringify({ ...report, issuer: 'nca-uk' }));
  });
});

describe('verifyReport against jose as the oracle', () => {
  it('accepts exactly what compactVerify accepts, and refuses the rest with the failing check’s code', async () => {
    const seen = { accepted: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.nat(),
        tampers,
        fc.boolean(),
        async (useEc, pick, tamper, asBytes) => {
          const signer = useEc ? ec : ed;
          const payload = reports[pick % reports.length]!;
          const jws = token(signer, payload, tamper);
          const expected = await oracle(signer, jws);
          const outcome = await verifyReport(asBytes ? new TextEncoder().encode(jws) : jws, keys, {
            allowES256: true,
          }).then(
            (verified) => verified,
            (err: unknown) => err,
          );
          if (expected !== undefined) {
            seen.accepted += 1;
            expect(outcome).not.toBeInstanceOf(Error);
            expect((outcome as { payload: Uint8Array }).payload).toEqual(expected);
            return;
          }
          seen.refused += 1;
          expect(outcome).toBeInstanceOf(MosaicError);
          const { code, message } = outcome as MosaicError;
          if (SIGNATURE_ONLY.has(tamper.kind)) {
            expect(code).toBe(ErrorCode.SignatureInvalid);
            expect(message).toBe(`signature does not verify with key "${signer.kid}"`);
          } else expect([...BEFORE_SIGNATURE, ErrorCode.SignatureInvalid]).toContain(code);
        },
      ),
      { numRuns: 600 },
    );
    // Both verdicts occur, so neither half of the property holds vacuously.
    expect(seen.accepted).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  });

  it('accepts a high-S ES256 signature exactly when jose does, and the untampered signature', async () => {
    const payload = reports[0]!;
    const plain = token(ec, payload, { kind: 'none' });
    const high = token(ec, payload, { kind: 'high-s' });
    const verdict = (jws: string): Promise<boolean> =>
      verifyReport(jws, keys, { allowES256: true }).then(
        () => true,
        () => false,
      );
    expect(await verdict(plain)).toBe(true);
    expect(await verdict(high)).toBe((await oracle(ec, high)) !== undefined);
  });
});
