import { ErrorCode, MosaicError, toIssues } from '@mosaic/errors';
import { canonicalJson } from './canonical-json.ts';
import { auditEntrySchema, type AuditEntry } from './entry-schema.ts';
import { leafHash, toHex } from './hash.ts';

/**
 * Validates `entry` against the strict schema and returns its canonical bytes (sorted keys,
 * no white space). Store exactly these bytes: the entry's leaf is `leafHash(bytes)`.
 * Throws ERR_AUDIT_ENTRY when the entry is invalid.
 *
 * @example
 * ```ts
 * const data = encodeEntry({ v: 1, time: new Date().toISOString(), actor: { kind: 'service', id: 'ingest' },
 *   action: 'report.accepted', prev: prevHash(lastData) });
 * ```
 */
export function encodeEntry(entry: AuditEntry): Uint8Array {
  const parsed = auditEntrySchema.safeParse(entry);
  if (!parsed.success)
    throw new MosaicError(ErrorCode.AuditEntry, 'not a valid audit entry', {
      details: { issues: toIssues(parsed.error.issues) },
    });
  return new TextEncoder().encode(canonicalJson(parsed.data));
}

/**
 * The `prev` value for the entry that follows the entry stored as `previousData`: the
 * lower-case hex of its leaf hash. The first entry of a log has no `prev`.
 *
 * @example
 * ```ts
 * const entry = { ...fields, ...(last === undefined ? {} : { prev: prevHash(last) }) };
 * ```
 */
export function prevHash(previousData: Uint8Array): string {
  return toHex(leafHash(previousData));
}
