import { holderNamedTo, type HitRegistry } from '@mosaic/policy';
import type { CheckResult, HitAlert } from '@mosaic/protocol';
import type { HoldingsIndex } from './holdings-index.ts';

/** What one check finds: the asker's answer per token, and each notified holder's matches. */
export interface Matches {
  results: CheckResult[];
  perHolder: Map<string, HitAlert['holdings']>;
}

/**
 * Looks up each token among the holdings of agencies other than `asker`. A holder is named
 * in a result only when `holderNamedTo` allows it; every holder with a match is in
 * `perHolder` (it is notified either way), each holding marked with whether it was named.
 */
export function matchTokens(
  index: Pick<HoldingsIndex, 'holdersOf'>,
  registry: HitRegistry,
  asker: string,
  tokens: readonly string[],
): Matches {
  const perHolder = new Map<string, HitAlert['holdings']>();
  const results = tokens.map((token): CheckResult => {
    const holders: string[] = [];
    let othersNotified = false;
    for (const [holder, record] of index.holdersOf(token)) {
      if (holder === asker) continue;
      const named = holderNamedTo(registry, holder, asker);
      if (named) holders.push(holder);
      else othersNotified = true;
      perHolder.set(holder, [
        ...(perHolder.get(holder) ?? []),
        { kind: record.kind, reference: record.reference, named },
      ]);
    }
    return holders.length === 0 && !othersNotified
      ? { hit: false }
      : { hit: true, holders: holders.sort(), othersNotified };
  });
  return { results, perHolder };
}
