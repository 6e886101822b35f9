/**
 * RFC 9497 POPRF (mode 0x02) over ristretto255-SHA512, with every group and scalar
 * operation done by libsodium (`crypto_scalarmult_ristretto255*`,
 * `crypto_core_ristretto255_*`, its WebAssembly build): the same outputs, proofs and wire
 * format as `@noble/curves`' `ristretto255_oprf.poprf`, in constant time and about eight
 * times faster per scalar multiplication. The hashing (expand_message_xmd with SHA-512) is
 * `@noble/curves`' and `@noble/hashes`'.
 *
 * Section numbers below are RFC 9497's.
 */
import { expand_message_xmd } from '@noble/curves/abstract/hash-to-curve.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes as concat } from '@noble/hashes/utils.js';
import { randomBytes } from 'node:crypto';
import sodium from 'libsodium-wrappers-sumo';

// libsodium's WebAssembly module is instantiated once, when this module is first imported.
await sodium.ready;

/** A source of uniform random bytes; tests inject fixed scalars to replay RFC vectors. */
export type RandomBytes = (length?: number) => Uint8Array;

/** The order of the ristretto255 group (§4.1, RFC 9496 §4.4). */
const ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;
const SCALAR_BYTES = 32;

const ascii = (text: string) => new TextEncoder().encode(text);

const i2osp2 = (n: number) => Uint8Array.of(n >>> 8, n & 0xff);

/**
 * The transcripts of §2.2, §3.3.3 and §3.2.1: a byte string is prefixed with its length in
 * two bytes, a number is two bytes, a string (a fixed label) is its bytes as they are.
 */
function frame(...parts: readonly (Uint8Array | number | string)[]): Uint8Array {
  return concat(
    ...parts.flatMap((part) =>
      typeof part === 'number'
        ? [i2osp2(part)]
        : typeof part === 'string'
          ? [ascii(part)]
          : [i2osp2(part.length), part],
    ),
  );
}

/** Inputs, infos and key infos are framed with a two-byte length (§1.2): at most 65535 bytes. */
function checkLength(name: string, bytes: Uint8Array): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length > 0xffff)
    throw new Error(`${name} must be at most 65535 bytes`);
  return bytes;
}

/** contextString = "OPRFV1-" || I2OSP(0x02, 1) || "-ristretto255-SHA512" (§3.1). */
const CONTEXT = concat(ascii('OPRFV1-'), Uint8Array.of(0x02), ascii('-ristretto255-SHA512'));
const HASH_TO_GROUP_DST = concat(ascii('HashToGroup-'), CONTEXT);
const HASH_TO_SCALAR_DST = concat(ascii('HashToScalar-'), CONTEXT);
const DERIVE_KEY_PAIR_DST = concat(ascii('DeriveKeyPair'), CONTEXT);
const SEED_DST = concat(ascii('Seed-'), CONTEXT);

/** HashToGroup (§4.1): hash_to_ristretto255, the RFC 9496 one-way map of 64 uniform bytes. */
function hashToGroup(input: Uint8Array): Uint8Array {
  return sodium.crypto_core_ristretto255_from_hash(
    expand_message_xmd(input, HASH_TO_GROUP_DST, 64, sha512),
  );
}

/** HashToScalar (§4.1): 64 uniform bytes, read little-endian and reduced modulo the order. */
function hashToScalar(message: Uint8Array, dst: Uint8Array = HASH_TO_SCALAR_DST): Uint8Array {
  return sodium.crypto_core_ristretto255_scalar_reduce(
    expand_message_xmd(message, dst, 64, sha512),
  );
}

/** True when `bytes` is a canonical scalar encoding: 32 bytes, below the group order. */
export function isCanonicalScalar(bytes: Uint8Array): boolean {
  if (!(bytes instanceof Uint8Array) || bytes.length !== SCALAR_BYTES) return false;
  const wide = new Uint8Array(2 * SCALAR_BYTES);
  wide.set(bytes);
  return sodium.memcmp(sodium.crypto_core_ristretto255_scalar_reduce(wide), bytes);
}

