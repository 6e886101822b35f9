import { describe, expect, it } from 'vitest';
import { isMosaicError } from '@mosaic/errors';
import {
  MAX_BATCH,
  blind,
  canonicalSelector,
  evaluateBatch,
  finalize,
  generateOprfKeyPair,
  tokenise,
  type EvaluatedBatch,
  type EvaluationRequest,
  type Selector,
} from '../src/index.ts';

const service = generateOprfKeyPair();
const key = { epoch: 3, publicKey: service.publicKey };
const evaluateHere = (r: EvaluationRequest): EvaluatedBatch =>
  evaluateBatch(service.secretKey, r.blinded, { kind: r.kind, epoch: r.epoch });

const phones = (n: number): Selector[] =>
  Array.from({ length: n }, (_, i) =>
    canonicalSelector('phone', `+4072${String(1_000_000 + i).padStart(7, '0')}`),
  );
const email = canonicalSelector('email', 'recruiter@mail.example');

/** The token of one selector made alone, the way `oprf.test.ts` makes it. */
function alone(selector: Selector, kind: 'phone' | 'email'): string {
  const context = { kind, epoch: key.epoch };
  const pending = blind([selector], key.publicKey, context);
  return finalize(pending, evaluateBatch(service.secretKey, pending.blinded, context))[0] ?? '';
}

describe('tokenise', () => {
  it('asks for every kind at once, and for one kind one batch at a time', async () => {
    const many = phones(MAX_BATCH + 5);
    const asked: EvaluationRequest[] = [];
    let inFlight = 0;
    let most = 0;
    let phoneInFlight = 0;
    // Answers only once both kinds have been asked: asking one kind after the other's answer
    // would never get here.
    let bothAsked: () => void = () => {};
    const both = new Promise<void>((resolve) => {
      bothAsked = resolve;
    });
    const tokens = await tokenise([...many, email], key, async (request) => {
      asked.push(request);
      inFlight++;
      most = Math.max(most, inFlight);
      if (request.kind === 'phone') {
        phoneInFlight++;
        expect(phoneInFlight).toBe(1);
      }
      if (new Set(asked.map((r) => r.kind)).size === 2) bothAsked();
      await both;
      inFlight--;
      if (request.kind === 'phone') phoneInFlight--;
      return evaluateHere(request);
    });
    expect(most).toBe(2);
    expect(asked.map((r) => [r.kind, r.blinded.length])).toEqual([
      ['phone', MAX_BATCH],
      ['email', 1],
      ['phone', 5],
    ]);
    expect(tokens.size).toBe(many.length + 1);
    expect(tokens.get(email)).toBe(alone(email, 'email'));
    expect(tokens.get(many[MAX_BATCH + 4] as Selector)).toBe(
      alone(many[MAX_BATCH + 4] as Selector, 'phone'),
    );
  });

  it('makes no token when one kind fails, and fails with that error', async () => {
    const refused = new Error('key service refused the e-mail batch');
    await expect(
      tokenise([...phones(2), email], key, (request) =>
        request.kind === 'email'
          ? Promise.reject(refused)
          : new Promise((resolve) => {
              setTimeout(() => {
                resolve(evaluateHere(request));
              }, 20);
            }),
      ),
    ).rejects.toBe(refused);
  });

  it('refuses an answer whose proof does not hold for the key, whichever kind it is', async () => {
    const other = generateOprfKeyPair();
    const err = await tokenise([...phones(1), email], key, (request) =>
      Promise.resolve(
        request.kind === 'email'
          ? evaluateBatch(other.secretKey, request.blinded, { kind: 'email', epoch: key.epoch })
          : evaluateHere(request),
      ),
    ).catch((e: unknown) => e);
    expect(isMosaicError(err) ? err.code : err).toBe('ERR_OPRF_PROOF');
  });
});
