import { canonicalJson } from '@mosaic/audit-log';
import { validateReport } from '@mosaic/contract';
import type { Indicator, Report } from '@mosaic/contract';
import { isMosaicError } from '@mosaic/errors';
import { generateAgencyKey, signReport } from '@mosaic/signing';
import { bundleToReports, reportsToBundle } from '@mosaic/stix';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { examples, overTheWire } from './support/examples.ts';

const AGENCIES = ['nl-police', 'de-bka', 'ro-dicot', 'ngo-lastrada', 'es-policia'];
const JURISDICTIONS = ['NL', 'DE', 'RO', 'ES', 'MT', 'EU27', 'SCHENGEN'];
const START = Date.parse('2024-01-01T00:00:00Z');
const YEAR = 365 * 24 * 3600 * 1000;

const sometimes = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
// Quotes and backslashes are the characters a STIX pattern literal must escape.
const text = fc
  .stringMatching(/^[A-Za-zÀ-ÿ0-9 .,'"\\()&-]{1,60}$/)
  .filter((s) => s.trim() === s && s !== '');
const timestamp = (from: number, span: number) =>
  fc
    .integer({ min: 1, max: span })
    .chain((offset) =>
      fc.constantFrom(
        new Date(from + offset).toISOString(),
        new Date(from + offset - ((from + offset) % 1000)).toISOString().replace('.000Z', 'Z'),
      ),
    );

/** Disjoint releasable / not releasable lists, or none. */
const release = fc
  .record({
    allowJ: fc.subarray(JURISDICTIONS),
    denyJ: fc.subarray(JURISDICTIONS),
    allowA: fc.subarray(AGENCIES),
    denyA: fc.subarray(AGENCIES),
  })
  .map(({ allowJ, denyJ, allowA, denyA }) => {
    const list = (j: string[], a: string[]) => {
      const value = {
        ...(j.length > 0 ? { jurisdictions: j } : {}),
        ...(a.length > 0 ? { agencies: a } : {}),
      };
      return Object.keys(value).length > 0 ? value : undefined;
    };
    return {
      releasableTo: list(allowJ, allowA),
      notReleasableTo: list(
        denyJ.filter((j) => !allowJ.includes(j)),
        denyA.filter((a) => !allowA.includes(a)),
      ),
    };
  });

const pool: Indicator[] = examples().flatMap(({ report }) => report.indicators);
const indicator: fc.Arbitrary<Indicator> = fc.oneof(
  fc.constantFrom(...pool),
  fc.record({
    type: fc.constant('phone' as const),
    number: fc.stringMatching(/^\+[1-9][0-9]{7,14}$/),
    note: sometimes(text),
  }),
  fc.record({
    type: fc.constant('online-handle' as const),
    handle: fc.stringMatching(/^[!-~]{1,40}$/),
    platform: fc.constantFrom('telegram', 'vk.com', 'x'),
  }),
  fc.record({
    type: fc.constant('person' as const),
    name: text,
    birthDate: sometimes(fc.constantFrom('1990-01-31', '2004-07-19')),
    nationality: sometimes(fc.constantFrom('NG', 'RO')),
    role: sometimes(fc.constantFrom('victim' as const, 'suspect' as const)),
  }),
  fc.record({
    type: fc.constant('location' as const),
    coordinates: fc.record({
      lat: fc.double({ min: -90, max: 90, noNaN: true }),
      lon: fc.double({ min: -180, max: 180, noNaN: true }),
    }),
    place: sometimes(fc.record({ name: text, country: fc.constantFrom('NL', 'MT') })),
  }),
  fc.record({
    type: fc.constant('organisation' as const),
    name: text,
    country: sometimes(fc.constantFrom('DE', 'ES')),
  }),
);

const report: fc.Arbitrary<Report> = fc
  .record({
    // Report ids are v4 and references v7: no report refers to itself or to another of the batch.
    reportId: fc.uuid({ version: 4 }),
    issuer: fc.constantFrom(...AGENCIES),
    issuedAt: timestamp(START, YEAR),
    origin: fc.constantFrom('NL', 'DE', 'RO'),
    jurisdictions: fc.uniqueArray(fc.constantFrom(...JURISDICTIONS), {
      minLength: 1,
      maxLength: 4,
    }),
    category: fc.constantFrom('recruitment', 'transport', 'financial-flow', 'other'),
    indicators: fc.array(indicator, { minLength: 1, maxLength: 6 }),
    narrative: text,
    grading: fc.record({
      sourceReliability: fc.constantFrom('A', 'B', 'C', 'D', 'E', 'F'),
      informationCredibility: fc.integer({ min: 1, max: 6 }),
      confidence: fc.integer({ min: 0, max: 100 }),
    }),
    tlp: fc.constantFrom('CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'),
    release,
    validFrom: sometimes(timestamp(START - YEAR, YEAR)),
    validUntil: sometimes(timestamp(START + 2 * YEAR, YEAR)),
    lineage: fc.oneof(
      fc.constant(undefined),
      fc.record({
        relatesTo: fc.uniqueArray(fc.uuid({ version: 7 }), { minLength: 1, maxLength: 3 }),
      }),
      fc.record({
        supersedes: fc.uniqueArray(fc.uuid({ version: 7 }), { minLength: 1, maxLength: 3 }),
      }),
      fc.record({ retracts: fc.uuid({ version: 7 }), noIndicators: fc.boolean() }),
    ),
  })
  .map(({ tlp, release, validFrom, validUntil, lineage, indicators, ...rest }) => {
    const { noIndicators, ...ownLineage } = (lineage ?? {}) as { noIndicators?: boolean };
    return validateReport(
      JSON.parse(
        JSON.stringify({
          schemaVersion: '1.0',
          ...rest,
          indicators: noIndicators === true ? [] : indicators,
          handling: { tlp, ...release, validFrom, validUntil },
          ...(lineage === undefined ? {} : { lineage: ownLineage }),
        }),
      ),
    );
  });

/** An earlier version somewhere in the store, created before the report that replaces it. */
const previousVersion = (_issuer: string, reportId: string) => ({
  id: `report--${reportId}`,
  created: new Date(START - 2 * YEAR).toISOString(),
});

/** Two new versions of one STIX object need two `modified` times; STIX has no other way. */
function versionsDistinct(reports: readonly Report[]): boolean {
  const versions = reports.map(
    (r) =>
      `${r.issuer}/${r.lineage?.supersedes?.[0] ?? r.lineage?.retracts ?? r.reportId}@${Date.parse(r.issuedAt)}`,
  );
  return new Set(versions).size === versions.length;
}

describe('property: report → STIX → report', () => {
  it('gives back every generated report byte-identical after canonicalisation', () => {
    fc.assert(
      fc.property(fc.array(report, { minLength: 1, maxLength: 3 }), (reports) => {
        const unique = [...new Map(reports.map((r) => [`${r.issuer}/${r.reportId}`, r])).values()];
        fc.pre(versionsDistinct(unique));
        const bundle = reportsToBundle(
          unique.map((r) => ({ report: r })),
          { previousVersion },
        );
        const result = bundleToReports(overTheWire(bundle));
        expect(result.ok && result.reports.map((r) => canonicalJson(r.report))).toEqual(
          unique.map((r) => canonicalJson(r)),
        );
      }),
      { numRuns: 150 },
    );
  });
});

describe('property: an altered bundle', () => {
  it('never throws, and never imports a report other than the signed one', async () => {
    const original = examples().find(({ name }) => name === 'financial-flow')!.report;
    const key = await generateAgencyKey(original.issuer, { keyId: 'k1' });
    const jws = await signReport(original, key.privateJwk);
    const wire = overTheWire(reportsToBundle([{ report: original, jws }])) as {
      objects: Record<string, unknown>[];
    };
    const paths = wire.objects.flatMap((object, index) =>
      Object.keys(object).map((key) => [index, key] as const),
    );
    fc.assert(
      fc.property(
        fc.subarray(paths, { minLength: 1, maxLength: 3 }),
        fc.constantFrom<unknown>(undefined, null, 'x', 0, [], {}, true),
        (targets, value) => {
          const changed = structuredClone(wire);
          for (const [index, key] of targets)
            if (value === undefined) Reflect.deleteProperty(changed.objects[index]!, key);
            else changed.objects[index]![key] = value;
          let result;
          try {
            result = bundleToReports(changed);
          } catch (err) {
            expect.fail(`threw ${isMosaicError(err) ? err.code : String(err)}`);
          }
          if (result.ok)
            for (const { report } of result.reports)
              expect(canonicalJson(report)).toBe(canonicalJson(original));
        },
      ),
      { numRuns: 300 },
    );
  });
});
