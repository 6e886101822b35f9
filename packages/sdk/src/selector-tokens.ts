import { evaluateAtKeyService, keyServiceKey, selectorEvaluateSubject } from '@mosaic/protocol';
import {
  tokenise,
  type Selector,
  type SelectorKeyInfo,
  type SelectorToken,
} from '@mosaic/selectors';
import type { NatsConnection } from '@nats-io/transport-node';

export type { SelectorKeyInfo } from '@mosaic/selectors';

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
  return keyServiceKey(nc, selectorEvaluateSubject(agency), options.timeoutMs ?? 10_000);
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
  if (selectors.length === 0) return new Map();
  const subject = selectorEvaluateSubject(agency);
  const key = options.key ?? (await keyServiceKey(nc, subject, timeout));
  return tokenise(selectors, key, (batch) => evaluateAtKeyService(nc, subject, batch, timeout));
}
