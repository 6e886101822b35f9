import { z } from 'zod';
import { REPORT_SCHEMA_VERSION, reportSchema } from './report-schema.ts';

/** Identifier of the published schema; a name, not necessarily a retrievable address. */
export const REPORT_JSON_SCHEMA_ID = `https://mosaic.example/schemas/report-${REPORT_SCHEMA_VERSION}.schema.json`;

/**
 * The JSON Schema (draft 2020-12) of the report, as the text committed in
 * `schemas/report.schema.json`. Checks that JSON Schema cannot express (IBAN and IMO check
 * digits, address checksums, cross-field rules) are enforced only by {@link parseReport}.
 *
 * @example
 * ```ts
 * writeFileSync('schemas/report.schema.json', generateReportJsonSchema());
 * ```
 */
export function generateReportJsonSchema(): string {
  const { $schema, ...rest } = z.toJSONSchema(reportSchema, { target: 'draft-2020-12' });
  const document = {
    $schema,
    $id: REPORT_JSON_SCHEMA_ID,
    title: `Mosaic indicator report ${REPORT_SCHEMA_VERSION}`,
    description:
      'A signed, cross-agency human-trafficking indicator report. Generated from the zod schema in packages/contract; the zod schema is authoritative: check digits, address checksums and cross-field rules are not expressible here.',
    ...rest,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
