import { z } from 'zod';
import { ISO_3166_ALPHA2 } from './countries.ts';
import { PATTERNS } from './patterns.ts';

/** A string of at most `max` UTF-16 units; no later check (regex) ever sees a longer one. */
export function boundedString(max: number) {
  return z.string().max(max, { abort: true });
}

/** Single-line text (names, makes, places): 1..max characters, no control characters. */
export function lineText(max: number) {
  return boundedString(max)
    .min(1)
    .refine((value) => !PATTERNS.lineTextForbidden.test(value), {
      message: 'must not contain control characters or line breaks',
    });
}

/** Multi-line text (narrative, notes): 1..max characters, only `\n` and `\t` as controls. */
export function multilineText(max: number) {
  return boundedString(max)
    .min(1)
    .refine((value) => !PATTERNS.multilineTextForbidden.test(value), {
      message: 'must not contain control characters other than \\n and \\t',
    });
}

/** Issues a custom zod issue at `path` for every repeated item. */
function refineUnique<T>(items: readonly T[], ctx: z.RefinementCtx<T[]>): void {
  const seen = new Set<T>();
  items.forEach((item, index) => {
    if (seen.has(item))
      ctx.addIssue({ code: 'custom', message: `${String(item)} is listed twice`, path: [index] });
    seen.add(item);
  });
}

/** An array of 1..max distinct items. */
export function uniqueArray<T extends z.ZodType<string>>(item: T, max: number) {
  return z.array(item).min(1).max(max).superRefine(refineUnique);
}

export const uuidSchema = boundedString(64)
  .regex(PATTERNS.uuid, { message: 'must be a lower-case UUID of version 1–8' })
  .meta({
    id: 'Uuid',
    description: 'UUID in lower-case canonical form (versions 1–8, e.g. v4 or v7).',
  });

/** An agency id: `nl-police`, `de-bka`, `ngo-lastrada`. Also a safe NATS subject token. */
export const agencyIdSchema = boundedString(64)
  .regex(PATTERNS.agencyId, {
    message: 'must be 1–64 lower-case letters, digits and inner hyphens',
  })
  .meta({
    id: 'AgencyId',
    description: 'Agency id: lower-case letters, digits and inner hyphens, 1–64.',
  });

/** An officially assigned ISO 3166-1 alpha-2 code, upper case. */
export const countryCodeSchema = z
  .enum(ISO_3166_ALPHA2, {
    error: 'must be an officially assigned ISO 3166-1 alpha-2 code in upper case',
  })
  .meta({ id: 'CountryCode', description: 'Officially assigned ISO 3166-1 alpha-2 code.' });

/** A federation-defined group of jurisdictions (e.g. `SCHENGEN`, `ECOWAS`, `EU27`). */
export const jurisdictionGroupSchema = boundedString(32).regex(PATTERNS.jurisdictionGroup, {
  message: 'must be 3–32 upper-case letters, digits and hyphens starting with a letter',
});

/**
 * A jurisdiction: an ISO 3166-1 alpha-2 country, or a group id defined by the federation.
 * Whether a group exists is checked against the federation, not here.
 */
const JURISDICTION_MESSAGE =
  'must be an assigned ISO 3166-1 alpha-2 code in upper case or a group id of 3–32 upper-case letters, digits and hyphens (e.g. SCHENGEN)';

export const jurisdictionSchema = z
  .union(
    [
      z.enum(ISO_3166_ALPHA2, { error: JURISDICTION_MESSAGE }),
      boundedString(32).regex(PATTERNS.jurisdictionGroup, { message: JURISDICTION_MESSAGE }),
    ],
    { error: JURISDICTION_MESSAGE },
  )
  .meta({
    id: 'Jurisdiction',
    description:
      'ISO 3166-1 alpha-2 country code, or a federation-defined group id of 3–32 characters.',
  });

/** RFC 3339 timestamp in UTC, ending in `Z`. */
export const timestampSchema = z.iso
  .datetime({ message: 'must be an RFC 3339 UTC timestamp ending in Z' })
  .meta({ id: 'Timestamp', description: 'RFC 3339 timestamp in UTC (ending in Z).' });

export type AgencyId = z.infer<typeof agencyIdSchema>;
export type Jurisdiction = z.infer<typeof jurisdictionSchema>;
