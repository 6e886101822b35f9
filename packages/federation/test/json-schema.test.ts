import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FEDERATION_JSON_SCHEMA_ID, generateFederationJsonSchema } from '../src/index.ts';

const committed = new URL('../../../schemas/federation.schema.json', import.meta.url);

describe('federation JSON Schema', () => {
  it('is committed and up to date (regenerate: npx tsx packages/federation/scripts/generate-schemas.ts)', () => {
    expect(readFileSync(committed, 'utf8')).toBe(generateFederationJsonSchema());
  });

  it('is draft 2020-12 with an id, strict objects and the required fields', () => {
    const schema = JSON.parse(generateFederationJsonSchema()) as {
      $schema: string;
      $id: string;
      additionalProperties: boolean;
      required: string[];
      properties: Record<string, unknown>;
    };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toBe(FEDERATION_JSON_SCHEMA_ID);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['version', 'agencies']);
    expect(Object.keys(schema.properties)).toEqual([
      'version',
      'name',
      'groups',
      'agencies',
      'agreements',
    ]);
  });

  it('is deterministic', () => {
    expect(generateFederationJsonSchema()).toBe(generateFederationJsonSchema());
  });
});
