import { z } from 'zod';

/** Base64url (unpadded) of bytes, as evaluation requests and replies carry elements. */
const b64url = z.string().regex(/^[A-Za-z0-9_-]*$/, { message: 'unpadded base64url' });

/**
 * A request to the selector key service on `mosaic.selectors.evaluate.<agency>`:
 * - `key`: its current public key and key epoch (nothing is evaluated, nothing charged);
 * - `evaluate`: one batch of blinded selectors of one kind under one epoch, each a
 *   ristretto255 element in base64url. The service never sees a selector.
 */
export const selectorRequestSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('key') }),
  z.strictObject({
    op: z.literal('evaluate'),
    kind: z.string().min(1).max(32),
    epoch: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    blinded: z.array(b64url).min(1).max(256),
  }),
]);
export type SelectorRequest = z.infer<typeof selectorRequestSchema>;

/** The key service's answers; a refusal carries a stable error code. */
export const selectorReplySchema = z.union([
  z.strictObject({ ok: z.literal(true), epoch: z.number().int().min(0), publicKey: b64url }),
  z.strictObject({
    ok: z.literal(true),
    epoch: z.number().int().min(0),
    evaluated: z.array(b64url).min(1).max(256),
    proof: b64url,
  }),
  z.strictObject({
    ok: z.literal(false),
    code: z.string().min(1),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
]);
export type SelectorReply = z.infer<typeof selectorReplySchema>;
