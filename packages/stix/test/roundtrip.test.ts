import { canonicalJson } from '@mosaic/audit-log';
import type { Report } from '@mosaic/contract';
import { ErrorCode } from '@mosaic/errors';
import { generateAgencyKey, signReport } from '@mosaic/signing';
import {
  MOSAIC_EXTENSION_ID,
  TLP_MARKING_IDS,
  bundleToReports,
  reportsToBundle,
  tlpMarkingDefinition,
} from '@mosaic/stix';
import type { ImportedReport, StixBundle, StixObject, StixVersion } from '@mosaic/stix';
import { describe, expect, it } from 'vitest';
import { example, examples, overTheWire } from './support/examples.ts';

function imported(bundle: StixBundle): ImportedReport[] {
  const result = bundleToReports(overTheWire(bundle));
  if (!result.ok) throw new Error(JSON.stringify(result.problems, null, 2));
  return result.reports;
}

const byType = (bundle: StixBundle, type: string) =>
  bundle.objects.filter((object) => object.type === type);

/** previousVersion over the other examples, as a store of earlier exports would answer it. */
function earlierExports(issuer: string, reportId: string): StixVersion | undefined {
  const earlier = examples().find(
    ({ report }) => report.issuer === issuer && report.reportId === reportId,
  );
  if (earlier === undefined) return undefined;
  const [stix] = byType(reportsToBundle([{ report: earlier.report }]), 'report');
  return { id: stix!.id, created: String(stix!['created']) };
}

describe('report → STIX → report', () => {
  it.each(examples().map(({ name, report }) => [name, report] as const))(
    '%s comes back byte-identical after canonicalisation',
    (_name, report) => {
      const bundle = reportsToBundle([{ report }], { previousVersion: earlierExports });
      const reports = imported(bundle);
      expect(reports).toHaveLength(1);
      expect(canonicalJson(reports[0]!.report)).toBe(canonicalJson(report));
      expect(reports[0]!.provenance).toBeUndefined();
    },
  );

  it('carries all examples in one bundle and gives them back in order', () => {
    const all = examples().map(({ report }) => report);
    const reports = imported(reportsToBundle(all.map((report) => ({ report }))));
    expect(reports.map(({ report }) => canonicalJson(report))).toEqual(
      all.map((r) => canonicalJson(r)),
    );
  });
});

describe('markings', () => {
  const strict: Report = {
    ...example('vessel-crew-exploitation'),
    handling: {
      tlp: 'AMBER+STRICT',
      releasableTo: { agencies: ['es-policia', 'de-bka'] },
      notReleasableTo: { jurisdictions: ['MT'], agencies: ['nl-police'] },
    },
  };

  it('an AMBER+STRICT report with not-releasable-to carries both markings on every object of it, and the import restores both', () => {
    const bundle = reportsToBundle([{ report: strict }]);
    const [handling] = byType(bundle, 'marking-definition').filter(
      (marking) =>
        marking.id !== TLP_MARKING_IDS['AMBER+STRICT'] && marking.id !== TLP_MARKING_IDS.CLEAR,
    );
    expect(handling?.['extensions']).toEqual({
      [MOSAIC_EXTENSION_ID]: {
        extension_type: 'property-extension',
        releasable_to: { agencies: ['es-policia', 'de-bka'] },
        not_releasable_to: { jurisdictions: ['MT'], agencies: ['nl-police'] },
      },
    });
    const content = bundle.objects.filter((object) =>
      [
        'report',
        'indicator',
        'observed-data',
        'relationship',
        'x-mosaic-vessel',
        'x-mosaic-location',
      ].includes(object.type),
    );
    expect(content).toHaveLength(1 + 2 * 4);
    for (const object of content)
      expect(object['object_marking_refs']).toEqual([
        TLP_MARKING_IDS['AMBER+STRICT'],
        handling!.id,
      ]);
    expect(handling!['object_marking_refs']).toEqual([TLP_MARKING_IDS['AMBER+STRICT']]);
    const [back] = imported(bundle);
    expect(back!.report.handling).toEqual(strict.handling);
  });

  it('includes the official TLP 2.0 definition of every marking used, and marks every other object', () => {
    const bundle = reportsToBundle(examples().map(({ report }) => ({ report })));
    const defined = new Map(byType(bundle, 'marking-definition').map((m) => [m.id, m]));
    for (const [tlp, id] of Object.entries(TLP_MARKING_IDS))
      expect(defined.get(id)).toEqual(tlpMarkingDefinition(tlp as Report['handling']['tlp']));
    for (const object of bundle.objects) {
      if (object.type === 'marking-definition' && !Object.hasOwn(object, 'created_by_ref'))
        continue;
      const refs = object['object_marking_refs'] as string[];
      expect(refs.length, object.id).toBeGreaterThan(0);
      for (const ref of refs) expect(defined.has(ref), `${object.id} → ${ref}`).toBe(true);
    }
  });

  it('marks an observable two public reports share with the markings of both', () => {
    const clear = example('recruitment-advert');
    clear.handling = { tlp: 'CLEAR' };
    const green = { ...clear, reportId: '0192f3a4-7b2c-7d3e-9f10-000000000002' };
    green.handling = { tlp: 'GREEN', notReleasableTo: { agencies: ['ngo-lastrada'] } };
    const bundle = reportsToBundle([{ report: clear }, { report: green }]);
    const phones = byType(bundle, 'phone-number');
    expect(phones).toHaveLength(1);
    const greenMarkings = byType(bundle, 'report')[1]!['object_marking_refs'] as string[];
    expect(phones[0]!['object_marking_refs']).toEqual([TLP_MARKING_IDS.CLEAR, ...greenMarkings]);
    expect(imported(bundle).map(({ report }) => report.handling)).toEqual([
      clear.handling,
      green.handling,
    ]);
  });

  it('refuses to export a validity that ends before the report is issued', () => {
    const report = example('recruitment-advert');
    report.handling = { tlp: 'AMBER', validUntil: '2025-03-01T00:00:00Z' };
    expect(() => reportsToBundle([{ report }])).toThrow(
      expect.objectContaining({ code: ErrorCode.StixUnmappable }),
    );
  });

  it('maps information credibility to STIX confidence on the Admiralty scale, and back', () => {
    const expected = { 1: 90, 2: 70, 3: 50, 4: 30, 5: 10, 6: undefined } as const;
    for (const [credibility, confidence] of Object.entries(expected)) {
      const report = example('recruitment-advert');
      report.grading = { ...report.grading, informationCredibility: Number(credibility) };
      const bundle = reportsToBundle([{ report }]);
      expect(byType(bundle, 'report')[0]!['confidence']).toBe(confidence);
      expect(imported(bundle)[0]!.report.grading).toEqual(report.grading);
    }
  });
});

