import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { agencyIdSchema, timestampSchema } from '@mosaic/contract';
import { z } from 'zod';

/** How a token reads: `mgt_<id>_<secret>`; the id names its bucket entry, the secret is never stored. */
const TOKEN_PATTERN = /^mgt_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** A token id: 64 random bits in hex, the key of its entry in the tokens bucket. */
export const tokenIdSchema = z.string().regex(/^[0-9a-f]{16}$/, { message: '16 hex digits' });

/** What the tokens bucket holds per token. */
export const gatewayTokenRecordSchema = z.strictObject({
  id: tokenIdSchema,
  agency: agencyIdSchema,
  name: z.string().trim().min(1).max(128).optional(),
  /** `tokenHash(agency, id, secret)`, lower-case hex. */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: timestampSchema,
  expiresAt: timestampSchema.optional(),
  revokedAt: timestampSchema.optional(),
});
export type GatewayTokenRecord = z.infer<typeof gatewayTokenRecordSchema>;

/**
 * The stored digest of a token secret. SHA-256 and not a slow password hash: the secret is
 * 256 bits from the CSPRNG, so no guessing attack exists for a slow hash to slow down, while
 * scrypt on every request would hand any client a cheap way to burn the gateway's CPU. The
 * agency and id are hashed with it, so an entry copied under another id or agency does not
 * verify.
 */
export function tokenHash(agency: string, id: string, secret: string): string {
  return createHash('sha256')
    .update(`mosaic-gateway-token\u0000${agency}\u0000${id}\u0000${secret}`)
    .digest('hex');
}

/**
 * A new token for `agency`: the token to show once, and the record to store.
 *
 * @example
 * ```ts
 * const { token, record } = newGatewayToken('nl-police', { name: 'case system' });
 * await kv.create(record.id, JSON.stringify(record));
 * ```
 */
export function newGatewayToken(
  agency: string,
  options: { name?: string; expiresAt?: string; now?: Date } = {},
): { token: string; record: GatewayTokenRecord } {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const record = gatewayTokenRecordSchema.parse({
    id,
    agency,
    ...(options.name === undefined ? {} : { name: options.name }),
    hash: tokenHash(agency, id, secret),
    createdAt: (options.now ?? new Date()).toISOString(),
    ...(options.expiresAt === undefined ? {} : { expiresAt: options.expiresAt }),
  });
  return { token: `mgt_${id}_${secret}`, record };
}

/** The id and secret of a token as presented, or undefined when it is not shaped like one. */
export function parseGatewayToken(token: string): { id: string; secret: string } | undefined {
  const m = TOKEN_PATTERN.exec(token);
  if (m === null) return undefined;
  return { id: m[1] as string, secret: m[2] as string };
}

/**
 * True when `secret` is the secret of `record` and the record is in force at `now` (not
 * revoked, not expired). Compares digests in constant time.
 */
export function tokenMatches(record: GatewayTokenRecord, secret: string, now: Date): boolean {
  const expected = Buffer.from(record.hash, 'hex');
  const actual = Buffer.from(tokenHash(record.agency, record.id, secret), 'hex');
  if (!timingSafeEqual(expected, actual)) return false;
  if (record.revokedAt !== undefined && Date.parse(record.revokedAt) <= now.getTime()) return false;
  if (record.expiresAt !== undefined && Date.parse(record.expiresAt) <= now.getTime()) return false;
  return true;
}
