import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CryptoNetwork, isValidCryptoAddress } from '../src/index.ts';
import { base58Check, segwitEncode } from './support/encoders.ts';

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });

describe('isValidCryptoAddress', () => {
  it('accepts the BIP 173 and BIP 350 test vectors', () => {
    expect(isValidCryptoAddress('bitcoin', 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4')).toBe(
      true,
    );
    expect(
      isValidCryptoAddress(
        'bitcoin',
        'bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3',
      ),
    ).toBe(true);
    expect(
      isValidCryptoAddress(
        'bitcoin',
        'bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0',
      ),
    ).toBe(true);
  });

  it.each([
    ['bech32 checksum', 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5'],
    ['v0 with a bech32m checksum', 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kdk9d5f'],
    ['v1 with a bech32 checksum', 'bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut'],
    ['upper case segwit', 'BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4'],
    ['testnet', 'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx'],
    ['base58 checksum', '1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3'],
    ['base58 alphabet (0)', '1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN0'],
    ['ethereum address', '0x52908400098527886E0F7030069857D2E4169EE7'],
  ])('rejects a bitcoin %s', (_name, address) => {
    expect(isValidCryptoAddress('bitcoin', address)).toBe(false);
  });

  it('accepts known-good legacy addresses', () => {
    expect(isValidCryptoAddress('bitcoin', '1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2')).toBe(true);
    expect(isValidCryptoAddress('bitcoin', '3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy')).toBe(true);
  });

  it('accepts generated Base58Check and segwit addresses per network, and rejects them elsewhere', () => {
    fc.assert(
      fc.property(bytes(20), bytes(32), (h20, h32) => {
        expect(isValidCryptoAddress('bitcoin', base58Check(0x00, h20))).toBe(true);
        expect(isValidCryptoAddress('bitcoin', base58Check(0x05, h20))).toBe(true);
        expect(isValidCryptoAddress('bitcoin', segwitEncode('bc', 0, h20))).toBe(true);
        expect(isValidCryptoAddress('bitcoin', segwitEncode('bc', 0, h32))).toBe(true);
        expect(isValidCryptoAddress('bitcoin', segwitEncode('bc', 1, h32))).toBe(true);
        expect(isValidCryptoAddress('litecoin', base58Check(0x30, h20))).toBe(true);
        expect(isValidCryptoAddress('litecoin', base58Check(0x32, h20))).toBe(true);
        expect(isValidCryptoAddress('litecoin', segwitEncode('ltc', 0, h20))).toBe(true);
        expect(isValidCryptoAddress('tron', base58Check(0x41, h20))).toBe(true);
        expect(isValidCryptoAddress('tron', base58Check(0x00, h20))).toBe(false);
        expect(isValidCryptoAddress('bitcoin', base58Check(0x41, h20))).toBe(false);
        expect(isValidCryptoAddress('litecoin', base58Check(0x00, h20))).toBe(false);
        expect(isValidCryptoAddress('bitcoin', segwitEncode('ltc', 0, h20))).toBe(false);
      }),
      { numRuns: 50 },
    );
  });

  it('rejects any single-character change of a generated address', () => {
    const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
    fc.assert(
      fc.property(
        bytes(20),
        fc.nat(),
        fc.constantFrom(...Array.from(alphabet)),
        (h20, at, char) => {
          const address = base58Check(0x41, h20);
          const i = 1 + (at % (address.length - 1));
          fc.pre(address[i] !== char);
          expect(
            isValidCryptoAddress('tron', address.slice(0, i) + char + address.slice(i + 1)),
          ).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(
        bytes(20),
        fc.nat(),
        fc.constantFrom(...Array.from('qpzry9x8gf2tvdw0s3jn54khce6mua7l')),
        (h20, at, char) => {
          const address = segwitEncode('bc', 0, h20);
          const i = 3 + (at % (address.length - 3));
          fc.pre(address[i] !== char);
          expect(
            isValidCryptoAddress('bitcoin', address.slice(0, i) + char + address.slice(i + 1)),
          ).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('checks ethereum, monero and other networks by format', () => {
    expect(isValidCryptoAddress('ethereum', '0x52908400098527886e0f7030069857d2e4169ee7')).toBe(
      true,
    );
    expect(isValidCryptoAddress('ethereum', '0x52908400098527886E0F7030069857D2E4169EE7')).toBe(
      true,
    );
    expect(isValidCryptoAddress('ethereum', '52908400098527886e0f7030069857d2e4169ee7')).toBe(
      false,
    );
    expect(isValidCryptoAddress('ethereum', '0x52908400098527886e0f7030069857d2e4169ee')).toBe(
      false,
    );
    expect(isValidCryptoAddress('ethereum', '0x52908400098527886e0f7030069857d2e4169eeg')).toBe(
      false,
    );
    const monero = `4${'A'.repeat(94)}`;
    expect(isValidCryptoAddress('monero', monero)).toBe(true);
    expect(isValidCryptoAddress('monero', `${monero}${'B'.repeat(11)}`)).toBe(true);
    expect(isValidCryptoAddress('monero', `8${'A'.repeat(94)}`)).toBe(true);
    expect(isValidCryptoAddress('monero', `5${'A'.repeat(94)}`)).toBe(false);
    expect(isValidCryptoAddress('monero', `4${'A'.repeat(93)}`)).toBe(false);
    expect(isValidCryptoAddress('monero', `4${'0'.repeat(94)}`)).toBe(false);
    expect(
      isValidCryptoAddress(CryptoNetwork.Other, 'addr1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh'),
    ).toBe(true);
    expect(isValidCryptoAddress(CryptoNetwork.Other, 'short')).toBe(false);
    expect(isValidCryptoAddress(CryptoNetwork.Other, 'has a space in it')).toBe(false);
  });
});
