import { agencyIdSchema } from '@mosaic/contract';

/** A key id (the part of a `kid` after the agency): short, URL- and file-name-safe. */
export const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** The two halves of a Mosaic `kid`, `<agency>/<keyId>`. */
export interface KidParts {
  agency: string;
  keyId: string;
}

/** True when `agency` is a valid agency id, judged by the contract's own schema. */
function isAgencyId(agency: string): boolean {
  const result = agencyIdSchema.safeParse(agency);
  // A schema that normalises (e.g. NFC) must not make two spellings name one key.
  return result.success && result.data === agency;
}

/**
 * Splits a `kid` into agency and key id, or returns `undefined` when it is not of the form
 * `<agency>/<keyId>`.
 *
 * @example
 * ```ts
 * parseKid('nca-uk/2025-01'); // { agency: 'nca-uk', keyId: '2025-01' }
 * parseKid('nca-uk'); // undefined
 * ```
 */
export function parseKid(kid: string): KidParts | undefined {
  const slash = kid.indexOf('/');
  if (slash < 0) return undefined;
  const agency = kid.slice(0, slash);
  const keyId = kid.slice(slash + 1);
  if (!KEY_ID_PATTERN.test(keyId) || !isAgencyId(agency)) return undefined;
  return { agency, keyId };
}

/**
 * Joins agency and key id into a `kid`, or returns `undefined` when either part is invalid.
 *
 * @example
 * ```ts
 * formatKid('nca-uk', '2025-01'); // 'nca-uk/2025-01'
 * ```
 */
export function formatKid(agency: string, keyId: string): string | undefined {
  return KEY_ID_PATTERN.test(keyId) && isAgencyId(agency) ? `${agency}/${keyId}` : undefined;
}
