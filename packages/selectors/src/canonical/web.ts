import { SelectorKind } from '../kinds.ts';
import { assertHostName, canonicalHost } from './host.ts';
import { invalidSelector, spelling } from './invalid.ts';

/** A domain: see {@link canonicalHost}. */
export function canonicalDomain(value: string): string {
  return canonicalHost(SelectorKind.Domain, spelling(SelectorKind.Domain, value));
}

const UNRESERVED = /^[A-Za-z0-9._~-]$/;
const IPV4 = /^[0-9]{1,3}(?:\.[0-9]{1,3}){3}$/;

/** RFC 3986 §6.2.2: `%7e` → `~` (unreserved), `%2f` → `%2F` (hex digits upper case). */
function normalisePercent(text: string): string {
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}

/**
 * An http(s) URL as the WHATWG URL parser serialises it (scheme and host lower case, host
 * IDNA → punycode, default port dropped, `.`/`..` segments resolved, empty path → `/`), and
 * further: a trailing dot of the host dropped, percent-escapes normalised, the fragment
 * dropped (a browser never sends it, so it names no other resource), an empty query
 * dropped. Path and query keep their case. The scheme stays: http and https may be served
 * differently. URLs with credentials are refused rather than stripped.
 */
export function canonicalUrl(value: string): string {
  const kind = SelectorKind.Url;
  const text = spelling(kind, value);
  if (!URL.canParse(text)) throw invalidSelector(kind, 'not an absolute URL');
  const url = new URL(text);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw invalidSelector(kind, 'only http and https URLs are selectors');
  if (url.username !== '' || url.password !== '')
    throw invalidSelector(kind, 'a URL with credentials is not a selector');
  let host = url.hostname;
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (!host.startsWith('[') && !IPV4.test(host)) assertHostName(kind, host);
  const port = url.port === '' ? '' : `:${url.port}`;
  const path = normalisePercent(url.pathname);
  const query = normalisePercent(url.search);
  return `${url.protocol}//${host}${port}${path}${query}`;
}
