import { SelectorKind } from '../kinds.ts';
import { canonicalHost } from './host.ts';
import { assertContractAccepts, invalidSelector, spelling } from './invalid.ts';

const kind = SelectorKind.Email;

/**
 * `local@domain` with the domain as an ASCII host ({@link canonicalHost}: lower case,
 * IDN to punycode, no trailing dot) and the local part lower-cased.
 *
 * Lower-casing the local part is a choice: RFC 5321 lets a mailbox be case-sensitive but
 * says exploiting that "impedes interoperability and is discouraged", and no mainstream
 * provider does. Lower-casing everywhere is one rule for every domain; a list of
 * "case-insensitive providers" would silently change meaning when a domain changes hands.
 * Provider-specific aliases (dots and `+tags` at some providers) are NOT folded: they are
 * provider policy, change over time, and a tag may be what tells two accounts apart.
 */
export function canonicalEmail(value: string): string {
  const text = spelling(kind, value).normalize('NFC');
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) throw invalidSelector(kind, 'needs local@domain');
  const local = text.slice(0, at).toLowerCase();
  const domain = canonicalHost(kind, text.slice(at + 1));
  const address = `${local}@${domain}`;
  assertContractAccepts(kind, { type: 'email', address });
  return address;
}
