import { ErrorCode, MosaicError } from '@mosaic/errors';
import { indicatorSchema, type Indicator } from '@mosaic/contract';
import type { SelectorKind } from '../kinds.ts';

/** ERR_SELECTOR_INVALID without the value: a selector is what the hub must not learn. */
export function invalidSelector(kind: SelectorKind, reason: string, cause?: unknown): MosaicError {
  return new MosaicError(ErrorCode.SelectorInvalid, `not a usable ${kind} selector: ${reason}`, {
    details: { kind, reason },
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * Checks a canonical value against the report contract by building the indicator that
 * would carry it, so a selector is never something a report could not hold.
 */
export function assertContractAccepts(
  kind: SelectorKind,
  indicator: { readonly type: Indicator['type'] } & Readonly<Record<string, unknown>>,
): void {
  const result = indicatorSchema.safeParse(indicator);
  if (result.success) return;
  const reason = result.error.issues[0]?.message ?? 'refused by the report schema';
  throw invalidSelector(kind, reason);
}

/** Longest raw spelling accepted; every contract field is far shorter. */
export const MAX_SPELLING = 512;

/** Trims a raw spelling and refuses an empty or overlong one. */
export function spelling(kind: SelectorKind, value: string): string {
  if (value.length > MAX_SPELLING)
    throw invalidSelector(kind, `longer than ${MAX_SPELLING} characters`);
  const trimmed = value.trim();
  if (trimmed === '') throw invalidSelector(kind, 'empty');
  return trimmed;
}
