import { ErrorCode } from '@mosaic/errors';
import { TLP_MARKING_IDS, bundleToReports, reportsToBundle } from '@mosaic/stix';
import type { StixProblem } from '@mosaic/stix';
import { describe, expect, it } from 'vitest';
import { example } from './support/examples.ts';

type Json = Record<string, unknown>;

/** A fresh bundle of one AMBER report with release restrictions, as plain JSON. */
function bundle(): { type: string; id: string; objects: Json[] } {
  return JSON.parse(
    JSON.stringify(reportsToBundle([{ report: example('person-identity-document') }])),
  ) as { type: string; id: string; objects: Json[] };
}

function first(objects: Json[], type: string): Json {
  const found = objects.find((object) => object['type'] === type);
  if (found === undefined) throw new Error(`no ${type} in the bundle`);
  return found;
}

function problems(input: unknown): StixProblem[] {
  const result = bundleToReports(input);
  if (result.ok) throw new Error('the import accepted the bundle');
  expect(result).not.toHaveProperty('reports');
  return result.problems;
}

describe('bundleToReports refuses, naming the object', () => {
  it('what is not a bundle', () => {
    expect(problems({ type: 'report', id: 'x' })).toEqual([
      expect.objectContaining({ code: ErrorCode.StixInvalid, objectId: 'x' }),
    ]);
    expect(problems(null)).toEqual([
      expect.objectContaining({ code: ErrorCode.StixInvalid, objectId: 'bundle' }),
    ]);
  });

  it('an object without a type or id, by its index', () => {
    const b = bundle();
    b.objects.push({ name: 'nothing' });
    expect(problems(b)).toEqual([
      expect.objectContaining({
        code: ErrorCode.StixInvalid,
        objectId: `objects[${b.objects.length - 1}]`,
      }),
    ]);
  });

  it.each([
    [
      'an id of another type',
      (o: Json) => (o['id'] = String(o['id']).replace('indicator--', 'malware--')),
    ],
    [
      'an upper-case id',
      (o: Json) => (o['id'] = String(o['id']).toUpperCase().replace('INDICATOR', 'indicator')),
    ],
    ['spec_version 2.0', (o: Json) => (o['spec_version'] = '2.0')],
    ['a timestamp with an offset', (o: Json) => (o['modified'] = '2025-02-11T13:15:00+01:00')],
    ['a timestamp that is no date', (o: Json) => (o['valid_from'] = '2025-02-30T25:00:00Z')],
    ['a property the mapping does not write', (o: Json) => (o['x_vendor_handling'] = 'internal')],
    [
      'granular markings',
      (o: Json) =>
        (o['granular_markings'] = [{ marking_ref: TLP_MARKING_IDS.RED, selectors: ['pattern'] }]),
    ],
  ])('an indicator with %s: ERR_STIX_INVALID', (_what, change) => {
    const b = bundle();
    const indicator = first(b.objects, 'indicator');
    change(indicator);
    expect(problems(b)).toEqual([
      expect.objectContaining({ code: ErrorCode.StixInvalid, objectId: indicator['id'] }),
    ]);
  });

  it('an object type Mosaic does not map: ERR_STIX_UNMAPPABLE', () => {
    const b = bundle();
    const id = 'malware--31b940d4-6f7f-459a-80ea-9c1f17b58abc';
    b.objects.push({ type: 'malware', spec_version: '2.1', id, name: 'x', is_family: false });
    expect(problems(b)).toEqual([
      expect.objectContaining({ code: ErrorCode.StixUnmappable, objectId: id }),
    ]);
  });

  it('an object that belongs to no report', () => {
    const b = bundle();
    const sco = first(b.objects, 'x-mosaic-person');
    const copy = { ...sco, id: 'x-mosaic-person--5b1c3d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e' };
    b.objects.push(copy);
    expect(problems(b)).toEqual([
      expect.objectContaining({ code: ErrorCode.StixUnmappable, objectId: copy.id }),
    ]);
  });

  it('a reference to an object the bundle lacks', () => {
    const b = bundle();
    const observed = first(b.objects, 'observed-data');
    const [scoId] = observed['object_refs'] as string[];
    b.objects = b.objects.filter((object) => object['id'] !== scoId);
    expect(problems(b)).toEqual([
      expect.objectContaining({ code: ErrorCode.StixUnmappable, objectId: observed['id'] }),
    ]);
  });

  it('an indicator whose pattern is not its observable', () => {
    const b = bundle();
    const indicator = first(b.objects, 'indicator');
    indicator['pattern'] = "[x-mosaic-person:name = 'Someone Else']";
    expect(problems(b)).toEqual([
      expect.objectContaining({ code: ErrorCode.StixUnmappable, objectId: indicator['id'] }),
    ]);
  });

  it('a marking it cannot map: ERR_STIX_HANDLING, never a report without the restriction', () => {
    const b = bundle();
    const report = first(b.objects, 'report');
    const unknown = 'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9'; // TLP 1.0 WHITE
    report['object_marking_refs'] = [...(report['object_marking_refs'] as string[]), unknown];
    expect(problems(b)).toEqual([
      expect.objectContaining({ code: ErrorCode.StixHandling, objectId: report['id'] }),
    ]);
  });

  it('a report without its handling marking definition', () => {
    const b = bundle();
    const report = first(b.objects, 'report');
    const [, handling] = report['object_marking_refs'] as string[];
    b.objects = b.objects.filter((object) => object['id'] !== handling);
    expect(problems(b)).toContainEqual(
      expect.objectContaining({ code: ErrorCode.StixHandling, objectId: report['id'] }),
    );
  });

  it('a TLP 2.0 id with other content than the official definition', () => {
    const b = bundle();
    const amber = b.objects.find((object) => object['id'] === TLP_MARKING_IDS.AMBER)!;
    amber['name'] = 'TLP:CLEAR';
    expect(problems(b)).toEqual([
      expect.objectContaining({ code: ErrorCode.StixHandling, objectId: TLP_MARKING_IDS.AMBER }),
    ]);
  });

  it('a report that maps to an invalid Mosaic report, with the contract code', () => {
    const b = bundle();
    const report = first(b.objects, 'report');
    report['description'] = 'Bidi \u202e override.';
    expect(problems(b)).toEqual([
      expect.objectContaining({ code: ErrorCode.UnsafeCharacters, objectId: report['id'] }),
    ]);
  });

  it('every problem at once, and no report', () => {
    const b = bundle();
    first(b.objects, 'indicator')['spec_version'] = '2.0';
    first(b.objects, 'observed-data')['number_observed'] = 0;
    const found = problems(b);
    expect(found).toHaveLength(2);
    expect(new Set(found.map((p) => p.objectId)).size).toBe(2);
  });
});