describe('identifiers', () => {
  const selectorIds = (bundle: StixBundle) =>
    bundle.objects
      .filter((object) => ['phone-number', 'user-account', 'bank-account'].includes(object.type))
      .map((object) => object.id);

  it('names observables of AMBER and RED reports by their report, never by a hash of the selector', () => {
    for (const tlp of ['AMBER', 'AMBER+STRICT', 'RED'] as const) {
      const report = example('recruitment-advert');
      report.handling = { tlp };
      const other = { ...report, reportId: '0192f3a4-7b2c-7d3e-9f10-000000000009' };
      const first = selectorIds(reportsToBundle([{ report }]));
      const again = selectorIds(reportsToBundle([{ report }]));
      const ofOther = selectorIds(reportsToBundle([{ report: other }]));
      report.handling = { tlp: 'GREEN' };
      const hashes = selectorIds(reportsToBundle([{ report }]));
      expect(first.length).toBeGreaterThan(0);
      // The same on every export (a TAXII collection serves stable ids), another per report.
      expect(again).toEqual(first);
      for (const [i, id] of first.entries()) {
        expect(id).not.toBe(ofOther[i]);
        expect(id).not.toBe(hashes[i]);
      }
    }
  });

  it('gives observables of CLEAR and GREEN reports the STIX deterministic id, equal across reports', () => {
    const report = example('recruitment-advert');
    report.handling = { tlp: 'GREEN' };
    const other = { ...report, reportId: '0192f3a4-7b2c-7d3e-9f10-000000000001' };
    const first = selectorIds(reportsToBundle([{ report }]));
    expect(first.every((id) => /--[0-9a-f]{8}-[0-9a-f]{4}-5/.test(id))).toBe(true);
    expect(selectorIds(reportsToBundle([{ report: other }]))).toEqual(first);
    const both = reportsToBundle([{ report }, { report: other }]);
    expect(new Set(selectorIds(both)).size).toBe(first.length);
  });

  it('derives report, indicator and observed-data ids from issuer and report id only', () => {
    const report = example('recruitment-advert');
    const ids = (bundle: StixBundle) =>
      bundle.objects
        .filter((o) => ['report', 'indicator', 'observed-data'].includes(o.type))
        .map((o) => o.id);
    const changed = structuredClone(report);
    changed.indicators = changed.indicators.map((indicator) =>
      indicator.type === 'phone' ? { ...indicator, number: '+40799999999' } : indicator,
    );
    expect(ids(reportsToBundle([{ report: changed }]))).toEqual(ids(reportsToBundle([{ report }])));
  });
});

