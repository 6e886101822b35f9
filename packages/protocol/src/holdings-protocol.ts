/**
 * The wire contract of private holdings and hit/no-hit checks on `mosaic.holdings.<agency>`
 * (request/reply, attested by the broker), and of the `hit` alerts the holdings service
 * appends to ALERTS. Only selector tokens (RFC 9497 POPRF outputs made by the agency through
 * the selector key service) and the holder's own opaque references travel here; never a
 * selector.
 */
import { z } from 'zod';

/** Most entries in one holdings request; a client splits larger files. */
export const MAX_HOLDINGS_BATCH = 500;

/** A selector token: 64 bytes of POPRF output in unpadded base64url. */
const holdingTokenSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{86}$/, { message: 'a 64-byte token in unpadded base64url' });

/** The selector kind a token was made under (part of the POPRF info). */
const kindSchema = z.string().regex(/^[a-z]{1,16}$/, { message: 'a selector kind' });

/**
 * The holder's own reference for a holding (a case or file number of its own): one line of
 * printable text, handed back to it in its `hit` alerts and never shown to the asker.
 */
export const holdingReferenceSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$/u, { message: 'one line without control characters' });

/** A registration set: the holdings registered together (see `prune`). */
const setSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { message: 'a set id' });

const tokens = <T extends z.ZodType>(item: T) => z.array(item).min(1).max(MAX_HOLDINGS_BATCH);

/**
 * A request on `mosaic.holdings.<agency>`:
 * - `register`: holdings (kind, token, reference) of the sending agency, under a set id;
 *   registering a token again replaces its reference and set;
 * - `withdraw`: the sending agency's holdings of these tokens are removed;
 * - `prune`: every holding of the sending agency not registered under `keep` is removed
 *   (all of them without `keep`) — a replacement is `register` under a new set, then `prune`;
 * - `check`: which of these tokens other agencies hold.
 */
export const holdingsRequestSchema = z.discriminatedUnion('op', [
  z.strictObject({
    op: z.literal('register'),
    set: setSchema,
    holdings: tokens(
      z.strictObject({
        kind: kindSchema,
        token: holdingTokenSchema,
        reference: holdingReferenceSchema,
      }),
    ),
  }),
  z.strictObject({ op: z.literal('withdraw'), tokens: tokens(holdingTokenSchema) }),
  z.strictObject({ op: z.literal('prune'), keep: setSchema.optional() }),
  z.strictObject({
    op: z.literal('check'),
    tokens: tokens(z.strictObject({ kind: kindSchema, token: holdingTokenSchema })),
  }),
]);
export type HoldingsRequest = z.infer<typeof holdingsRequestSchema>;

/**
 * The answer for one checked token: no-hit, or hit with the holders whose hit policy lets
 * them be named to the asker, and whether other holders (not named) were notified.
 */
const checkResultSchema = z.union([
  z.strictObject({ hit: z.literal(false) }),
  z.strictObject({
    hit: z.literal(true),
    holders: z.array(z.string()),
    othersNotified: z.boolean(),
  }),
]);
export type CheckResult = z.infer<typeof checkResultSchema>;

/** The holdings service's answers; a refusal carries a stable error code. */
export const holdingsReplySchema = z.union([
  z.strictObject({ ok: z.literal(true), op: z.literal('register'), registered: z.int().min(0) }),
  z.strictObject({
    ok: z.literal(true),
    op: z.enum(['withdraw', 'prune']),
    withdrawn: z.int().min(0),
  }),
  z.strictObject({
    ok: z.literal(true),
    op: z.literal('check'),
    checkId: z.string(),
    results: z.array(checkResultSchema),
  }),
  z.strictObject({
    ok: z.literal(false),
    code: z.string().min(1),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
]);
export type HoldingsReply = z.infer<typeof holdingsReplySchema>;

/** A stored holding (`<holder>.<token>` in the holdings bucket). */
export const holdingRecordSchema = z.strictObject({
  kind: kindSchema,
  reference: holdingReferenceSchema,
  set: setSchema,
  registeredAt: z.iso.datetime(),
});
export type HoldingRecord = z.infer<typeof holdingRecordSchema>;

/** The key of a holding in the holdings bucket. */
export function holdingKey(holder: string, token: string): string {
  return `${holder}.${token}`;
}

/** The holder and token of a holdings bucket key, or undefined for any other key. */
export function parseHoldingKey(key: string): { holder: string; token: string } | undefined {
  const [holder, token, ...rest] = key.split('.');
  if (holder === undefined || holder === '' || token === undefined || rest.length > 0)
    return undefined;
  return holdingTokenSchema.safeParse(token).success ? { holder, token } : undefined;
}

/** The alert kind of a hit alert (`Mosaic-Alert-Kind`, and the subject's kind token). */
export const HIT_ALERT_KIND = 'hit';

/**
 * Subject of a hit alert: `mosaic.alerts.<holder>.hit.<asker>.<checkId>`, under the holder's
 * own alerts filter, so it reaches the holder through its alerts consumer.
 */
export function hitAlertSubject(holder: string, asker: string, checkId: string): string {
  return `mosaic.alerts.${holder}.${HIT_ALERT_KIND}.${asker}.${checkId}`;
}

/** The JetStream message id of a hit alert: one per check and holder. */
export function hitAlertMsgId(checkId: string, holder: string): string {
  return `hit/${checkId}/${holder}`;
}

/** What a hit alert carries: who checked, and which of the holder's own holdings matched. */
export const hitAlertSchema = z.strictObject({
  v: z.literal(1),
  asker: z.string().min(1),
  checkId: z.string().min(1),
  checkedAt: z.iso.datetime(),
  holdings: z
    .array(
      z.strictObject({
        kind: kindSchema,
        reference: holdingReferenceSchema,
        /** True when the asker was told this holder holds the selector. */
        named: z.boolean(),
      }),
    )
    .min(1),
});
export type HitAlert = z.infer<typeof hitAlertSchema>;
