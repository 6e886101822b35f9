import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REPORT_JSON_SCHEMA_ID, generateReportJsonSchema } from '../src/index.ts';

const committed = new URL('../../../schemas/report.schema.json', import.meta.url);

describe('report.schema.json', () => {
  it('is up to date (run `npm run schemas` after changing the zod schema)', () => {
    expect(readFileSync(committed, 'utf8')).toBe(generateReportJsonSchema());
  });

  it('is draft 2020-12 with an id, title and description, and strict', () => {
    const schema = JSON.parse(generateReportJsonSchema()) as Record<string, unknown>;
    expect(schema['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema['$id']).toBe(REPORT_JSON_SCHEMA_ID);
    expect(schema['title']).toContain('report');
    expect(schema['description']).toBeTypeOf('string');
    expect(schema['additionalProperties']).toBe(false);
    expect(schema['required']).toEqual(
      expect.arrayContaining([
        'schemaVersion',
        'reportId',
        'issuer',
        'issuedAt',
        'origin',
        'jurisdictions',
        'category',
        'indicators',
        'narrative',
        'grading',
        'handling',
      ]),
    );
    const text = generateReportJsonSchema();
    expect(text.endsWith('}\n')).toBe(true);
    expect(text).toBe(`${JSON.stringify(schema, null, 2)}\n`);
  });

  it('forbids unknown keys at every object level', () => {
    const objects: Record<string, unknown>[] = [];
    const visit = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(visit);
      else if (typeof node === 'object' && node !== null) {
        const record = node as Record<string, unknown>;
        if (record['type'] === 'object') objects.push(record);
        Object.values(record).forEach(visit);
      }
    };
    visit(JSON.parse(generateReportJsonSchema()));
    expect(objects.length).toBeGreaterThan(10);
    for (const object of objects) expect(object['additionalProperties']).toBe(false);
  });
});
