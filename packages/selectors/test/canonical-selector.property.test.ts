import { domainToUnicode } from 'node:url';
import fc from 'fast-check';
import libphonenumber from 'google-libphonenumber';
import { describe, expect, it } from 'vitest';
import { IBAN_LENGTHS, ISO_3166_ALPHA2, ibanCheckDigits, isIsoCountry } from '@mosaic/contract';
import { isMosaicError } from '@mosaic/errors';
import { canonicalSelector, SelectorKind, selectorKind } from '../src/index.ts';
import type { Selector } from '../src/index.ts';

const util = libphonenumber.PhoneNumberUtil.getInstance();
const { PhoneNumberFormat: Format, PhoneNumberType: Type } = libphonenumber;

/** Re-cases each character by the flags (a spelling the same value may be written in). */
function recase(text: string, flags: readonly boolean[]): string {
  return Array.from(text, (c, i) =>
    flags[i % flags.length] ? c.toUpperCase() : c.toLowerCase(),
  ).join('');
}
const caseFlags = fc.array(fc.boolean(), { minLength: 1, maxLength: 8 });

/** Example numbers of every ISO country libphonenumber knows, mobile and fixed line. */
const examples = util
  .getSupportedRegions()
  .filter(isIsoCountry)
  .flatMap((region) =>
    [Type.MOBILE, Type.FIXED_LINE].flatMap((type) => {
      const number = util.getExampleNumberForType(region, type);
      return number === undefined || number === null ? [] : [{ region, number }];
    }),
  );

describe('phone spellings', () => {
  it('every format of one number, with any separators, gives one selector', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...examples),
        fc.constantFrom(Format.E164, Format.INTERNATIONAL, Format.NATIONAL, 'abroad' as const),
        fc.array(fc.constantFrom(' ', '-', '.', ''), { minLength: 1, maxLength: 4 }),
        ({ region, number }, format, separators) => {
          const expected = `phone:${util.format(number, Format.E164)}`;
          const [text, country] =
            format === 'abroad'
              ? [
                  util.formatOutOfCountryCallingNumber(number, region === 'DE' ? 'FR' : 'DE'),
                  region === 'DE' ? 'FR' : 'DE',
                ]
              : [util.format(number, format), region];
          let i = 0;
          const spelled = text.replace(/ /g, () => separators[i++ % separators.length] ?? ' ');
          expect(canonicalSelector('phone', { number: spelled, country })).toBe(expected);
        },
      ),
    );
  });
});

const label = fc.stringMatching(/^[a-z][a-z0-9]{0,9}$/);
const idnLabel = fc.constantFrom('bücher', 'münchen', 'café', 'παράδειγμα', 'пример');
const domainGen = fc
  .tuple(
    fc.array(fc.oneof(label, idnLabel), { minLength: 1, maxLength: 3 }),
    fc.stringMatching(/^[a-z]{2,6}$/),
  )
  .map(([labels, top]) => [...labels, top].join('.'));

describe('e-mail spellings', () => {
  it('case, a trailing dot and Unicode or punycode domains give one selector', () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z0-9_+-]{1,8}$/), { minLength: 1, maxLength: 3 }),
        domainGen,
        caseFlags,
        fc.boolean(),
        fc.boolean(),
        (words, domain, flags, trailingDot, unicode) => {
          const local = words.join('.');
          const expected = canonicalSelector('email', `${local}@${domain}`);
          const written = unicode
            ? domain
            : domainToUnicode(canonicalSelector('domain', domain).slice(7));
          const spelled = `${recase(local, flags)}@${recase(written, flags)}${trailingDot ? '.' : ''}`;
          expect(canonicalSelector('email', spelled)).toBe(expected);
        },
      ),
    );
  });
});

const countriesWithIban = Object.keys(IBAN_LENGTHS).filter((c) => c !== 'XK');
const ibanGen = fc
  .tuple(
    fc.constantFrom(...countriesWithIban),
    fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 30, maxLength: 30 }),
  )
  .map(([country, digits]) => {
    const bban = digits.slice(0, (IBAN_LENGTHS[country] ?? 0) - 4).join('');
    return `${country}${ibanCheckDigits(country, bban)}${bban}`;
  });

describe('IBAN spellings', () => {
  it('groups of four, lower case and an IBAN prefix give one selector; different IBANs differ', () => {
    fc.assert(
      fc.property(ibanGen, ibanGen, caseFlags, fc.boolean(), (iban, other, flags, prefix) => {
        const print = iban.replace(/(.{4})/g, '$1 ').trim();
        const spelled = `${prefix ? 'IBAN ' : ''}${recase(print, flags)}`;
        expect(canonicalSelector('iban', spelled)).toBe(`iban:${iban}`);
        if (other !== iban) expect(canonicalSelector('iban', other)).not.toBe(`iban:${iban}`);
      }),
    );
  });
});

