import { readFileSync } from 'node:fs';

export const examplesDir = new URL('../../../../schemas/examples/', import.meta.url);

/** A valid example report as a fresh, mutable plain object. */
export function example(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`valid/${name}.json`, examplesDir), 'utf8')) as Record<
    string,
    unknown
  >;
}

/** A minimal valid report with one indicator, for single-rule tests. */
export function minimalReport(
  indicator: Record<string, unknown> = { type: 'phone', number: '+31612345678' },
) {
  return {
    schemaVersion: '1.0',
    reportId: '3f1c2a9e-5b7d-4e21-a6c3-8d9e0f1a2b3c',
    issuer: 'nl-police',
    issuedAt: '2025-01-15T10:00:00Z',
    origin: 'NL',
    jurisdictions: ['NL'],
    category: 'recruitment',
    indicators: [indicator],
    narrative: 'Test report.',
    grading: { sourceReliability: 'B', informationCredibility: 2, confidence: 70 },
    handling: { tlp: 'AMBER' },
  } as Record<string, unknown>;
}
