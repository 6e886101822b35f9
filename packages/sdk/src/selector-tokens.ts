import { ErrorCode, MosaicError } from '@mosaic/errors';
import {
  selectorEvaluateSubject,
  selectorReplySchema,
  type SelectorReply,
  type SelectorRequest,
} from '@mosaic/protocol';
import {
  MAX_BATCH,
  blind,
  finalize,
  selectorKind,
  type Selector,
  type SelectorKind,
  type SelectorToken,
} from '@mosaic/selectors';
import type { NatsConnection } from '@nats-io/transport-node';

/** The key service's public key and the key epoch it evaluates under. */
export interface SelectorKeyInfo {
  epoch: number;
  publicKey: Uint8Array;
}

export interface SelectorTokensOptions {
  /**
   * The key service's public key to verify every proof against. Default: asked of the
   * service once per call. Pin a key read earlier (or published out of band) to notice a
   * service that changes its key between agencies.
   */
  key?: SelectorKeyInfo;
  /** How long one request may take; default 10 000 ms. */
  timeoutMs?: number;
}

async function ask(
  nc: NatsConnection,
  agency: string,
  request: SelectorRequest,
  timeout: number,
): Promise<SelectorReply> {
  let data: unknown;
  try {
    const msg = await nc.request(selectorEvaluateSubject(agency), JSON.stringify(request), {
      timeout,
    });
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

/**
 * The selector key service's current public key and epoch, as it answers the agency.
 *
 * @example
 * ```ts
 * const key = await selectorKeyInfo(nc, 'nl-police');
 * ```
 */
export async function selectorKeyInfo(
  nc: NatsConnection,
  agency: string,
  options: { timeoutMs?: number } = {},
): Promise<SelectorKeyInfo> {
  const reply = await ask(nc, agency, { op: 'key' }, options.timeoutMs ?? 10_000);
  if (!('publicKey' in reply))
    throw new MosaicError(ErrorCode.OprfProof, 'the key service answered no public key');
  return {
    epoch: reply.epoch,
    publicKey: new Uint8Array(Buffer.from(reply.publicKey, 'base64url')),
  };
}

/**
 * The tokens of `selectors`, made through the selector key service as `agency`: each
 * selector is blinded here, the service evaluates only blinded elements, and its DLEQ batch
 * proof is verified against the public key before anything is unblinded (ERR_OPRF_PROOF
 * otherwise, no token made). Selectors of several kinds go in one batch per kind.
 *
 * @example
 * ```ts
 * const tokens = await selectorTokens(nc, 'nl-police', [canonicalSelector('phone', { number: '+40 723 456 789' })]);
 * ```
 */
export async function selectorTokens(
  nc: NatsConnection,
  agency: string,
  selectors: readonly Selector[],
  options: SelectorTokensOptions = {},
): Promise<Map<Selector, SelectorToken>> {
  const timeout = options.timeoutMs ?? 10_000;
  const tokens = new Map<Selector, SelectorToken>();
  if (selectors.length === 0) return tokens;
  const key = options.key ?? (await selectorKeyInfo(nc, agency, { timeoutMs: timeout }));
  const byKind = new Map<SelectorKind, Selector[]>();
  for (const selector of new Set(selectors)) {
    const kind = selectorKind(selector);
    byKind.set(kind, [...(byKind.get(kind) ?? []), selector]);
  }
  for (const [kind, all] of byKind)
    for (let i = 0; i < all.length; i += MAX_BATCH) {
      const batch = all.slice(i, i + MAX_BATCH);
      const context = { kind, epoch: key.epoch };
      const pending = blind(batch, key.publicKey, context);
      const reply = await ask(
        nc,
        agency,
        {
          op: 'evaluate',
          kind,
          epoch: key.epoch,
          blinded: pending.blinded.map((b) => Buffer.from(b).toString('base64url')),
        },
        timeout,
      );
      if (!('proof' in reply))
        throw new MosaicError(ErrorCode.OprfProof, 'the key service answered no evaluation');
      const made = finalize(pending, {
        evaluated: reply.evaluated.map((e) => new Uint8Array(Buffer.from(e, 'base64url'))),
        proof: new Uint8Array(Buffer.from(reply.proof, 'base64url')),
      });
      batch.forEach((selector, j) => tokens.set(selector, made[j] as SelectorToken));
    }
  return tokens;
}