describe('document spellings', () => {
  it('separators, fillers and case give one selector; the country tells numbers apart', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Z0-9]{3,20}$/),
        fc.constantFrom(...ISO_3166_ALPHA2),
        fc.constantFrom(...ISO_3166_ALPHA2),
        fc.array(fc.constantFrom('', ' ', '-', '<', '.'), { minLength: 1, maxLength: 5 }),
        caseFlags,
        (number, country, otherCountry, separators, flags) => {
          const spelled = Array.from(
            number,
            (c, i) =>
              `${c}${i === number.length - 1 ? '' : (separators[i % separators.length] ?? '')}`,
          ).join('');
          const selector = canonicalSelector('document', {
            issuingCountry: country.toLowerCase(),
            number: recase(spelled, flags),
          });
          expect(selector).toBe(`document:${country}:${number}`);
          if (otherCountry !== country)
            expect(
              canonicalSelector('document', { issuingCountry: otherCountry, number }),
            ).not.toBe(selector);
        },
      ),
    );
  });
});

describe('crypto spellings', () => {
  it('an ethereum address in any case gives one selector', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-f]{40}$/), caseFlags, (hex, flags) => {
        expect(
          canonicalSelector('crypto', { network: 'ethereum', address: `0x${recase(hex, flags)}` }),
        ).toBe(`crypto:ethereum:0x${hex}`);
      }),
    );
  });
});

describe('URL spellings', () => {
  it('host case, trailing dot, explicit default port and fragment give one selector', () => {
    fc.assert(
      fc.property(
        domainGen,
        fc.constantFrom('http', 'https'),
        fc.stringMatching(/^(?:\/[A-Za-z0-9_~-]{1,6}){0,3}$/),
        caseFlags,
        fc.boolean(),
        fc.boolean(),
        fc.option(fc.stringMatching(/^[a-z0-9]{1,6}$/)),
        (domain, scheme, path, flags, dot, port, fragment) => {
          const expected = canonicalSelector('url', `${scheme}://${domain}${path}`);
          const spelled = `${recase(scheme, flags)}://${recase(domain, flags)}${dot ? '.' : ''}${port ? (scheme === 'http' ? ':80' : ':443') : ''}${path}${fragment === null ? '' : `#${fragment}`}`;
          expect(canonicalSelector('url', spelled)).toBe(expected);
          expect(expected.endsWith(path === '' ? '/' : path)).toBe(true);
        },
      ),
    );
  });
});

describe('canonical forms', () => {
  /** Any string, and strings close to real values of each kind. */
  const anyText = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.stringMatching(/^\+?[0-9 ()-]{6,18}$/),
    fc.stringMatching(/^[A-Za-z0-9 .@<:/-]{3,30}$/),
    ibanGen,
  );
  const attempt = (make: () => Selector): Selector | undefined => {
    try {
      return make();
    } catch (err) {
      if (isMosaicError(err, 'ERR_SELECTOR_INVALID')) return undefined;
      throw err;
    }
  };
  /** Canonicalises a canonical selector's value again; it must be a fixed point. */
  const again = (selector: Selector): Selector => {
    const kind = selectorKind(selector);
    const value = selector.slice(kind.length + 1);
    const [first = '', ...rest] = value.split(':');
    switch (kind) {
      case SelectorKind.Document:
        return canonicalSelector(kind, { issuingCountry: first, number: rest.join(':') });
      case SelectorKind.Crypto:
        return canonicalSelector(kind, { network: first as 'other', address: rest.join(':') });
      case SelectorKind.Handle:
        return canonicalSelector(kind, { platform: first, handle: rest.join(':') });
      default:
        return canonicalSelector(kind, value);
    }
  };

  it('are fixed points, so two different canonical forms are two different values', () => {
    const kinds = Object.values(SelectorKind);
    fc.assert(
      fc.property(
        fc.constantFrom(...kinds),
        anyText,
        fc.constantFrom(...ISO_3166_ALPHA2),
        (kind, text, country) => {
          const selector = attempt(() => {
            switch (kind) {
              case SelectorKind.Document:
                return canonicalSelector(kind, { issuingCountry: country, number: text });
              case SelectorKind.Crypto:
                return canonicalSelector(kind, { network: 'other', address: text });
              case SelectorKind.Handle:
                return canonicalSelector(kind, { platform: 'telegram', handle: text });
              case SelectorKind.Phone:
                return canonicalSelector(kind, { number: text, country });
              default:
                return canonicalSelector(kind, text);
            }
          });
          if (selector === undefined) return;
          expect(again(selector)).toBe(selector);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('carry their kind, so one text read as two kinds gives two selectors', () => {
    expect(canonicalSelector('imo', '9312456')).not.toBe(
      canonicalSelector('phone', '+9312456'.padEnd(12, '0')),
    );
    expect(canonicalSelector('domain', 'example.com')).not.toBe(
      canonicalSelector('handle', { platform: 'web', handle: 'example.com' }),
    );
    expect(canonicalSelector('mmsi', '256123400')).toBe('mmsi:256123400');
  });
});
