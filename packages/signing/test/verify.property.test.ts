import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { MosaicError } from '@mosaic/errors';
import { generateAgencyKey, signReport, staticKeyLookup, verifyReport } from '../src/index.ts';
import type { KeyLookup } from '../src/index.ts';
import { bytesOf, reportFor } from './support/reports.ts';

let keys: KeyLookup;
let payload: Uint8Array;
let jws: Uint8Array;

beforeAll(async () => {
  const pair = await generateAgencyKey('nca-uk', { keyId: 'k1' });
  keys = staticKeyLookup([
    { kid: pair.kid, agency: pair.agency, keyId: pair.keyId, publicJwk: pair.publicJwk },
  ]);
  payload = bytesOf(reportFor('nca-uk'));
  jws = new TextEncoder().encode(await signReport(payload, pair.privateJwk));
});

describe('verifyReport under single-byte corruption', () => {
  it('never verifies different content: a flip fails with a MosaicError or yields the same bytes', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: jws.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (index, mask) => {
          const corrupted = new Uint8Array(jws);
          corrupted[index]! ^= mask;
          const outcome = await verifyReport(corrupted, keys).then(
            (verified) => verified,
            (err: unknown) => err,
          );
          if (outcome instanceof MosaicError) return;
          expect(outcome).not.toBeInstanceOf(Error);
          expect((outcome as { payload: Uint8Array }).payload).toEqual(payload);
          accepted += 1;
        },
      ),
      { numRuns: 400 },
    );
    // Stronger than required: canonical base64url leaves no non-significant bit to flip.
    expect(accepted).toBe(0);
  });

  it('covers every position of the header, payload and signature', async () => {
    // Exhaustive over positions with one mask, so no part of the token is left to chance.
    for (let index = 0; index < jws.length; index += 1) {
      const corrupted = new Uint8Array(jws);
      corrupted[index]! ^= 0x01;
      await expect(verifyReport(corrupted, keys)).rejects.toBeInstanceOf(MosaicError);
    }
  });
});
