import { describe, expect, it } from 'vitest';
import { isMosaicError } from '@mosaic/errors';
import { canonicalSelector, selectorKind } from '../src/index.ts';
import type { SelectorKind, SelectorValue } from '../src/index.ts';

/** The error a canonicalisation throws, asserting it is ERR_SELECTOR_INVALID. */
function refusal<K extends SelectorKind>(kind: K, value: SelectorValue<K>): string {
  try {
    canonicalSelector(kind, value);
  } catch (err) {
    if (!isMosaicError(err, 'ERR_SELECTOR_INVALID')) throw err;
    return err.message;
  }
  throw new Error(`accepted: ${JSON.stringify(value)}`);
}

describe('canonicalSelector: phone', () => {
  it('reads international, national-with-country and 00 spellings as one E.164 number', () => {
    for (const value of [
      '+40712345678',
      '+40 712 345 678',
      '+40 (712) 345-678',
      { number: '0712 345 678', country: 'RO' },
      { number: '0712.345.678', country: 'ro' },
      { number: '0040 712 345 678', country: 'RO' },
      { number: '+40712345678', country: 'DE' },
    ])
      expect(canonicalSelector('phone', value)).toBe('phone:+40712345678');
  });

  it('drops a trunk prefix written after the country code', () => {
    expect(canonicalSelector('phone', '+44 (0)20 7946 0958')).toBe('phone:+442079460958');
  });

  it('refuses letters, extensions, a national number without a country, unknown country codes', () => {
    expect(refusal('phone', '+1-800-FLOWERS')).toMatch(/only digits/);
    expect(refusal('phone', '+40712345678 ext 12')).toMatch(/only digits/);
    expect(refusal('phone', '0712 345 678')).toMatch(/needs a country/);
    expect(refusal('phone', { number: '0712 345 678', country: 'XX' })).toMatch(/ISO 3166/);
    expect(refusal('phone', '+99912345678')).toMatch(/country calling code/i);
    expect(refusal('phone', '+4071')).toMatch(/./);
  });
});

describe('canonicalSelector: e-mail', () => {
  it('lower-cases the whole address and writes an IDN domain in punycode', () => {
    expect(canonicalSelector('email', ' John.Doe@Bücher.Example. ')).toBe(
      'email:john.doe@xn--bcher-kva.example',
    );
    expect(canonicalSelector('email', 'john.doe@xn--bcher-kva.example')).toBe(
      'email:john.doe@xn--bcher-kva.example',
    );
  });

  it('keeps provider aliases apart: plus tags and dots are part of the address', () => {
    expect(canonicalSelector('email', 'a.b+x@gmail.com')).not.toBe(
      canonicalSelector('email', 'ab@gmail.com'),
    );
  });

  it('refuses what is not local@domain', () => {
    expect(refusal('email', 'no-at-sign')).toMatch(/local@domain/);
    expect(refusal('email', 'a@localhost')).toMatch(/host name/);
    expect(refusal('email', 'a@b@')).toMatch(/local@domain/);
  });
});

describe('canonicalSelector: identifiers', () => {
  it('IBAN: print form, lower case and an IBAN prefix give the electronic form', () => {
    for (const value of [
      'NL91ABNA0417164300',
      'nl91 abna 0417 1643 00',
      'IBAN NL91-ABNA-0417-1643-00',
    ])
      expect(canonicalSelector('iban', value)).toBe('iban:NL91ABNA0417164300');
    expect(refusal('iban', 'NL92ABNA0417164300')).toMatch(/check digits/);
  });

  it('documents: country and number, separators and MRZ fillers dropped, type not part of it', () => {
    for (const number of ['A09876543', 'a0987 6543', 'A0-98-76-543', 'A09876543<<'])
      expect(canonicalSelector('document', { issuingCountry: 'ng', number })).toBe(
        'document:NG:A09876543',
      );
    expect(canonicalSelector('document', { issuingCountry: 'NG', number: 'A09876543' })).not.toBe(
      canonicalSelector('document', { issuingCountry: 'GH', number: 'A09876543' }),
    );
    expect(refusal('document', { issuingCountry: 'UK', number: 'A09876543' })).toMatch(/ISO 3166/);
    expect(refusal('document', { issuingCountry: 'NG', number: 'A0_98' })).toMatch(/./);
  });

  it('IMO and MMSI: prefix and spaces dropped, check digit and MID verified', () => {
    for (const value of ['9312456', 'IMO 9312456', 'imo9312456', 'IMO: 931 2456'])
      expect(canonicalSelector('imo', value)).toBe('imo:9312456');
    expect(refusal('imo', '9312457')).toMatch(/check digit/);
    expect(canonicalSelector('mmsi', 'MMSI 256 123 400')).toBe('mmsi:256123400');
    expect(refusal('mmsi', '002441234')).toMatch(/MMSI/);
  });
});

