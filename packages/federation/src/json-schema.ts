import { z } from 'zod';
import { federationSchema } from './schema.ts';

/** Identifier of the published schema; a name, not necessarily a retrievable address. */
export const FEDERATION_JSON_SCHEMA_ID = 'https://mosaic.example/schemas/federation-1.schema.json';

/**
 * The JSON Schema (draft 2020-12) of the federation file, as the text committed in
 * `schemas/federation.schema.json`. It describes the file as written (defaults make
 * `groups`, `agreements`, `keys` and `subscriptions` optional). Cross-checks — unique ids,
 * defined groups, key windows, known agencies in agreements — are enforced only by
 * {@link loadFederation}.
 *
 * @example
 * ```ts
 * writeFileSync('schemas/federation.schema.json', generateFederationJsonSchema());
 * ```
 */
export function generateFederationJsonSchema(): string {
  const { $schema, ...rest } = z.toJSONSchema(federationSchema, {
    target: 'draft-2020-12',
    io: 'input',
  });
  const document = {
    $schema,
    $id: FEDERATION_JSON_SCHEMA_ID,
    title: 'Mosaic federation file, version 1',
    description:
      'Agencies (ids, jurisdictions, public signing keys, subscription rules), jurisdiction groups and sharing agreements. Generated from the zod schema in packages/federation, which is authoritative: uniqueness, group references, key validity windows and agreement references are checked there.',
    ...rest,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
