import { describe, expect, it } from 'vitest';
import { REQUEST_INFO_HEADER, attestedAccount } from '../src/index.ts';

const headers = (value: string | undefined) => ({
  get: (key: string): string => (key === REQUEST_INFO_HEADER ? (value ?? '') : ''),
});

describe('attestedAccount', () => {
  it('reads the account the broker wrote into Nats-Request-Info', () => {
    expect(attestedAccount(headers('{"acc":"ACOGPNE425HBLO","user":"UB","kind":"Client"}'))).toBe(
      'ACOGPNE425HBLO',
    );
  });

  it.each<[string, string | undefined]>([
    ['no headers at all', undefined],
    ['an empty header', ''],
    ['a header that is not JSON', 'acc=A'],
    ['JSON without an account', '{"user":"UB"}'],
    ['an account that is not a string', '{"acc":42}'],
    ['JSON that is no object', '"A"'],
  ])('is undefined for %s', (_what, value) => {
    expect(attestedAccount(value === undefined ? undefined : headers(value))).toBeUndefined();
  });
});