/** True when `bytes` is the all-zero encoding: the zero scalar, or the identity element. */
export const isZero = (bytes: Uint8Array): boolean => sodium.is_zero(bytes);

/**
 * DeserializeElement (§4.1) and the check of §3.3: the canonical encoding of a ristretto255
 * element other than the identity. libsodium's `is_valid_point` accepts the identity, whose
 * one canonical encoding is 32 zero bytes, so it is refused here.
 */
export function isElement(bytes: Uint8Array): boolean {
  return (
    bytes instanceof Uint8Array &&
    bytes.length === sodium.crypto_core_ristretto255_BYTES &&
    sodium.crypto_core_ristretto255_is_valid_point(bytes) &&
    !sodium.is_zero(bytes)
  );
}

function element(label: string, bytes: Uint8Array): Uint8Array {
  if (!isElement(bytes)) throw new Error(`${label} is not a non-identity ristretto255 element`);
  return bytes;
}

function scalar(label: string, bytes: Uint8Array): Uint8Array {
  if (!isCanonicalScalar(bytes)) throw new Error(`${label} is not a canonical scalar`);
  return bytes;
}

/**
 * RandomScalar (§2.1), a uniform scalar in [1, order - 1]. Without an injected source: 64
 * bytes of the system's CSPRNG reduced modulo the order by libsodium (bias below 2^-250;
 * libsodium's own `scalar_random` draws its bytes four at a time through JavaScript, a
 * fifth of the POPRF's CPU). With one (the RFC vectors, tests), 48 bytes of it read the way
 * `@noble/curves` reads them, x little-endian to (x mod (order - 1)) + 1, so a source that
 * replays a scalar through noble replays it here; that path is never taken for a secret
 * the service or an agency keeps.
 */
function randomScalar(random?: RandomBytes): Uint8Array {
  if (random === undefined) {
    for (;;) {
      const drawn = sodium.crypto_core_ristretto255_scalar_reduce(randomBytes(64));
      if (!isZero(drawn)) return drawn;
    }
  }
  const bytes = random(48);
  let x = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(bytes[i] as number);
  let y = (x % (ORDER - 1n)) + 1n;
  const out = new Uint8Array(SCALAR_BYTES);
  for (let i = 0; i < SCALAR_BYTES; i++, y >>= 8n) out[i] = Number(y & 0xffn);
  return out;
}

const multiply = (k: Uint8Array, point: Uint8Array) =>
  sodium.crypto_scalarmult_ristretto255(k, point);
const multiplyBase = (k: Uint8Array) => sodium.crypto_scalarmult_ristretto255_base(k);
const add = (p: Uint8Array, q: Uint8Array) => sodium.crypto_core_ristretto255_add(p, q);

/** Σ scalars[i]·points[i], the points at least one. */
function sumOfProducts(points: readonly Uint8Array[], scalars: readonly Uint8Array[]): Uint8Array {
  let sum = multiply(scalars[0] as Uint8Array, points[0] as Uint8Array);
  for (let i = 1; i < points.length; i++)
    sum = add(sum, multiply(scalars[i] as Uint8Array, points[i] as Uint8Array));
  return sum;
}

/** The composite weights d_i of ComputeComposites (§2.2.1), from B, C and D. */
function compositeWeights(
  b: Uint8Array,
  c: readonly Uint8Array[],
  d: readonly Uint8Array[],
): Uint8Array[] {
  const seed = sha512(frame(b, SEED_DST));
  return c.map((ci, i) => hashToScalar(frame(seed, i, ci, d[i] as Uint8Array, 'Composite')));
}

/** The challenge scalar of GenerateProof and VerifyProof (§2.2.1, §2.2.2). */
function challenge(b: Uint8Array, m: Uint8Array, z: Uint8Array, t2: Uint8Array, t3: Uint8Array) {
  return hashToScalar(frame(b, m, z, t2, t3, 'Challenge'));
}

/**
 * GenerateProof (§2.2.1) that D = k·C for every pair, with ComputeCompositesFast: the
 * server knows k, so Z = k·M. k and the nonce r go only through libsodium.
 */
