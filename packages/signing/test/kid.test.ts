import { describe, expect, it } from 'vitest';
import { formatKid, parseKid } from '../src/index.ts';

describe('parseKid', () => {
  it('splits <agency>/<keyId>', () => {
    expect(parseKid('nca-uk/2025-01_a')).toEqual({ agency: 'nca-uk', keyId: '2025-01_a' });
  });

  it.each([
    'nca-uk',
    '/key',
    'nca-uk/',
    'NCA-UK/key',
    'nca-uk/key/extra',
    'nca-uk/key.1',
    'nca_uk/key',
    '-nca/key',
    `nca/${'k'.repeat(65)}`,
    'nca-uk/ke y',
    'nca-uk/k\u200bey',
  ])('refuses %j', (kid) => {
    expect(parseKid(kid)).toBeUndefined();
  });
});

describe('formatKid', () => {
  it('joins valid parts and refuses invalid ones', () => {
    expect(formatKid('nca-uk', 'k1')).toBe('nca-uk/k1');
    expect(formatKid('nca.uk', 'k1')).toBeUndefined();
    expect(formatKid('nca-uk', '')).toBeUndefined();
  });
});
