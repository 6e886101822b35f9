import { ErrorCode, MosaicError } from '@mosaic/errors';
import type { NatsConnection } from '@nats-io/transport-node';
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

/** A successful evaluation: the evaluated elements and the batch proof, decoded. */
export interface SelectorEvaluation {
  evaluated: Uint8Array[];
  proof: Uint8Array;
}

/**
 * Sends one request to the selector key service on `subject` and returns its successful
 * answer; a refusal becomes a MosaicError with the service's code, no answer
 * ERR_UNAVAILABLE, a malformed one ERR_OPRF_PROOF. Agencies ask on their own evaluation
 * subject, the hub's ingest on `HUB_SELECTOR_EVALUATE_SUBJECT`.
 *
 * @example
 * ```ts
 * const reply = await askKeyService(nc, selectorEvaluateSubject('nl-police'), { op: 'key' }, 5_000);
 * ```
 */
export async function askKeyService(
  nc: NatsConnection,
  subject: string,
  request: SelectorRequest,
  timeout: number,
): Promise<Extract<SelectorReply, { ok: true }>> {
  let data: unknown;
  try {
    const msg = await nc.request(subject, JSON.stringify(request), { timeout });
    data = msg.json();
  } catch (err) {
    if (err instanceof SyntaxError)
      throw new MosaicError(ErrorCode.OprfProof, 'the key service answered with no JSON', {
        cause: err,
      });
    throw new MosaicError(
      ErrorCode.Unavailable,
      `the selector key service did not answer: ${(err as Error).message}`,
      { details: { operation: request.op }, cause: err },
    );
  }
  const parsed = selectorReplySchema.safeParse(data);
  if (!parsed.success)
    throw new MosaicError(ErrorCode.OprfProof, 'the key service’s answer is malformed');
  const reply = parsed.data;
  if (!reply.ok) {
    const known = (Object.values(ErrorCode) as string[]).includes(reply.code);
    throw new MosaicError(
      known ? (reply.code as ErrorCode) : ErrorCode.Internal,
      `the selector key service refused: ${reply.message}`,
      { details: { ...reply.details, code: reply.code } },
    );
  }
  return reply;
}

/** The public key and epoch the key service answers on `subject`. */
export async function keyServiceKey(
  nc: NatsConnection,
  subject: string,
  timeout: number,
): Promise<{ epoch: number; publicKey: Uint8Array }> {
  const reply = await askKeyService(nc, subject, { op: 'key' }, timeout);
  if (!('publicKey' in reply))
    throw new MosaicError(ErrorCode.OprfProof, 'the key service answered no public key');
  return {
    epoch: reply.epoch,
    publicKey: new Uint8Array(Buffer.from(reply.publicKey, 'base64url')),
  };
}

/** Asks the key service on `subject` to evaluate one batch of blinded elements. */
export async function evaluateAtKeyService(
  nc: NatsConnection,
  subject: string,
  batch: { kind: string; epoch: number; blinded: readonly Uint8Array[] },
  timeout: number,
): Promise<SelectorEvaluation> {
  const reply = await askKeyService(
    nc,
    subject,
    {
      op: 'evaluate',
      kind: batch.kind,
      epoch: batch.epoch,
      blinded: batch.blinded.map((b) => Buffer.from(b).toString('base64url')),
    },
    timeout,
  );
  if (!('proof' in reply))
    throw new MosaicError(ErrorCode.OprfProof, 'the key service answered no evaluation');
  return {
    evaluated: reply.evaluated.map((e) => new Uint8Array(Buffer.from(e, 'base64url'))),
    proof: new Uint8Array(Buffer.from(reply.proof, 'base64url')),
  };
}
