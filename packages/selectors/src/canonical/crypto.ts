import { CryptoNetwork, isValidCryptoAddress } from '@mosaic/contract';
import { SelectorKind } from '../kinds.ts';
import { invalidSelector, spelling } from './invalid.ts';

const kind = SelectorKind.Crypto;

/** Segwit (bech32/bech32m) prefixes: case-insensitive encodings, canonically lower case. */
const SEGWIT_PREFIX: Readonly<Partial<Record<CryptoNetwork, string>>> = {
  [CryptoNetwork.Bitcoin]: 'bc1',
  [CryptoNetwork.Litecoin]: 'ltc1',
};

/**
 * `<network>:<address>` with the network's case rule:
 * - bech32/bech32m (`bc1…`, `ltc1…`): lower case; all upper case (QR codes) is the same
 *   address, mixed case is invalid (BIP 173);
 * - ethereum: `0x` and the 40 hex digits lower case — EIP-55 mixed case is only a checksum;
 * - base58 (bitcoin and litecoin legacy, tron, monero) and `other`: exactly as written,
 *   since case is part of the value.
 * Then the contract's address check for the network (checksums where it has them).
 */
export function canonicalCrypto(network: CryptoNetwork, value: string): string {
  if (!Object.values(CryptoNetwork).includes(network))
    throw invalidSelector(kind, 'unknown network');
  let address = spelling(kind, value);
  const segwit = SEGWIT_PREFIX[network];
  if (segwit !== undefined && address.toLowerCase().startsWith(segwit)) {
    const lower = address.toLowerCase();
    if (address !== lower && address !== address.toUpperCase())
      throw invalidSelector(kind, 'a bech32 address in mixed case is invalid');
    address = lower;
  } else if (network === CryptoNetwork.Ethereum) address = address.toLowerCase();
  if (!isValidCryptoAddress(network, address))
    throw invalidSelector(kind, `not a valid ${network} address`);
  return `${network}:${address}`;
}
