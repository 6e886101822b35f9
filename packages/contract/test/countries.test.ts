import { describe, expect, it } from 'vitest';
import {
  ISO_3166_ALPHA2,
  isIsoCountry,
  jurisdictionSchema,
  countryCodeSchema,
} from '../src/index.ts';

describe('ISO 3166-1 alpha-2', () => {
  it('lists the 249 officially assigned codes, sorted and unique', () => {
    expect(ISO_3166_ALPHA2).toHaveLength(249);
    expect(new Set(ISO_3166_ALPHA2).size).toBe(249);
    expect([...ISO_3166_ALPHA2]).toEqual([...ISO_3166_ALPHA2].sort());
    for (const code of ISO_3166_ALPHA2) expect(code).toMatch(/^[A-Z]{2}$/);
  });

  it('accepts assigned codes, including recent ones', () => {
    for (const code of ['NL', 'DE', 'RO', 'NG', 'SS', 'BQ', 'CW', 'SX', 'AX', 'PS', 'TW', 'EH'])
      expect(isIsoCountry(code)).toBe(true);
  });

  it('refuses lower case, user-assigned, reserved and withdrawn codes', () => {
    for (const code of ['nl', 'Nl', 'XK', 'ZZ', 'UK', 'EU', 'AN', 'YU', 'CS', 'NLD', '', ' NL'])
      expect(isIsoCountry(code)).toBe(false);
    expect(isIsoCountry(42)).toBe(false);
    expect(countryCodeSchema.safeParse('XK').success).toBe(false);
  });
});

describe('jurisdictionSchema', () => {
  it.each([
    'NL',
    'DE',
    'SCHENGEN',
    'ECOWAS',
    'ASEAN',
    'EU27',
    'EU-MS',
    'ABC',
    'A23456789012345678901234567890AB',
  ])('accepts %s', (code) => {
    expect(jurisdictionSchema.safeParse(code).success).toBe(true);
  });

  it.each([
    'nl',
    'EU',
    'UK',
    'XK',
    'schengen',
    'S',
    '1AB',
    '-AB',
    'A234567890123456789012345678901AB',
    'EU 27',
    'EU.27',
    'EU*',
  ])('rejects %s', (code) => {
    expect(jurisdictionSchema.safeParse(code).success).toBe(false);
  });
});
