import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PATTERNS } from '../src/patterns.ts';

// Worst cases for a backtracking engine: long near-matches that fail only at the very end.
const N = 100_000;
const adversarial = (pattern: RegExp): string[] => {
  const near = (unit: string, tail: string) => unit.repeat(N) + tail;
  return [
    near('a', '!'),
    near('A', '!'),
    near('0', '!'),
    near('1', 'O'),
    near('a-', '-'),
    near('A-', '!'),
    near('a.', '.'),
    near(' ', '!'),
    near('\u200B', 'a'),
    near('x', '\u0000'),
    `+1${'2'.repeat(N)}`,
    `0x${'a'.repeat(N)}`,
    `4${'A'.repeat(N)}`,
    `${'a'.repeat(N)}@${'a'.repeat(N)}`,
    `${'a.'.repeat(N)}@`,
    `2024-01-01T00:00:00.${'1'.repeat(N)}`,
    pattern.source.repeat(Math.ceil(N / pattern.source.length)),
  ];
};

function timeAll(test: (input: string) => unknown, inputs: readonly string[]): number {
  const start = performance.now();
  for (const input of inputs) test(input);
  return performance.now() - start;
}

describe('every regular expression is linear', () => {
  it.each(Object.entries(PATTERNS))(
    '%s handles 100 000-character near-matches quickly',
    (_name, pattern) => {
      // exponential or quadratic backtracking would take minutes, not a second
      expect(timeAll((s) => pattern.test(s), adversarial(pattern))).toBeLessThan(1000);
    },
  );

  it.each([
    ['email', z.email()],
    ['iso datetime', z.iso.datetime()],
    ['iso date', z.iso.date()],
  ])('zod %s format handles 100 000-character near-matches quickly', (_name, schema) => {
    expect(timeAll((s) => schema.safeParse(s), adversarial(/x/))).toBeLessThan(1000);
  });

  it('has no nested quantifiers in any pattern', () => {
    for (const [name, pattern] of Object.entries(PATTERNS))
      expect(pattern.source, name).not.toMatch(/\)[*+?{][^)]*\)[*+{]/);
  });
});
