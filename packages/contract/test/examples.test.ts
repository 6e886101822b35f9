import { readdirSync, readFileSync } from 'node:fs';
import { MosaicError } from '@mosaic/errors';
import { describe, expect, it } from 'vitest';
import { parseReport, type SchemaIssue } from '../src/index.ts';
import { examplesDir } from './support/reports.ts';

interface Expected {
  code: string;
  path?: string;
  messageIncludes?: string;
}

const validDir = new URL('valid/', examplesDir);
const invalidDir = new URL('invalid/', examplesDir);
const valid = readdirSync(validDir).filter((f) => f.endsWith('.json'));
const manifest = JSON.parse(readFileSync(new URL('expected.json', invalidDir), 'utf8')) as Record<
  string,
  Expected
>;
const invalid = readdirSync(invalidDir).filter((f) => f.endsWith('.json') && f !== 'expected.json');

describe('valid examples', () => {
  it('has at least six', () => {
    expect(valid.length).toBeGreaterThanOrEqual(6);
  });

  it.each(valid)('%s parses', (file) => {
    const bytes = readFileSync(new URL(file, validDir));
    const report = parseReport(bytes);
    expect(report.schemaVersion).toBe('1.0');
  });
});

describe('invalid examples', () => {
  it('are all listed in expected.json, and it lists no missing file', () => {
    expect(invalid.length).toBeGreaterThanOrEqual(10);
    expect(Object.keys(manifest).sort()).toEqual([...invalid].sort());
  });

  it.each(invalid)('%s fails as expected.json says', (file) => {
    const expected = manifest[file]!;
    let error: unknown;
    try {
      parseReport(readFileSync(new URL(file, invalidDir)));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MosaicError);
    const mosaic = error as MosaicError;
    expect(mosaic.code, mosaic.message).toBe(expected.code);
    if (expected.messageIncludes !== undefined)
      expect(mosaic.message).toContain(expected.messageIncludes);
    const details = mosaic.details as { path?: string; issues?: SchemaIssue[] };
    if (mosaic.code === 'ERR_SCHEMA') {
      // each invalid example breaks exactly one rule, at exactly one place
      expect(details.issues?.map((issue) => issue.path)).toEqual([expected.path]);
    } else if (expected.path !== undefined) {
      expect(details.path).toBe(expected.path);
    }
  });
});
