/** The kinds of selector: each canonical selector starts with its kind and a colon. */
export const SelectorKind = {
  Phone: 'phone',
  Email: 'email',
  Handle: 'handle',
  Document: 'document',
  Iban: 'iban',
  Crypto: 'crypto',
  Imo: 'imo',
  Mmsi: 'mmsi',
  Domain: 'domain',
  Url: 'url',
} as const;
export type SelectorKind = (typeof SelectorKind)[keyof typeof SelectorKind];

declare const selectorBrand: unique symbol;

/**
 * A canonical selector, `<kind>:<canonical value>`, e.g. `phone:+40712345678`. Only
 * {@link canonicalSelector} and {@link selectorsOf} make one, so two selectors are the same
 * value exactly when the strings are equal.
 */
export type Selector = string & { readonly [selectorBrand]: true };

const KINDS: ReadonlySet<string> = new Set(Object.values(SelectorKind));

/**
 * The kind of a selector.
 *
 * @example
 * ```ts
 * selectorKind(canonicalSelector('iban', 'nl91 abna 0417 1643 00')); // 'iban'
 * ```
 */
export function selectorKind(selector: Selector): SelectorKind {
  const kind = selector.slice(0, selector.indexOf(':'));
  if (!KINDS.has(kind)) throw new TypeError(`not a selector: kind ${JSON.stringify(kind)}`);
  return kind as SelectorKind;
}

/** Joins a kind and a canonical value; the one place a Selector is made. */
export function makeSelector(kind: SelectorKind, canonical: string): Selector {
  return `${kind}:${canonical}` as Selector;
}
