import { ErrorCode, MosaicError } from '@mosaic/errors';
import {
  generateAgencyKey,
  signReport,
  staticKeyLookup,
  type AgencyKeyPair,
  type KeyLookup,
} from '@mosaic/signing';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  defaultVerifyWorkers,
  startReportVerifier,
  type StoredReport,
} from '../src/verify-pool.ts';
import { recruitment } from './helpers.ts';

let pair: AgencyKeyPair;
let keys: KeyLookup;
let good: Uint8Array[];
const encoder = new TextEncoder();
const now = Date.now();

const report = (issuer: string) => ({ ...recruitment(), issuer });

const stored = (data: Uint8Array): StoredReport => ({ data, storedMs: now });

beforeAll(async () => {
  pair = await generateAgencyKey('nl-police', { keyId: 'k1' });
  keys = staticKeyLookup([
    { kid: pair.kid, agency: pair.agency, keyId: pair.keyId, publicJwk: pair.publicJwk },
  ]);
  good = await Promise.all(
    Array.from({ length: 40 }, async () =>
      encoder.encode(
        await signReport(encoder.encode(JSON.stringify(report('nl-police'))), pair.privateJwk),
      ),
    ),
  );
});

describe('report verifier', () => {
  it('gives each report the same verdict on this thread and on worker threads, in order', async () => {
    const jws = new TextDecoder().decode(good[0]);
    const tampered = encoder.encode(jws.replace(/.$/, (c) => (c === 'A' ? 'Q' : 'A')));
    const other = await generateAgencyKey('de-bka', { keyId: 'k1' });
    const unknown = encoder.encode(
      await signReport(encoder.encode(JSON.stringify(report('de-bka'))), other.privateJwk),
    );
    // A view into a larger buffer, as a NATS client hands a message: only its bytes count.
    const framed = new Uint8Array(good[1]!.length + 8);
    framed.set(good[1]!, 4);
    const batch = [
      ...good.slice(2, 12),
      tampered,
      encoder.encode('not a jws'),
      unknown,
      framed.subarray(4, 4 + good[1]!.length),
      ...good.slice(12),
    ].map(stored);
    await using here = await startReportVerifier(0, keys);
    await using threads = await startReportVerifier(2, keys);
    expect(threads.workers).toBe(2);
    const expected = await here.verify(batch);
    expect(expected.filter((v) => !v.ok)).toEqual([
      {
        ok: false,
        code: ErrorCode.SignatureInvalid,
        message: `signature does not verify with key "${pair.kid}"`,
      },
      {
        ok: false,
        code: ErrorCode.JwsMalformed,
        message: 'JWS holds characters outside the base64url alphabet and "."',
      },
      { ok: false, code: ErrorCode.KeyUnknown, message: `no key "${other.kid}" is registered` },
    ]);
    expect(expected.findIndex((v) => !v.ok)).toBe(10);
    const [first, second] = await Promise.all([
      threads.verify(batch),
      threads.verify(batch.slice(0, 20)),
    ]);
    expect(first).toEqual(expected);
    expect(second).toEqual(expected.slice(0, 20));
  });

  it('asks the lookup once per key id per worker while it finds the key, every time it does not', async () => {
    const asked: string[] = [];
    const counting: KeyLookup = {
      resolve: (kid) => {
        asked.push(kid);
        return keys.resolve(kid);
      },
    };
    await using verifier = await startReportVerifier(1, counting);
    const verdicts = await verifier.verify(good.map(stored));
    expect(verdicts.every((v) => v.ok)).toBe(true);
    expect(asked).toEqual([pair.kid]);
    const failing: KeyLookup = {
      resolve: () => Promise.reject(new MosaicError(ErrorCode.Unavailable, 'the hub is down')),
    };
    await using down = await startReportVerifier(1, failing);
    expect(await down.verify(good.slice(0, 3).map(stored))).toEqual(
      Array.from({ length: 3 }, () => ({
        ok: false,
        code: ErrorCode.Unavailable,
        message: 'the hub is down',
      })),
    );
  });

  it('refuses batches once closed', async () => {
    const verifier = await startReportVerifier(1, keys);
    await verifier[Symbol.asyncDispose]();
    await expect(verifier.verify(good.slice(0, 1).map(stored))).rejects.toThrow(
      /verification worker/,
    );
  });
});

describe('default workers', () => {
  it('none on one core, one per core from two on', () => {
    expect([1, 2, 3, 4, 16].map(defaultVerifyWorkers)).toEqual([0, 2, 3, 4, 16]);
  });
});
