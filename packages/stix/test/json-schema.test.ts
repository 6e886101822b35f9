import { readFileSync } from 'node:fs';
import {
  MOSAIC_EXTENSION_ID,
  STIX_EXTENSION_JSON_SCHEMA_ID,
  generateStixExtensionJsonSchema,
} from '@mosaic/stix';
import { describe, expect, it } from 'vitest';

const committed = new URL('../../../schemas/stix-extension-mosaic.schema.json', import.meta.url);

describe('stix-extension-mosaic.schema.json', () => {
  it('is up to date (run `npm run schemas` after changing the zod schemas)', () => {
    expect(readFileSync(committed, 'utf8')).toBe(generateStixExtensionJsonSchema());
  });

  it('is draft 2020-12 with an id naming the extension, and defines every part', () => {
    const schema = JSON.parse(generateStixExtensionJsonSchema()) as Record<string, unknown>;
    expect(schema['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema['$id']).toBe(STIX_EXTENSION_JSON_SCHEMA_ID);
    expect(schema['title']).toContain(MOSAIC_EXTENSION_ID);
    const defs = schema['$defs'] as Record<string, Record<string, unknown>>;
    for (const part of [
      'MosaicReportExtension',
      'MosaicHandlingExtension',
      'MosaicObservableExtension',
      'MosaicPersonObservable',
      'MosaicIdentityDocumentObservable',
      'MosaicVehicleObservable',
      'MosaicVesselObservable',
      'MosaicLocationObservable',
      'MosaicOrganisationObservable',
    ]) {
      expect(defs[part], part).toBeDefined();
      expect(defs[part]!['additionalProperties'], part).toBe(false);
    }
    const refs = [...generateStixExtensionJsonSchema().matchAll(/"\$ref": "#\/\$defs\/([^"]+)"/g)];
    for (const [, name] of refs) expect(defs[name!], name).toBeDefined();
  });
});
