import { randomUUID } from 'node:crypto';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import {
  MAX_HOLDINGS_BATCH,
  holdingsReplySchema,
  holdingsSubject,
  type CheckResult,
  type HoldingsReply,
  type HoldingsRequest,
} from '@mosaic/protocol';
import { selectorKind, type Selector } from '@mosaic/selectors';
import type { NatsConnection } from '@nats-io/transport-node';
import { selectorTokens, type SelectorTokensOptions } from './selector-tokens.ts';

/** One private holding: a canonical selector and the agency's own opaque reference for it. */
export interface Holding {
  selector: Selector;
  /** A case or file number of the agency's own (one line, ≤ 128 characters); never the selector. */
  reference: string;
}

export interface HoldingsOptions extends SelectorTokensOptions {
  /** Register: afterwards the agency holds exactly these (every other holding is withdrawn). */
  replace?: boolean;
}

async function ask<Op extends HoldingsReply & { ok: true }>(
  nc: NatsConnection,
  agency: string,
  request: HoldingsRequest,
  timeout: number,
): Promise<Op> {
  let data: unknown;
  try {
    const msg = await nc.request(holdingsSubject(agency), JSON.stringify(request), { timeout });
    data = msg.json();
  } catch (err) {
    throw new MosaicError(
      ErrorCode.Unavailable,
      `the holdings service did not answer: ${(err as Error).message}`,
      { details: { operation: request.op }, cause: err },
    );
  }
  const parsed = holdingsReplySchema.safeParse(data);
  if (!parsed.success)
    throw new MosaicError(ErrorCode.Unavailable, 'the holdings service’s answer is malformed', {
      details: { operation: request.op },
    });
  const reply = parsed.data;
  if (!reply.ok) {
    const known = (Object.values(ErrorCode) as string[]).includes(reply.code);
    throw new MosaicError(
      known ? (reply.code as ErrorCode) : ErrorCode.Internal,
      `the holdings service refused: ${reply.message}`,
      { details: { ...reply.details, code: reply.code } },
    );
  }
  return reply as Op;
}

function batches<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += MAX_HOLDINGS_BATCH)
    out.push(items.slice(i, i + MAX_HOLDINGS_BATCH));
  return out;
}

/**
 * Registers private holdings of `agency` with the hub: each selector is tokenised here
 * through the selector key service (blinded; `selectorTokens`), and only its token, kind and
 * the agency's reference are sent. With `replace`, every holding not in `holdings` is
 * withdrawn afterwards.
 *
 * @example
 * ```ts
 * await registerHoldings(nc, 'nl-police', [{ selector: canonicalSelector('iban', 'NL91 ABNA 0417 1643 00'), reference: 'case-17' }]);
 * ```
 */
export async function registerHoldings(
  nc: NatsConnection,
  agency: string,
  holdings: readonly Holding[],
  options: HoldingsOptions = {},
): Promise<{ registered: number; withdrawn: number }> {
  const timeout = options.timeoutMs ?? 10_000;
  const tokens = await selectorTokens(
    nc,
    agency,
    holdings.map((h) => h.selector),
    options,
  );
  const set = randomUUID();
  let registered = 0;
  for (const batch of batches(holdings)) {
    const reply = await ask<Extract<HoldingsReply, { op: 'register' }>>(
      nc,
      agency,
      {
        op: 'register',
        set,
        holdings: batch.map((h) => ({
          kind: selectorKind(h.selector),
          token: tokens.get(h.selector) as string,
          reference: h.reference,
        })),
      },
      timeout,
    );
    registered += reply.registered;
  }
  let withdrawn = 0;
  if (options.replace === true) {
    const reply = await ask<Extract<HoldingsReply, { withdrawn: number }>>(
      nc,
      agency,
      { op: 'prune', keep: set },
      timeout,
    );
    withdrawn = reply.withdrawn;
  }
  return { registered, withdrawn };
}

/**
 * Withdraws holdings of `agency`: those of the given selectors (tokenised again, as for
 * registering), or all of them with `'all'` (no tokens needed).
 *
 * @example
 * ```ts
 * await withdrawHoldings(nc, 'nl-police', 'all');
 * ```
 */
export async function withdrawHoldings(
  nc: NatsConnection,
  agency: string,
  selectors: readonly Selector[] | 'all',
  options: SelectorTokensOptions = {},
): Promise<{ withdrawn: number }> {
  const timeout = options.timeoutMs ?? 10_000;
  if (selectors === 'all') {
    const reply = await ask<Extract<HoldingsReply, { withdrawn: number }>>(
      nc,
      agency,
      { op: 'prune' },
      timeout,
    );
    return { withdrawn: reply.withdrawn };
  }
  const tokens = [...(await selectorTokens(nc, agency, selectors, options)).values()];
  let withdrawn = 0;
  for (const batch of batches(tokens)) {
    const reply = await ask<Extract<HoldingsReply, { withdrawn: number }>>(
      nc,
      agency,
      { op: 'withdraw', tokens: batch },
      timeout,
    );
    withdrawn += reply.withdrawn;
  }
  return { withdrawn };
}

/**
 * Checks selectors against other agencies' private holdings: no-hit, or hit with the
 * holders whose hit policy names them to `agency` (`holders`) and whether other holders
 * were notified instead (`othersNotified`). Every holder with a match receives a `hit`
 * alert naming `agency`. The agency's own holdings never count as hits.
 *
 * @example
 * ```ts
 * const { results } = await checkSelectors(nc, 'de-bka', [canonicalSelector('phone', '+40 723 456 789')]);
 * ```
 */
export async function checkSelectors(
  nc: NatsConnection,
  agency: string,
  selectors: readonly Selector[],
  options: SelectorTokensOptions = {},
): Promise<{ checkIds: string[]; results: Map<Selector, CheckResult> }> {
  const timeout = options.timeoutMs ?? 10_000;
  const unique = [...new Set(selectors)];
  const tokens = await selectorTokens(nc, agency, unique, options);
  const results = new Map<Selector, CheckResult>();
  const checkIds: string[] = [];
  for (const batch of batches(unique)) {
    const reply = await ask<Extract<HoldingsReply, { op: 'check' }>>(
      nc,
      agency,
      {
        op: 'check',
        tokens: batch.map((s) => ({ kind: selectorKind(s), token: tokens.get(s) as string })),
      },
      timeout,
    );
    if (reply.results.length !== batch.length)
      throw new MosaicError(ErrorCode.Unavailable, 'the holdings service answered another count', {
        details: { operation: 'check', sent: batch.length, answered: reply.results.length },
      });
    checkIds.push(reply.checkId);
    batch.forEach((s, i) => results.set(s, reply.results[i] as CheckResult));
  }
  return { checkIds, results };
}
