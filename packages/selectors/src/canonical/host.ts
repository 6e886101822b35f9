import { domainToASCII } from 'node:url';
import type { SelectorKind } from '../kinds.ts';
import { invalidSelector } from './invalid.ts';

/** One DNS label of a host name: letters, digits, inner hyphens, 1–63 characters. */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** A top-level label: not all digits, so an IPv4 address is never a domain. */
const TOP_LABEL = /[a-z]/;

/**
 * A DNS host name in ASCII: IDNA (UTS 46) through `domainToASCII`, which lower-cases and
 * turns Unicode labels into punycode; one trailing dot (the root) dropped; at least two
 * labels of letters, digits and inner hyphens, 253 characters at most.
 */
export function canonicalHost(kind: SelectorKind, value: string): string {
  const text = value.endsWith('.') ? value.slice(0, -1) : value;
  if (/[/:@?#\s\\]/.test(text)) throw invalidSelector(kind, 'not a host name');
  const ascii = domainToASCII(text);
  if (ascii === '') throw invalidSelector(kind, 'not a valid internationalised domain name');
  return assertHostName(kind, ascii.endsWith('.') ? ascii.slice(0, -1) : ascii);
}

/** Refuses anything but a lower-case ASCII host name of two or more labels. */
export function assertHostName(kind: SelectorKind, host: string): string {
  const labels = host.split('.');
  if (host.length > 253 || labels.length < 2 || !labels.every((label) => LABEL.test(label)))
    throw invalidSelector(kind, 'not a host name of letters, digits and hyphens');
  if (!TOP_LABEL.test(labels.at(-1) ?? '')) throw invalidSelector(kind, 'not a domain name');
  return host;
}