function generateProof(
  k: Uint8Array,
  b: Uint8Array,
  c: readonly Uint8Array[],
  d: readonly Uint8Array[],
  random?: RandomBytes,
): Uint8Array {
  const m = sumOfProducts(c, compositeWeights(b, c, d));
  const z = multiply(k, m);
  const r = randomScalar(random);
  const t2 = multiplyBase(r);
  const t3 = multiply(r, m);
  const ch = challenge(b, m, z, t2, t3);
  const s = sodium.crypto_core_ristretto255_scalar_sub(
    r,
    sodium.crypto_core_ristretto255_scalar_mul(ch, k),
  );
  return concat(ch, s);
}

/** VerifyProof (§2.2.2) with ComputeComposites: throws when the proof does not verify. */
function verifyProof(
  b: Uint8Array,
  c: readonly Uint8Array[],
  d: readonly Uint8Array[],
  proof: Uint8Array,
): void {
  if (!(proof instanceof Uint8Array) || proof.length !== 2 * SCALAR_BYTES)
    throw new Error('a proof is 64 bytes');
  const ch = scalar('the proof challenge', proof.subarray(0, SCALAR_BYTES));
  const s = scalar('the proof response', proof.subarray(SCALAR_BYTES));
  const weights = compositeWeights(b, c, d);
  const m = sumOfProducts(c, weights);
  const z = sumOfProducts(d, weights);
  // libsodium refuses a product that is the identity (a zero challenge or response): such a
  // proof is refused too, where an honest one has it with probability about 2^-252.
  const t2 = add(multiplyBase(s), multiply(ch, b));
  const t3 = add(multiply(s, m), multiply(ch, z));
  if (!sodium.memcmp(challenge(b, m, z, t2, t3), ch)) throw new Error('proof verification failed');
}

/**
 * The inverses of non-zero scalars with one inversion (Montgomery's trick: the running
 * products, the inverse of the last, then back), every step libsodium's constant-time
 * scalar arithmetic; an inversion costs ~50 multiplications of scalars.
 */
function invertAll(scalars: readonly Uint8Array[]): Uint8Array[] {
  const products: Uint8Array[] = [];
  for (const [i, x] of scalars.entries())
    products.push(
      i === 0 ? x : sodium.crypto_core_ristretto255_scalar_mul(products[i - 1] as Uint8Array, x),
    );
  let inverse = sodium.crypto_core_ristretto255_scalar_invert(products.at(-1) as Uint8Array);
  const inverses = new Array<Uint8Array>(scalars.length);
  for (let i = scalars.length - 1; i > 0; i--) {
    inverses[i] = sodium.crypto_core_ristretto255_scalar_mul(
      inverse,
      products[i - 1] as Uint8Array,
    );
    inverse = sodium.crypto_core_ristretto255_scalar_mul(inverse, scalars[i] as Uint8Array);
  }
  inverses[0] = inverse;
  return inverses;
}

/** One evaluated element with what the client kept for it, for {@link Poprf.finalizeBatch}. */
export interface FinalizeItem {
  input: Uint8Array;
  blind: Uint8Array;
  evaluated: Uint8Array;
  blinded: Uint8Array;
}

/** The RFC 9497 POPRF under one public info, in the shape of `@noble/curves`' `poprf(info)`. */
export interface Poprf {
  /** Blind (§3.3.3): the blind, the blinded element and the public key tweaked by the info. */
  blind(
    input: Uint8Array,
    publicKey: Uint8Array,
    random?: RandomBytes,
  ): { blind: Uint8Array; blinded: Uint8Array; tweakedKey: Uint8Array };
  /** BlindEvaluate (§3.3.3) of a batch, with one DLEQ proof for all. */
  blindEvaluateBatch(
    secretKey: Uint8Array,
    blinded: readonly Uint8Array[],
    random?: RandomBytes,
  ): { evaluated: Uint8Array[]; proof: Uint8Array };
  /** Finalize (§3.3.3) of a batch: verifies the proof, then unblinds and hashes each. */
  finalizeBatch(
    items: readonly FinalizeItem[],
    proof: Uint8Array,
    tweakedKey: Uint8Array,
  ): Uint8Array[];
}

