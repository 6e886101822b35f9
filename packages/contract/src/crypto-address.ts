import { createHash } from 'node:crypto';
import { PATTERNS } from './patterns.ts';

/** Networks a `crypto-wallet` indicator can name. */
export const CryptoNetwork = {
  Bitcoin: 'bitcoin',
  Ethereum: 'ethereum',
  Tron: 'tron',
  Monero: 'monero',
  Litecoin: 'litecoin',
  Other: 'other',
} as const;
export type CryptoNetwork = (typeof CryptoNetwork)[keyof typeof CryptoNetwork];

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const BECH32_CONST = 1;
const BECH32M_CONST = 0x2bc830a3;

/** Decodes base58 (callers have checked the alphabet and a small length). */
function base58Decode(text: string): Uint8Array {
  let n = 0n;
  for (const char of text) n = n * 58n + BigInt(BASE58.indexOf(char));
  const bytes: number[] = [];
  while (n > 0n) {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  for (const char of text) {
    if (char !== '1') break;
    bytes.unshift(0);
  }
  return Uint8Array.from(bytes);
}

function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/** The version byte of a Base58Check string with a 20-byte payload, or undefined. */
function base58CheckVersion(text: string): number | undefined {
  const bytes = base58Decode(text);
  if (bytes.length !== 25) return undefined;
  const checksum = sha256(sha256(bytes.subarray(0, 21)));
  for (let i = 0; i < 4; i++) if (bytes[21 + i] !== checksum[i]) return undefined;
  return bytes[0];
}

function bech32Polymod(values: readonly number[]): number {
  const generator = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let chk = 1;
  for (const value of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ value;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= generator[i] ?? 0;
  }
  return chk >>> 0;
}

/**
 * True for a lower-case segwit address (BIP 173 bech32 for v0, BIP 350 bech32m for v1+)
 * with human-readable part `hrp`. Mixed or upper case is refused: store the canonical form.
 */
function isSegwitAddress(address: string, hrp: string): boolean {
  if (address.length > 90 || !address.startsWith(`${hrp}1`)) return false;
  const data: number[] = [];
  for (const char of address.slice(hrp.length + 1)) {
    const value = BECH32.indexOf(char);
    if (value < 0) return false;
    data.push(value);
  }
  if (data.length < 7) return false;
  const expanded = Array.from(hrp, (c) => c.charCodeAt(0) >> 5);
  expanded.push(0, ...Array.from(hrp, (c) => c.charCodeAt(0) & 31));
  const constant = bech32Polymod([...expanded, ...data]);
  const version = data[0] ?? -1;
  if (version > 16) return false;
  if (constant !== (version === 0 ? BECH32_CONST : BECH32M_CONST)) return false;
  // Regroup the 5-bit words after the version (and before the 6-word checksum) into bytes.
  let acc = 0;
  let bits = 0;
  let length = 0;
  for (const word of data.slice(1, -6)) {
    acc = (acc << 5) | word;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      length++;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits >= 5 || acc !== 0) return false;
  if (version === 0) return length === 20 || length === 32;
  return length >= 2 && length <= 40;
}

/** Why `address` is not a valid address on `network`, or undefined when it is. */
export function cryptoAddressProblem(network: CryptoNetwork, address: string): string | undefined {
  switch (network) {
    case CryptoNetwork.Bitcoin:
      if (address.startsWith('bc1'))
        return isSegwitAddress(address, 'bc')
          ? undefined
          : 'invalid bech32/bech32m bitcoin address';
      if (!PATTERNS.bitcoinBase58.test(address)) return 'not a bitcoin address';
      return [0x00, 0x05].includes(base58CheckVersion(address) ?? -1)
        ? undefined
        : 'bitcoin address checksum does not match';
    case CryptoNetwork.Litecoin:
      if (address.startsWith('ltc1'))
        return isSegwitAddress(address, 'ltc')
          ? undefined
          : 'invalid bech32/bech32m litecoin address';
      if (!PATTERNS.litecoinBase58.test(address)) return 'not a litecoin address';
      return [0x30, 0x32, 0x05].includes(base58CheckVersion(address) ?? -1)
        ? undefined
        : 'litecoin address checksum does not match';
    case CryptoNetwork.Tron:
      if (!PATTERNS.tron.test(address)) return 'not a tron address';
      return base58CheckVersion(address) === 0x41
        ? undefined
        : 'tron address checksum does not match';
    case CryptoNetwork.Ethereum:
      return PATTERNS.ethereum.test(address)
        ? undefined
        : 'not an ethereum address (0x + 40 hex digits)';
    case CryptoNetwork.Monero:
      return PATTERNS.monero.test(address) ? undefined : 'not a monero address';
    case CryptoNetwork.Other:
      return PATTERNS.otherAddress.test(address)
        ? undefined
        : 'address must be 8–128 printable ASCII characters without spaces';
  }
}

/**
 * True when `address` is a well-formed address on `network`. Checksums are verified for
 * Base58Check (bitcoin, litecoin, tron) and bech32/bech32m (segwit); ethereum and monero
 * are checked by format only, because their checksums need Keccak-256.
 *
 * @example
 * ```ts
 * isValidCryptoAddress('ethereum', '0x52908400098527886e0f7030069857d2e4169ee7'); // true
 * isValidCryptoAddress('bitcoin', 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4'); // true
 * ```
 */
export function isValidCryptoAddress(network: CryptoNetwork, address: string): boolean {
  return cryptoAddressProblem(network, address) === undefined;
}
