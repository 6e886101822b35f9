import { ErrorCode, MosaicError, toIssues, type Issue } from '@mosaic/errors';
import { parseJson, type JsonLimits } from './parse-json.ts';
import { reportSchema, type Report } from './report-schema.ts';
import { assertReportIdentifiersSafe, assertReportTextSafe } from './unsafe-characters.ts';

/** One schema failure, as carried in `details.issues` of ERR_SCHEMA (and of every code). */
export type SchemaIssue = Issue;

/**
 * Validates an already-parsed value as a report: identifier characters first, then bidi
 * controls and invisible characters in free text (both ERR_UNSAFE_CHARACTERS), then the strict
 * schema (ERR_SCHEMA with `details.issues`).
 *
 * @example
 * ```ts
 * const report = validateReport(draft);
 * ```
 */
export function validateReport(value: unknown): Report {
  assertReportIdentifiersSafe(value);
  assertReportTextSafe(value);
  const result = reportSchema.safeParse(value);
  if (result.success) return result.data;
  const issues = toIssues(result.error.issues);
  const first = issues[0];
  const where =
    first === undefined ? '' : `: ${first.path === '' ? '(root)' : first.path}: ${first.message}`;
  throw new MosaicError(
    ErrorCode.Schema,
    `report does not match the schema (${issues.length} issue${issues.length === 1 ? '' : 's'})${where}`,
    { details: { issues }, cause: result.error },
  );
}

/**
 * Parses untrusted report bytes: hardened JSON ({@link parseJson}), then
 * {@link validateReport}. Signing code passes the exact verified payload bytes.
 *
 * @example
 * ```ts
 * const report = parseReport(payloadBytes);
 * const subject = `mosaic.reports.${report.origin}.${report.category}`;
 * ```
 */
export function parseReport(input: Uint8Array | string, limits?: JsonLimits): Report {
  return validateReport(parseJson(input, limits));
}
