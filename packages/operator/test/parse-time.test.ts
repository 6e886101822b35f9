import { describe, expect, it } from 'vitest';
import { parseTime } from '../src/index.ts';

describe('parseTime', () => {
  const now = new Date('2026-03-01T10:20:30.456Z');

  it('takes "now" (or nothing) as the given time, with its milliseconds', () => {
    expect(parseTime('now', '--at', now)).toBe('2026-03-01T10:20:30.456Z');
    expect(parseTime(undefined, '--at', now)).toBe('2026-03-01T10:20:30.456Z');
  });

  it('takes an RFC 3339 time as written', () => {
    expect(parseTime('2026-01-31T12:00:00Z', '--since', now)).toBe('2026-01-31T12:00:00Z');
  });

  it('refuses anything else as a usage error naming the option', () => {
    for (const value of ['yesterday', '2026-01-31', '31/01/2026 12:00', ''])
      expect(() => parseTime(value, '--until', now), value).toThrow(
        expect.objectContaining({
          code: 'ERR_USAGE',
          message: expect.stringMatching(/^--until must be an RFC 3339 time/) as string,
          details: { value },
        }),
      );
  });
});