describe('canonicalSelector: crypto addresses', () => {
  it('bech32 is lower case whichever case it was written in; mixed case is refused', () => {
    const lower = 'bc1q93ghdx7qu59z74renmp7srfj2a72r3htldht8d';
    expect(canonicalSelector('crypto', { network: 'bitcoin', address: lower.toUpperCase() })).toBe(
      `crypto:bitcoin:${lower}`,
    );
    expect(refusal('crypto', { network: 'bitcoin', address: `BC1Q${lower.slice(4)}` })).toMatch(
      /mixed case/,
    );
  });

  it('ethereum hex is lower case (EIP-55 case is only a checksum)', () => {
    expect(
      canonicalSelector('crypto', {
        network: 'ethereum',
        address: '0x52908400098527886E0F7030069857D2E4169EE7',
      }),
    ).toBe('crypto:ethereum:0x52908400098527886e0f7030069857d2e4169ee7');
  });

  it('base58 keeps its case: another case is another (here invalid) address', () => {
    const tron = 'TAzNLU555pAZSmv5NiusS4AihvBgpMwbKY';
    expect(canonicalSelector('crypto', { network: 'tron', address: tron })).toBe(
      `crypto:tron:${tron}`,
    );
    expect(refusal('crypto', { network: 'tron', address: tron.toLowerCase() })).toMatch(/tron/);
  });

  it('the network is part of the selector', () => {
    const address = '0x52908400098527886e0f7030069857d2e4169ee7';
    expect(canonicalSelector('crypto', { network: 'other', address })).not.toBe(
      canonicalSelector('crypto', { network: 'ethereum', address }),
    );
  });
});

describe('canonicalSelector: web and handles', () => {
  it('URL: host lower case and punycode, default port, trailing dot and fragment dropped, path kept', () => {
    for (const value of [
      'https://example.com/a/~user/%2F?q=%3A',
      'HTTPS://Example.COM.:443/a/%7euser/%2f?q=%3a#frag',
      'https://EXAMPLE.com/a/./b/../~user/%2F?q=%3A',
    ])
      expect(canonicalSelector('url', value)).toBe('url:https://example.com/a/~user/%2F?q=%3A');
    expect(canonicalSelector('url', 'http://Bücher.example')).toBe(
      'url:http://xn--bcher-kva.example/',
    );
    expect(canonicalSelector('url', 'https://example.com/A')).not.toBe(
      canonicalSelector('url', 'https://example.com/a'),
    );
    expect(refusal('url', 'https://user:pw@example.com/')).toMatch(/credentials/);
    expect(refusal('url', 'ftp://example.com/')).toMatch(/http/);
    expect(refusal('url', 'example.com/path')).toMatch(/absolute/);
  });

  it('domain: IDNA, lower case, trailing dot dropped; IP addresses and single labels refused', () => {
    expect(canonicalSelector('domain', 'MÜNCHEN.de.')).toBe('domain:xn--mnchen-3ya.de');
    expect(refusal('domain', '192.168.0.1')).toMatch(/domain/);
    expect(refusal('domain', 'localhost')).toMatch(/host name/);
    expect(refusal('domain', 'https://example.com')).toMatch(/host name/);
  });

  it('handles: platform aliases, one @ dropped, case folded only where the platform ignores it', () => {
    expect(canonicalSelector('handle', { platform: 'Twitter.com', handle: '@SomeOne' })).toBe(
      'handle:x:someone',
    );
    expect(canonicalSelector('handle', { platform: 'telegram', handle: 'Munca_Olanda' })).toBe(
      'handle:telegram:munca_olanda',
    );
    expect(canonicalSelector('handle', { platform: 'classifieds.example', handle: 'Ana' })).toBe(
      'handle:classifieds.example:Ana',
    );
    expect(canonicalSelector('handle', { platform: 'constructor', handle: 'x' })).toBe(
      'handle:constructor:x',
    );
  });

  it('a handle that is a web address is a URL selector', () => {
    const selector = canonicalSelector('handle', {
      platform: 'facebook',
      handle: 'https://www.Facebook.com/Some.Page',
    });
    expect(selector).toBe('url:https://www.facebook.com/Some.Page');
    expect(selectorKind(selector)).toBe('url');
  });
});

describe('canonicalSelector: input from outside', () => {
  it('refuses a value of the wrong shape or an unknown kind, without echoing the value', () => {
    const secret = 'NL91ABNA0417164300';
    const message = refusal('document', { number: secret } as never);
    expect(message).not.toContain(secret);
    expect(refusal('vehicle' as never, secret as never)).toMatch(/unknown selector kind/);
    expect(refusal('iban', 'x'.repeat(513))).toMatch(/./);
  });
});
