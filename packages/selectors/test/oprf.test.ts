import { describe, expect, it } from 'vitest';
import { isMosaicError, type ErrorCode } from '@mosaic/errors';
import {
  blind,
  canonicalSelector,
  evaluateBatch,
  finalize,
  generateOprfKeyPair,
  oprfInfo,
  type EvaluatedBatch,
  type OprfContext,
  type Selector,
  type SelectorToken,
} from '../src/index.ts';
import { poprfFor, utf8 } from '../src/oprf/suite.ts';

const service = generateOprfKeyPair();
const phone: OprfContext = { kind: 'phone', epoch: 1 };
const a = canonicalSelector('phone', '+40712345678');
const b = canonicalSelector('phone', { number: '0723 456 789', country: 'RO' });

/** One full round: the agency blinds, the service evaluates, the agency verifies and unblinds. */
function tokens(selectors: Selector[], context = phone, keys = service): SelectorToken[] {
  const pending = blind(selectors, keys.publicKey, context);
  return finalize(pending, evaluateBatch(keys.secretKey, pending.blinded, context));
}

function codeOf(run: () => unknown): ErrorCode {
  try {
    run();
  } catch (err) {
    if (isMosaicError(err)) return err.code;
    throw err;
  }
  throw new Error('did not throw');
}

describe('selector tokens', () => {
  it('the info string binds kind and epoch', () => {
    expect(oprfInfo({ kind: 'phone', epoch: 7 })).toBe('mosaic-selector-v1|phone|7');
  });

  it('two agencies blinding the same selector independently get the same token', () => {
    const [first] = tokens([a]);
    const [second, other] = tokens([canonicalSelector('phone', '+40 712 345 678'), b]);
    expect(first).toMatch(/^[A-Za-z0-9_-]{86}$/);
    expect(second).toBe(first);
    expect(other).not.toBe(first);
  });

  it('blinding hides the selector: the same selector is sent as different elements', () => {
    const one = blind([a], service.publicKey, phone).blinded[0];
    const two = blind([a], service.publicKey, phone).blinded[0];
    expect(Buffer.from(one!).equals(Buffer.from(two!))).toBe(false);
  });

  it('another epoch or another key gives unrelated tokens', () => {
    const [now] = tokens([a]);
    expect(tokens([a], { kind: 'phone', epoch: 2 })[0]).not.toBe(now);
    expect(tokens([a], phone, generateOprfKeyPair())[0]).not.toBe(now);
  });
});

describe('finalize refuses an answer that does not verify', () => {
  const pending = blind([a, b], service.publicKey, phone);
  const honest = evaluateBatch(service.secretKey, pending.blinded, phone);

  it('accepts the honest answer', () => {
    expect(finalize(pending, honest)).toHaveLength(2);
  });

  const forged: [string, () => EvaluatedBatch][] = [
    [
      'evaluated with another key',
      () => evaluateBatch(generateOprfKeyPair().secretKey, pending.blinded, phone),
    ],
    [
      'evaluated under another epoch',
      () => evaluateBatch(service.secretKey, pending.blinded, { kind: 'phone', epoch: 2 }),
    ],
    [
      'evaluated under another kind',
      () => evaluateBatch(service.secretKey, pending.blinded, { kind: 'email', epoch: 1 }),
    ],
    [
      'with a flipped proof bit',
      () => {
        const proof = new Uint8Array(honest.proof);
        proof[3]! ^= 1;
        return { evaluated: honest.evaluated, proof };
      },
    ],
    [
      'with its elements swapped',
      () => ({ evaluated: [...honest.evaluated].reverse(), proof: honest.proof }),
    ],
    [
      'with one element missing',
      () => ({ evaluated: honest.evaluated.slice(1), proof: honest.proof }),
    ],
    [
      'with a malformed element',
      () => ({
        evaluated: [new Uint8Array(32).fill(0xff), honest.evaluated[1]!],
        proof: honest.proof,
      }),
    ],
    [
      'with a non-canonical proof scalar',
      () => ({ evaluated: honest.evaluated, proof: new Uint8Array(64).fill(0xff) }),
    ],
    [
      'with the challenge of the proof zeroed',
      () => ({
        evaluated: honest.evaluated,
        proof: evaluateBatch(service.secretKey, pending.blinded, phone).proof.map((x, i) =>
          i < 32 ? 0 : x,
        ),
      }),
    ],
  ];
  for (const [name, answer] of forged)
    it(`refuses an answer ${name} with ERR_OPRF_PROOF`, () => {
      expect(codeOf(() => finalize(pending, answer()))).toBe('ERR_OPRF_PROOF');
    });
});

