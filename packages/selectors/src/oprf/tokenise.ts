import { selectorKind, type Selector, type SelectorKind } from '../kinds.ts';
import { blind, finalize, type SelectorToken } from './client.ts';
import { MAX_BATCH } from './elements.ts';
import type { EvaluatedBatch } from './evaluate.ts';

/** The key service's public key and the key epoch it evaluates under. */
export interface SelectorKeyInfo {
  epoch: number;
  publicKey: Uint8Array;
}

/** One batch as the key service is asked for it: blinded elements of one kind and epoch. */
export interface EvaluationRequest {
  kind: SelectorKind;
  epoch: number;
  blinded: readonly Uint8Array[];
}

/**
 * The tokens of `selectors` under `key`: blinded here, one batch per kind (at most
 * `MAX_BATCH` each) handed to `evaluate` — the transport to the key service — and each
 * answer's DLEQ proof verified before it is unblinded (ERR_OPRF_PROOF, no token made).
 * The kinds are asked for at once, each kind's batches one after another: a report with a
 * phone number and an e-mail address waits for one round trip, not two, and a long list of
 * one kind never has more than one batch in flight. The first failure is the result.
 * Agencies (`@mosaic/sdk`) and the hub's router make their tokens through this one path.
 *
 * @example
 * ```ts
 * const tokens = await tokenise([selector], key, (request) => askKeyService(request));
 * ```
 */
export async function tokenise(
  selectors: readonly Selector[],
  key: SelectorKeyInfo,
  evaluate: (request: EvaluationRequest) => Promise<EvaluatedBatch>,
): Promise<Map<Selector, SelectorToken>> {
  const tokens = new Map<Selector, SelectorToken>();
  const byKind = new Map<SelectorKind, Selector[]>();
  for (const selector of new Set(selectors)) {
    const kind = selectorKind(selector);
    byKind.set(kind, [...(byKind.get(kind) ?? []), selector]);
  }
  const ofKind = async (kind: SelectorKind, all: readonly Selector[]): Promise<void> => {
    for (let i = 0; i < all.length; i += MAX_BATCH) {
      const batch = all.slice(i, i + MAX_BATCH);
      const pending = blind(batch, key.publicKey, { kind, epoch: key.epoch });
      const answer = await evaluate({ kind, epoch: key.epoch, blinded: pending.blinded });
      const made = finalize(pending, answer);
      batch.forEach((selector, j) => tokens.set(selector, made[j] as SelectorToken));
    }
  };
  await Promise.all([...byKind].map(([kind, all]) => ofKind(kind, all)));
  return tokens;
}