describe('lineage', () => {
  const original = example('recruitment-advert');
  const update = example('superseding-update');
  const retraction = example('retraction');

  it('writes a supersede as a new version of the same report object', () => {
    const bundle = reportsToBundle([{ report: original }, { report: update }]);
    const [first, second] = byType(bundle, 'report') as [StixObject, StixObject];
    expect(second.id).toBe(first.id);
    expect(second['created']).toBe(first['created']);
    expect(Date.parse(String(second['modified']))).toBeGreaterThan(
      Date.parse(String(first['modified'])),
    );
    expect(second['revoked']).toBeUndefined();
  });

  it('writes a retraction as a revoked version of the retracted report', () => {
    const bundle = reportsToBundle([{ report: original }, { report: retraction }]);
    const [first, revoked] = byType(bundle, 'report') as [StixObject, StixObject];
    expect(revoked.id).toBe(first.id);
    expect(revoked['revoked']).toBe(true);
    expect(revoked['description']).toBe(retraction.narrative);
  });

  it('refuses a supersede whose earlier STIX object it cannot name', () => {
    expect(() => reportsToBundle([{ report: update }])).toThrow(
      expect.objectContaining({ code: ErrorCode.StixLineage }),
    );
  });

  it('makes such a supersede the first version of its own object when asked to', () => {
    const bundle = reportsToBundle([{ report: update }], { unlinkable: 'first-version' });
    const alone = bundle.objects.find((o) => o.type === 'report');
    const updated = byType(reportsToBundle([{ report: original }, { report: update }]), 'report');
    expect(alone?.['created']).toBe(alone?.['modified']);
    expect(alone?.['modified']).toBe(updated[1]?.['modified']);
    expect(updated.map((o) => o.id)).not.toContain(alone?.id);
    // An earlier report that is known still makes it a version of that one.
    const known = reportsToBundle([{ report: original }, { report: update }], {
      unlinkable: 'first-version',
    });
    expect(byType(known, 'report').map((o) => o.id)).toEqual(updated.map((o) => o.id));
    // Issued no later than the report it replaces: not a version, its own object.
    const early = { ...update, issuedAt: original.issuedAt };
    const [, own] = byType(
      reportsToBundle([{ report: original }, { report: early }], {
        unlinkable: 'first-version',
      }),
      'report',
    );
    expect(own?.id).not.toBe(updated[0]?.id);
    expect(own?.['created']).toBe(own?.['modified']);
  });

  it('refuses a newer version issued no later than the version it replaces', () => {
    const early = { ...update, issuedAt: original.issuedAt };
    expect(() => reportsToBundle([{ report: original }, { report: early }])).toThrow(
      expect.objectContaining({ code: ErrorCode.StixLineage }),
    );
  });
});

describe('provenance', () => {
  it('carries the originator JWS and key id, and the import hands them back', async () => {
    const report = example('recruitment-advert');
    const key = await generateAgencyKey(report.issuer, { keyId: 'k1' });
    const jws = await signReport(report, key.privateJwk);
    const bundle = reportsToBundle([{ report, jws }]);
    const extension = (
      byType(bundle, 'report')[0]!['extensions'] as Record<string, Record<string, unknown>>
    )[MOSAIC_EXTENSION_ID]!;
    expect(extension['provenance']).toEqual({ jws, kid: key.kid });
    expect(imported(bundle)[0]!.provenance).toEqual({ jws, kid: key.kid });
  });

  it('refuses to export a JWS of another report as provenance', async () => {
    const report = example('recruitment-advert');
    const key = await generateAgencyKey(report.issuer, { keyId: 'k1' });
    const jws = await signReport({ ...report, narrative: 'Another text.' }, key.privateJwk);
    expect(() => reportsToBundle([{ report, jws }])).toThrow(
      expect.objectContaining({ code: ErrorCode.StixProvenance }),
    );
  });

  it('refuses to import a report changed after export under its original JWS', async () => {
    const report = example('recruitment-advert');
    const key = await generateAgencyKey(report.issuer, { keyId: 'k1' });
    const bundle = reportsToBundle([{ report, jws: await signReport(report, key.privateJwk) }]);
    const stix = byType(bundle, 'report')[0]!;
    stix['description'] = 'Nothing to see here.';
    const result = bundleToReports(overTheWire(bundle));
    expect(result).toEqual({
      ok: false,
      problems: [expect.objectContaining({ code: ErrorCode.StixProvenance, objectId: stix.id })],
    });
  });
});
