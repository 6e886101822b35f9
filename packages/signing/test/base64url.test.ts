import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64url, isCanonicalBase64url } from '../src/base64url.ts';

const DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The definition: the alphabet, a possible length, and what re-encoding the bytes spells. */
function canonicalByRoundTrip(text: string): boolean {
  return (
    /^[A-Za-z0-9_-]*$/.test(text) &&
    text.length % 4 !== 1 &&
    Buffer.from(text, 'base64url').toString('base64url') === text
  );
}

describe('canonical base64url', () => {
  it('agrees with decoding and re-encoding, for any text over the alphabet and beyond', () => {
    const alphabet = fc.constantFrom(...Array.from(DIGITS));
    const anyChar = fc.constantFrom(...Array.from(`${DIGITS}=+/. \u00e9`));
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: alphabet, maxLength: 40 }), fc.string({ unit: anyChar })),
        (text) => {
          expect(isCanonicalBase64url(text)).toBe(canonicalByRoundTrip(text));
          const bytes = decodeBase64url(text);
          expect(bytes !== undefined).toBe(canonicalByRoundTrip(text));
          if (bytes !== undefined) expect(Buffer.from(bytes).toString('base64url')).toBe(text);
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it('refuses padding bits and lone characters, accepts every byte string encoded', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), (bytes) => {
        const text = Buffer.from(bytes).toString('base64url');
        expect(isCanonicalBase64url(text)).toBe(true);
        expect(decodeBase64url(text)).toEqual(new Uint8Array(bytes));
        if (text.length % 4 !== 0) {
          const last = DIGITS.indexOf(text.slice(-1));
          expect(isCanonicalBase64url(`${text.slice(0, -1)}${DIGITS[last | 1] ?? ''}`)).toBe(false);
        }
        expect(isCanonicalBase64url(`${text}${text.length % 4 === 0 ? 'A' : ''}`)).toBe(
          text.length % 4 !== 0,
        );
      }),
    );
  });
});