describe('malformed requests', () => {
  it('the service refuses identity, non-canonical, wrong-size, empty and oversized batches', () => {
    const good = blind([a], service.publicKey, phone).blinded[0]!;
    for (const blinded of [
      [new Uint8Array(32)],
      [new Uint8Array(32).fill(0xff)],
      [good, good.subarray(1)],
      [],
      Array.from({ length: 257 }, () => good),
    ])
      expect(codeOf(() => evaluateBatch(service.secretKey, blinded, phone))).toBe(
        'ERR_OPRF_ELEMENT',
      );
    expect(
      codeOf(() =>
        evaluateBatch(service.secretKey, [good], { kind: 'vehicle', epoch: 1 } as never),
      ),
    ).toBe('ERR_OPRF_ELEMENT');
  });

  it('the client refuses a batch mixing kinds and a public key that is no element', () => {
    const email = canonicalSelector('email', 'a@example.com');
    expect(codeOf(() => blind([a, email], service.publicKey, phone))).toBe('ERR_OPRF_ELEMENT');
    expect(codeOf(() => blind([a], new Uint8Array(32), phone))).toBe('ERR_OPRF_ELEMENT');
    expect(codeOf(() => blind([], service.publicKey, phone))).toBe('ERR_OPRF_ELEMENT');
  });
});

describe('errors name what is wrong', () => {
  const pending = blind([a, b], service.publicKey, phone);
  const honest = evaluateBatch(service.secretKey, pending.blinded, phone);
  function errorOf(run: () => unknown): { code: string; message: string; index?: unknown } {
    try {
      run();
    } catch (err) {
      if (!isMosaicError(err)) throw err;
      return {
        code: err.code,
        message: err.message,
        index: (err.details as { index?: unknown } | undefined)?.index,
      };
    }
    throw new Error('did not throw');
  }

  it('a malformed or identity element in an answer is malformed, a bad proof does not verify', () => {
    for (const bad of [new Uint8Array(32).fill(0xff), new Uint8Array(32)]) {
      const answer = { evaluated: [honest.evaluated[0]!, bad], proof: honest.proof };
      expect(errorOf(() => finalize(pending, answer))).toMatchObject({
        code: 'ERR_OPRF_PROOF',
        message: expect.stringContaining('the answer is malformed') as string,
      });
    }
    const proof = new Uint8Array(honest.proof);
    proof[40]! ^= 1;
    expect(errorOf(() => finalize(pending, { evaluated: honest.evaluated, proof }))).toMatchObject({
      code: 'ERR_OPRF_PROOF',
      message: expect.stringContaining('the DLEQ proof does not verify') as string,
    });
  });

  it('the service names the first blinded element that is no element', () => {
    const good = pending.blinded[0]!;
    for (const bad of [new Uint8Array(32).fill(0xff), new Uint8Array(32)])
      expect(errorOf(() => evaluateBatch(service.secretKey, [good, good, bad], phone))).toEqual({
        code: 'ERR_OPRF_ELEMENT',
        message: 'blinded element 2 is not a non-identity ristretto255 element',
        index: 2,
      });
  });
});

describe('the per-info POPRF is made once', () => {
  it('equal info bytes share one instance, other infos do not, and the cache stays bounded', () => {
    const info = oprfInfo(phone);
    const first = poprfFor(utf8(info));
    expect(poprfFor(utf8(info))).toBe(first);
    expect(poprfFor(utf8(oprfInfo({ kind: 'phone', epoch: 2 })))).not.toBe(first);
    for (let epoch = 1_000; epoch < 1_040; epoch++)
      poprfFor(utf8(oprfInfo({ kind: 'phone', epoch })));
    // Evicted after 40 other infos: made again, not kept forever.
    expect(poprfFor(utf8(info))).not.toBe(first);
  });

  it('tokens are the same before and after the instance is evicted and made again', () => {
    const before = tokens([a, b]);
    for (let epoch = 2_000; epoch < 2_040; epoch++) tokens([a], { kind: 'phone', epoch });
    expect(tokens([a, b])).toEqual(before);
    expect(tokens([a], { kind: 'phone', epoch: 2_001 })).not.toEqual(tokens([a]));
  });
});
