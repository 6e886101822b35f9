import { ErrorCode, MosaicError } from '@mosaic/errors';
import type { z } from 'zod';
import { parseJson, type JsonLimits } from './parse-json.ts';
import { reportSchema, type Report } from './report-schema.ts';
import { assertReportIdentifiersSafe, assertReportTextSafe } from './unsafe-characters.ts';

/** One schema failure, as carried in `details.issues` of ERR_SCHEMA. */
export interface SchemaIssue {
  /** Dotted path of the offending value, e.g. `indicators.0.iban` (`''` for the root). */
  path: string;
  /** zod issue code, e.g. `invalid_format`, `unrecognized_keys`, `custom`. */
  code: string;
  message: string;
  /** For `unrecognized_keys`: the keys that are not allowed. */
  keys?: string[];
}

function toSchemaIssue(issue: z.core.$ZodIssue): SchemaIssue {
  const path = issue.path.map(String).join('.');
  return issue.code === 'unrecognized_keys'
    ? { path, code: issue.code, message: issue.message, keys: issue.keys }
    : { path, code: issue.code, message: issue.message };
}

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
  const issues = result.error.issues.map(toSchemaIssue);
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