/** The POPRF under `info`: hashes the info to m and computes T = m·G once (§3.3.3). */
export function createPoprf(info: Uint8Array): Poprf {
  const ownInfo = new Uint8Array(checkLength('info', info));
  const m = hashToScalar(frame('Info', ownInfo));
  const t = multiplyBase(m);
  // The last public key tweaked and its T + K: the same for every element of a batch, and
  // public, so the check and the addition are made once per key, not once per element.
  let tweaked: { publicKey: Uint8Array; tweakedKey: Uint8Array } | undefined;
  const tweakedKeyOf = (publicKey: Uint8Array): Uint8Array => {
    if (
      tweaked !== undefined &&
      publicKey instanceof Uint8Array &&
      publicKey.length === tweaked.publicKey.length &&
      sodium.memcmp(publicKey, tweaked.publicKey)
    )
      return tweaked.tweakedKey;
    const tweakedKey = add(t, element('the public key', publicKey));
    if (isZero(tweakedKey)) throw new Error('the tweaked key is the identity');
    tweaked = { publicKey: new Uint8Array(publicKey), tweakedKey };
    return tweakedKey;
  };
  return Object.freeze({
    blind(input: Uint8Array, publicKey: Uint8Array, random?: RandomBytes) {
      checkLength('input', input);
      const tweakedKey = tweakedKeyOf(publicKey);
      const blind = randomScalar(random);
      const inputElement = hashToGroup(input);
      if (isZero(inputElement)) throw new Error('the input maps to the identity');
      return { blind, blinded: multiply(blind, inputElement), tweakedKey };
    },

    blindEvaluateBatch(
      secretKey: Uint8Array,
      blinded: readonly Uint8Array[],
      random?: RandomBytes,
    ) {
      if (blinded.length === 0) throw new Error('a batch holds at least one element');
      const tweak = sodium.crypto_core_ristretto255_scalar_add(
        scalar('the secret key', secretKey),
        m,
      );
      // §3.3.3: t = 0 means the key should be replaced; libsodium refuses to invert zero.
      const inverse = sodium.crypto_core_ristretto255_scalar_invert(tweak);
      const blindedElements = blinded.map((b, i) => element(`blinded element ${i}`, b));
      const evaluated = blindedElements.map((b) => multiply(inverse, b));
      const tweakedKey = multiplyBase(tweak);
      const proof = generateProof(tweak, tweakedKey, evaluated, blindedElements, random);
      return { evaluated, proof };
    },

    finalizeBatch(items: readonly FinalizeItem[], proof: Uint8Array, tweakedKey: Uint8Array) {
      if (items.length === 0) throw new Error('a batch holds at least one element');
      const evaluated = items.map((item, i) => element(`evaluated element ${i}`, item.evaluated));
      const blinded = items.map((item, i) => element(`blinded element ${i}`, item.blinded));
      verifyProof(element('the tweaked key', tweakedKey), evaluated, blinded, proof);
      const inverses = invertAll(items.map((item) => scalar('a blind', item.blind)));
      return items.map((item, i) => {
        const unblinded = multiply(inverses[i] as Uint8Array, evaluated[i] as Uint8Array);
        return sha512(frame(checkLength('input', item.input), ownInfo, unblinded, 'Finalize'));
      });
    },
  });
}

/** A fresh key pair: a random non-zero secret scalar and its public element. */
export function generateKeyPair(): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const secretKey = randomScalar();
  return { secretKey, publicKey: multiplyBase(secretKey) };
}

/** DeriveKeyPair (§3.2.1) in POPRF mode, from a 32-byte seed and a key info. */
export function deriveKeyPair(
  seed: Uint8Array,
  keyInfo: Uint8Array,
): { secretKey: Uint8Array; publicKey: Uint8Array } {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new Error('a seed is 32 bytes');
  const message = concat(seed, frame(checkLength('keyInfo', keyInfo)), Uint8Array.of(0));
  for (let counter = 0; counter <= 255; counter++) {
    message[message.length - 1] = counter;
    const secretKey = hashToScalar(message, DERIVE_KEY_PAIR_DST);
    if (!isZero(secretKey)) return { secretKey, publicKey: multiplyBase(secretKey) };
  }
  throw new Error('DeriveKeyPairError');
}
