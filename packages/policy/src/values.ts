import { Category, IndicatorType, SourceReliability } from '@mosaic/contract';

const CATEGORIES: ReadonlySet<unknown> = new Set(Object.values(Category));
const INDICATOR_TYPES: ReadonlySet<unknown> = new Set(Object.values(IndicatorType));
const RELIABILITY: ReadonlyMap<unknown, number> = new Map(
  [
    SourceReliability.CompletelyReliable,
    SourceReliability.UsuallyReliable,
    SourceReliability.FairlyReliable,
    SourceReliability.NotUsuallyReliable,
    SourceReliability.Unreliable,
    SourceReliability.CannotBeJudged,
  ].map((grade, rank) => [grade, rank]),
);

export function isCategory(value: unknown): value is Category {
  return CATEGORIES.has(value);
}

export function isIndicatorType(value: unknown): value is IndicatorType {
  return INDICATOR_TYPES.has(value);
}

/** A (best) = 0 … F (worst) = 5; undefined for anything else. */
export function reliabilityRank(value: unknown): number | undefined {
  return RELIABILITY.get(value);
}

export function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/** Milliseconds since the epoch of an RFC 3339 string, or undefined when unparseable. */
export function instant(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/** A non-empty array of items that all pass `known`. */
export function isKnownList<T>(value: unknown, known: (item: unknown) => item is T): value is T[] {
  return Array.isArray(value) && value.length > 0 && value.every((item) => known(item));
}

/** Code-unit order, independent of locale. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
