import { describe, expect, it } from 'vitest';
import { issuePath, toIssues } from '../src/index.ts';

describe('toIssues', () => {
  it('gives every issue a dotted path, a code and a message', () => {
    expect(
      toIssues([
        { path: ['indicators', 0, 'iban'], code: 'custom', message: 'bad check digits' },
        { path: [], code: 'invalid_type', message: 'expected object' },
        { path: ['nkeySeed'], message: 'is not a user seed' },
      ]),
    ).toEqual([
      { path: 'indicators.0.iban', code: 'custom', message: 'bad check digits' },
      { path: '', code: 'invalid_type', message: 'expected object' },
      { path: 'nkeySeed', code: 'custom', message: 'is not a user seed' },
    ]);
  });

  it('keeps the refused keys of unrecognized_keys and nothing else of an issue', () => {
    const zodLike = {
      path: [],
      code: 'unrecognized_keys',
      message: 'Unrecognized key: "extra"',
      keys: ['extra'],
      input: { secret: 'never copied' },
    };
    expect(toIssues([zodLike])).toEqual([
      {
        path: '',
        code: 'unrecognized_keys',
        message: 'Unrecognized key: "extra"',
        keys: ['extra'],
      },
    ]);
  });

  it('formats paths the same for a check of its own', () => {
    expect(issuePath(['grading', 'confidence'])).toBe('grading.confidence');
    expect(issuePath([])).toBe('');
  });
});
