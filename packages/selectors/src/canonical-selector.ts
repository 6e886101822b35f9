import { CryptoNetwork } from '@mosaic/contract';
import { z } from 'zod';
import { canonicalCrypto } from './canonical/crypto.ts';
import { canonicalEmail } from './canonical/email.ts';
import { canonicalHandle, isWebHandle } from './canonical/handle.ts';
import {
  canonicalDocument,
  canonicalIban,
  canonicalImo,
  canonicalMmsi,
} from './canonical/identifiers.ts';
import { invalidSelector, MAX_SPELLING } from './canonical/invalid.ts';
import { canonicalPhone } from './canonical/phone.ts';
import { canonicalDomain, canonicalUrl } from './canonical/web.ts';
import { makeSelector, SelectorKind, type Selector } from './kinds.ts';

const text = z.string().max(MAX_SPELLING);

/** What each kind of selector is made from; checked at run time, since queries come from outside. */
const selectorValueSchemas = {
  [SelectorKind.Phone]: z.union([text, z.strictObject({ number: text, country: text.optional() })]),
  [SelectorKind.Email]: text,
  [SelectorKind.Handle]: z.strictObject({ platform: text, handle: text }),
  [SelectorKind.Document]: z.strictObject({ issuingCountry: text, number: text }),
  [SelectorKind.Iban]: text,
  [SelectorKind.Crypto]: z.strictObject({ network: z.enum(CryptoNetwork), address: text }),
  [SelectorKind.Imo]: text,
  [SelectorKind.Mmsi]: text,
  [SelectorKind.Domain]: text,
  [SelectorKind.Url]: text,
} as const satisfies Record<SelectorKind, z.ZodType>;

/** The value a selector of kind `K` is made from. */
export type SelectorValue<K extends SelectorKind> = z.infer<(typeof selectorValueSchemas)[K]>;

/**
 * The canonical selector of a value of the given kind: every accepted spelling of one
 * value gives the same string, and the string starts with the kind, so values of different
 * kinds never meet. An online handle that is an http(s) address is a `url:` selector.
 * Throws ERR_SELECTOR_INVALID (without echoing the value) when the value is not usable.
 *
 * @example
 * ```ts
 * canonicalSelector('phone', { number: '0712 345 678', country: 'RO' }); // 'phone:+40712345678'
 * canonicalSelector('iban', 'nl91 abna 0417 1643 00'); // 'iban:NL91ABNA0417164300'
 * canonicalSelector('document', { issuingCountry: 'ng', number: 'a0987-6543' }); // 'document:NG:A09876543'
 * ```
 */
export function canonicalSelector<K extends SelectorKind>(
  kind: K,
  value: SelectorValue<K>,
): Selector {
  const schema: z.ZodType | undefined = Object.hasOwn(selectorValueSchemas, kind)
    ? selectorValueSchemas[kind]
    : undefined;
  if (schema === undefined) throw invalidSelector(kind, 'unknown selector kind');
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalidSelector(kind, 'wrong shape of value', parsed.error);
  return canonicalOf(kind, parsed.data as SelectorValue<SelectorKind>);
}

function canonicalOf(kind: SelectorKind, value: SelectorValue<SelectorKind>): Selector {
  const input = value as never;
  switch (kind) {
    case SelectorKind.Phone: {
      const phone = input as SelectorValue<'phone'>;
      return makeSelector(
        kind,
        typeof phone === 'string'
          ? canonicalPhone(phone)
          : canonicalPhone(phone.number, phone.country),
      );
    }
    case SelectorKind.Email:
      return makeSelector(kind, canonicalEmail(input));
    case SelectorKind.Handle: {
      const { platform, handle } = input as SelectorValue<'handle'>;
      return isWebHandle(handle)
        ? makeSelector(SelectorKind.Url, canonicalUrl(handle))
        : makeSelector(kind, canonicalHandle(platform, handle));
    }
    case SelectorKind.Document: {
      const { issuingCountry, number } = input as SelectorValue<'document'>;
      return makeSelector(kind, canonicalDocument(issuingCountry, number));
    }
    case SelectorKind.Iban:
      return makeSelector(kind, canonicalIban(input));
    case SelectorKind.Crypto: {
      const { network, address } = input as SelectorValue<'crypto'>;
      return makeSelector(kind, canonicalCrypto(network, address));
    }
    case SelectorKind.Imo:
      return makeSelector(kind, canonicalImo(input));
    case SelectorKind.Mmsi:
      return makeSelector(kind, canonicalMmsi(input));
    case SelectorKind.Domain:
      return makeSelector(kind, canonicalDomain(input));
    case SelectorKind.Url:
      return makeSelector(kind, canonicalUrl(input));
  }
}
