import { SelectorKind } from '../kinds.ts';
import { assertContractAccepts, spelling } from './invalid.ts';

/** Other names of the same platform, so `twitter` and `x.com` handles meet. */
const PLATFORM_ALIASES: ReadonlyMap<string, string> = new Map(
  Object.entries({
    twitter: 'x',
    'twitter.com': 'x',
    'x.com': 'x',
    't.me': 'telegram',
    'telegram.me': 'telegram',
    'telegram.org': 'telegram',
    'instagram.com': 'instagram',
    'facebook.com': 'facebook',
    'fb.com': 'facebook',
    'tiktok.com': 'tiktok',
  }),
);

/** Platforms whose user names are case-insensitive (one account per spelling in any case). */
const CASE_INSENSITIVE: ReadonlySet<string> = new Set([
  'telegram',
  'instagram',
  'x',
  'tiktok',
  'facebook',
]);

/** True when an online handle is a web address, which is a URL selector, not a handle. */
export function isWebHandle(handle: string): boolean {
  return /^https?:\/\//i.test(handle.trim());
}

/**
 * `<platform>:<handle>`: the platform lower case, `www.` dropped and known aliases
 * resolved (`twitter.com` → `x`); the handle without leading `@`s (a mention marker, never part of the name), lower case only on
 * platforms whose names are case-insensitive — elsewhere case may tell two accounts apart.
 */
export function canonicalHandle(platform: string, handle: string): string {
  const kind = SelectorKind.Handle;
  const lower = spelling(kind, platform)
    .toLowerCase()
    .replace(/^www\./, '');
  const name = PLATFORM_ALIASES.get(lower) ?? lower;
  let user = spelling(kind, handle);
  user = user.replace(/^@+/, '');
  if (CASE_INSENSITIVE.has(name)) user = user.toLowerCase();
  assertContractAccepts(kind, { type: 'online-handle', platform: name, handle: user });
  return `${name}:${user}`;
}
