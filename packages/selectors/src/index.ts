export { SelectorKind, selectorKind } from './kinds.ts';
export type { Selector } from './kinds.ts';
export { canonicalSelector } from './canonical-selector.ts';
export type { SelectorValue } from './canonical-selector.ts';
export { selectorsOf } from './selectors-of.ts';
export type { ReportSelectors, UnusableIndicator } from './selectors-of.ts';
