import { parseJson } from '@mosaic/contract';
import { ErrorCode, MosaicError, toIssues } from '@mosaic/errors';
import { auditEntrySchema, type AuditEntry } from './entry-schema.ts';

/** Stored audit entries are small; a larger one is refused before parsing. */
export const MAX_ENTRY_BYTES = 262_144;

/**
 * Decodes stored entry bytes: hardened JSON (size and depth limits, no duplicate or
 * prototype keys), then the strict schema. Throws the parser's ERR_JSON_* / ERR_PAYLOAD_TOO_LARGE
 * code, or ERR_AUDIT_ENTRY with `details.issues`.
 *
 * @example
 * ```ts
 * const entry = decodeEntry(msg.data); // entry.action, entry.actor.id, …
 * ```
 */
export function decodeEntry(bytes: Uint8Array): AuditEntry {
  const value = parseJson(bytes, { maxBytes: MAX_ENTRY_BYTES });
  const parsed = auditEntrySchema.safeParse(value);
  if (!parsed.success)
    throw new MosaicError(ErrorCode.AuditEntry, 'not a valid audit entry', {
      details: { issues: toIssues(parsed.error.issues) },
    });
  return parsed.data;
}
