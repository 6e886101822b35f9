import type { Agency, HitPolicy } from '@mosaic/federation';

/** The registry as hit naming reads it: agencies by id. */
export interface HitRegistry {
  agency(id: string): Pick<Agency, 'id' | 'hitPolicy'> | undefined;
}

/**
 * Whether a hit on `holder`'s private holdings may name `holder` to `asker`. Fails closed,
 * like routing: only when both are in the registry, they are different agencies, and the
 * holder's hit policy lists the asker. An absent policy, an unknown holder or asker, or an
 * asker not listed: not named (the holder is still notified).
 *
 * @example
 * ```ts
 * holderNamedTo(registry, 'nl-police', 'de-bka'); // true when nl-police's hitPolicy.nameTo lists de-bka
 * ```
 */
export function holderNamedTo(registry: HitRegistry, holder: string, asker: string): boolean {
  if (holder === asker || registry.agency(asker) === undefined) return false;
  const policy: HitPolicy | undefined = registry.agency(holder)?.hitPolicy;
  return policy?.nameTo.includes(asker) === true;
}
