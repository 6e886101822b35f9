import { z } from 'zod';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { MOSAIC_EXTENSION_ID, MOSAIC_EXTENSION_SCHEMA_URL } from './constants.ts';
import {
  handlingExtensionSchema,
  identityDocumentScoSchema,
  locationScoSchema,
  observableExtensionSchema,
  organisationScoSchema,
  personScoSchema,
  reportExtensionSchema,
  vehicleScoSchema,
  vesselScoSchema,
} from './schemas.ts';

/** Identifier of the published extension schema; a name, not necessarily a retrievable address. */
export const STIX_EXTENSION_JSON_SCHEMA_ID = MOSAIC_EXTENSION_SCHEMA_URL;

const PARTS = {
  MosaicReportExtension: reportExtensionSchema,
  MosaicHandlingExtension: handlingExtensionSchema,
  MosaicObservableExtension: observableExtensionSchema,
  MosaicPersonObservable: personScoSchema,
  MosaicIdentityDocumentObservable: identityDocumentScoSchema,
  MosaicVehicleObservable: vehicleScoSchema,
  MosaicVesselObservable: vesselScoSchema,
  MosaicLocationObservable: locationScoSchema,
  MosaicOrganisationObservable: organisationScoSchema,
} as const;

/**
 * The JSON Schema (draft 2020-12) of the Mosaic STIX extension, as committed in
 * `schemas/stix-extension-mosaic.schema.json`: one `$defs` entry per property extension and
 * new observable type. Generated from the zod schemas the import validates with.
 *
 * @example
 * ```ts
 * writeFileSync('schemas/stix-extension-mosaic.schema.json', generateStixExtensionJsonSchema());
 * ```
 */
export function generateStixExtensionJsonSchema(): string {
  const defs: Record<string, unknown> = {};
  let schemaUri: unknown;
  for (const schema of Object.values(PARTS)) {
    const { $schema, $defs, ...rest } = z.toJSONSchema(schema, {
      target: 'draft-2020-12',
      io: 'input',
    }) as Record<string, unknown> & { $defs?: Record<string, unknown> };
    schemaUri = $schema;
    Object.assign(defs, $defs);
    const { id } = (schema.meta() ?? {}) as { id?: string };
    if (id === undefined)
      throw new MosaicError(
        ErrorCode.Internal,
        'a part of the STIX extension schema has no meta id',
      );
    // zod moves a schema with a meta id into $defs and leaves a $ref at the root.
    defs[id] ??= rest;
  }
  const sorted = Object.fromEntries(Object.entries(defs).sort(([a], [b]) => (a < b ? -1 : 1)));
  const document = {
    $schema: schemaUri,
    $id: STIX_EXTENSION_JSON_SCHEMA_ID,
    title: `Mosaic STIX 2.1 extension (${MOSAIC_EXTENSION_ID})`,
    description:
      'The property extensions (report, handling marking, observables) and new SCO types of the Mosaic STIX extension. Generated from the zod schemas in packages/stix, which are authoritative.',
    anyOf: Object.keys(PARTS).map((name) => ({ $ref: `#/$defs/${name}` })),
    $defs: sorted,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
