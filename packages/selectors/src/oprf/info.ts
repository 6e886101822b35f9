import { z } from 'zod';
import { SelectorKind } from '../kinds.ts';

/** Version tag of the OPRF public info; a new tag is a new function and new tokens. */
export const OPRF_INFO_VERSION = 'mosaic-selector-v1';

/** The public part of an evaluation: the kind of selector and the key epoch. */
export const oprfContextSchema = z.strictObject({
  kind: z.enum(SelectorKind),
  epoch: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});
export type OprfContext = z.infer<typeof oprfContextSchema>;

/**
 * The POPRF public info, `mosaic-selector-v1|<kind>|<epoch>`: tokens of different kinds
 * or epochs come from different functions, and the key service learns the kind of each
 * query (never the selector).
 *
 * @example
 * ```ts
 * oprfInfo({ kind: 'phone', epoch: 3 }); // 'mosaic-selector-v1|phone|3'
 * ```
 */
export function oprfInfo(context: OprfContext): string {
  return `${OPRF_INFO_VERSION}|${context.kind}|${context.epoch}`;
}
