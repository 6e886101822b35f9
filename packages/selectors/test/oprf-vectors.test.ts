import { describe, expect, it } from 'vitest';
import { blindRaw } from '../src/oprf/client.ts';
import { evaluateBatchRaw } from '../src/oprf/evaluate.ts';
import { deriveOprfKeyPair } from '../src/oprf/keys.ts';

// RFC 9497 Appendix A.1.3: ristretto255-SHA512, POPRF mode.
const SEED = 'a3'.repeat(32);
const KEY_INFO = '74657374206b6579';
const SK = '145c79c108538421ac164ecbe131942136d5570b16d8bf41a24d4337da981e07';
const PK = 'c647bef38497bc6ec077c22af65b696efa43bff3b4a1975a3e8e0a1c5a79d631';
const INFO = '7465737420696e666f';

const vectors = [
  {
    name: 'Test Vector 1, Batch Size 1',
    inputs: ['00'],
    blinds: ['64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706'],
    blinded: ['c8713aa89241d6989ac142f22dba30596db635c772cbf25021fdd8f3d461f715'],
    evaluated: ['1a4b860d808ff19624731e67b5eff20ceb2df3c3c03b906f5693e2078450d874'],
    proof:
      '41ad1a291aa02c80b0915fbfbb0c0afa15a57e2970067a602ddb9e8fd6b7100de32e1ecff943a36f0b10e3dae6bd266cdeb8adf825d86ef27dbc6c0e30c52206',
    proofRandomScalar: '222a5e897cf59db8145db8d16e597e8facb80ae7d4e26d9881aa6f61d645fc0e',
    outputs: [
      'ca688351e88afb1d841fde4401c79efebb2eb75e7998fa9737bd5a82a152406d38bd29f680504e54fd4587eddcf2f37a2617ac2fbd2993f7bdf45442ace7d221',
    ],
  },
  {
    name: 'Test Vector 2, Batch Size 1',
    inputs: ['5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a'],
    blinds: ['64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706'],
    blinded: ['f0f0b209dd4d5f1844dac679acc7761b91a2e704879656cb7c201e82a99ab07d'],
    evaluated: ['8c3c9d064c334c6991e99f286ea2301d1bde170b54003fb9c44c6d7bd6fc1540'],
    proof:
      '4c39992d55ffba38232cdac88fe583af8a85441fefd7d1d4a8d0394cd1de77018bf135c174f20281b3341ab1f453fe72b0293a7398703384bed822bfdeec8908',
    proofRandomScalar: '222a5e897cf59db8145db8d16e597e8facb80ae7d4e26d9881aa6f61d645fc0e',
    outputs: [
      '7c6557b276a137922a0bcfc2aa2b35dd78322bd500235eb6d6b6f91bc5b56a52de2d65612d503236b321f5d0bebcbc52b64b92e426f29c9b8b69f52de98ae507',
    ],
  },
  {
    name: 'Test Vector 3, Batch Size 2',
    inputs: ['00', '5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a'],
    blinds: [
      '64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706',
      '222a5e897cf59db8145db8d16e597e8facb80ae7d4e26d9881aa6f61d645fc0e',
    ],
    blinded: [
      'c8713aa89241d6989ac142f22dba30596db635c772cbf25021fdd8f3d461f715',
      '423a01c072e06eb1cce96d23acce06e1ea64a609d7ec9e9023f3049f2d64e50c',
    ],
    evaluated: [
      '1a4b860d808ff19624731e67b5eff20ceb2df3c3c03b906f5693e2078450d874',
      'aa1f16e903841036e38075da8a46655c94fc92341887eb5819f46312adfc0504',
    ],
    proof:
      '43fdb53be399cbd3561186ae480320caa2b9f36cca0e5b160c4a677b8bbf4301b28f12c36aa8e11e5a7ef551da0781e863a6dc8c0b2bf5a149c9e00621f02006',
    proofRandomScalar: '419c4f4f5052c53c45f3da494d2b67b220d02118e0857cdbcf037f9ea84bbe0c',
    outputs: [
      'ca688351e88afb1d841fde4401c79efebb2eb75e7998fa9737bd5a82a152406d38bd29f680504e54fd4587eddcf2f37a2617ac2fbd2993f7bdf45442ace7d221',
      '7c6557b276a137922a0bcfc2aa2b35dd78322bd500235eb6d6b6f91bc5b56a52de2d65612d503236b321f5d0bebcbc52b64b92e426f29c9b8b69f52de98ae507',
    ],
  },
];

const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * A random source that makes noble draw exactly the given scalars, in order: noble maps 48
 * random bytes x (little-endian) to the scalar (x mod (n - 1)) + 1.
 */
function fixedScalars(scalarsHex: readonly string[]) {
  const queue = [...scalarsHex];
  return (length = 48): Uint8Array<ArrayBuffer> => {
    const next = queue.shift();
    if (next === undefined) throw new Error('no fixed scalar left');
    const value = BigInt(`0x${Buffer.from(bytes(next)).reverse().toString('hex')}`) - 1n;
    const out = new Uint8Array(length);
    for (let i = 0, v = value; i < length; i++, v >>= 8n) out[i] = Number(v & 0xffn);
    return out;
  };
}

describe('RFC 9497 A.1.3 ristretto255-SHA512 POPRF', () => {
  it('derives the key pair from the seed and key info', () => {
    const keys = deriveOprfKeyPair(bytes(SEED), bytes(KEY_INFO));
    expect(hex(keys.secretKey)).toBe(SK);
    expect(hex(keys.publicKey)).toBe(PK);
  });

  for (const vector of vectors)
    it(`${vector.name}: blinded, evaluated, proof and output match`, () => {
      const pending = blindRaw(
        vector.inputs.map(bytes),
        bytes(PK),
        bytes(INFO),
        fixedScalars(vector.blinds),
      );
      expect(pending.blinded.map(hex)).toEqual(vector.blinded);
      const answer = evaluateBatchRaw(
        bytes(SK),
        pending.blinded,
        bytes(INFO),
        fixedScalars([vector.proofRandomScalar]),
      );
      expect(answer.evaluated.map(hex)).toEqual(vector.evaluated);
      expect(hex(answer.proof)).toBe(vector.proof);
      expect(pending.finalizeRaw(answer).map(hex)).toEqual(vector.outputs);
    });
});
