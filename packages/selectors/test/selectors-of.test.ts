import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseReport, type Report } from '@mosaic/contract';
import { selectorsOf } from '../src/index.ts';

function example(name: string): Report {
  return parseReport(
    readFileSync(new URL(`../../../schemas/examples/valid/${name}.json`, import.meta.url)),
  );
}

describe('selectorsOf', () => {
  it('gives the selectors of phones, e-mails and handles, not of free text', () => {
    expect(selectorsOf(example('recruitment-advert'))).toEqual({
      selectors: [
        'phone:+40723456789',
        'handle:telegram:munca_olanda_rapid',
        'email:joburi.sere@example.ro',
      ],
      unusable: [],
    });
  });

  it('gives IBANs and wallets but not the BIC, holder or organisation', () => {
    expect(selectorsOf(example('financial-flow')).selectors).toEqual([
      'iban:DE89370400440532013000',
      'iban:RO92BTRLRONCRT0271828182',
      'iban:NL93RABO0314159265',
      'crypto:tron:TAzNLU555pAZSmv5NiusS4AihvBgpMwbKY',
    ]);
  });

  it('gives documents without their type, and both identifiers of a vessel', () => {
    expect(selectorsOf(example('person-identity-document')).selectors).toEqual([
      'document:NG:A09876543',
      'document:IT:ITA0042117',
    ]);
    expect(selectorsOf(example('vessel-crew-exploitation')).selectors).toEqual([
      'imo:9312456',
      'mmsi:256123400',
    ]);
  });

  it('gives no selector for persons, places and vehicles', () => {
    expect(selectorsOf(example('route-three-countries'))).toEqual({ selectors: [], unusable: [] });
  });

  it('lists each selector once and reports contract-valid values that are no selector', () => {
    const base = example('recruitment-advert');
    const report: Report = {
      ...base,
      indicators: [
        { type: 'phone', number: '+40723456789' },
        { type: 'online-handle', platform: 'telegram', handle: '@Munca_Olanda_Rapid' },
        { type: 'phone', number: '+99912345678' },
        { type: 'online-handle', platform: 'telegram', handle: 'munca_olanda_rapid' },
      ],
    };
    const { selectors, unusable } = selectorsOf(report);
    expect(selectors).toEqual(['phone:+40723456789', 'handle:telegram:munca_olanda_rapid']);
    expect(unusable).toHaveLength(1);
    expect(unusable[0]).toMatchObject({ indicator: 2, field: 'number' });
    expect(unusable[0]?.reason).toMatch(/country calling code/i);
  });
});
