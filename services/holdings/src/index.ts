export { startHoldings } from './holdings.ts';
export type { HoldingsOptions, HoldingsService } from './holdings.ts';
