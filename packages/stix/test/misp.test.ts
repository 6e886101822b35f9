import { createHash } from 'node:crypto';
import type { Report } from '@mosaic/contract';
import { ErrorCode } from '@mosaic/errors';
import { generateAgencyKey, signReport } from '@mosaic/signing';
import { MISP_TLP_TAGS, reportToMispEvent, reportsToMispFeed } from '@mosaic/stix';
import { describe, expect, it } from 'vitest';
import { example, examples } from './support/examples.ts';

/** Every leaf value of an indicator, as the strings a MISP attribute holds. */
function leaves(value: unknown, path = ''): [string, string][] {
  if (value !== null && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => leaves(v, path === '' ? k : `${path}.${k}`));
  return [[path, String(value)]];
}

describe('report → MISP event', () => {
  it.each(examples().map(({ name, report }) => [name, report] as const))(
    '%s keeps every indicator field, its TLP and each restriction, at distribution 0',
    (_name, report) => {
      const { Event: e } = reportToMispEvent({ report });
      expect(e.distribution).toBe('0');
      expect(e.Attribute.every((a) => a.distribution === '5')).toBe(true);
      const tags = e.Tag.map((t) => t.name);
      expect(tags).toContain(MISP_TLP_TAGS[report.handling.tlp]);
      for (const a of report.handling.releasableTo?.agencies ?? [])
        expect(tags).toContain(`mosaic:releasable-to-agency="${a}"`);
      for (const j of report.handling.releasableTo?.jurisdictions ?? [])
        expect(tags).toContain(`mosaic:releasable-to-jurisdiction="${j}"`);
      for (const a of report.handling.notReleasableTo?.agencies ?? [])
        expect(tags).toContain(`mosaic:not-releasable-to-agency="${a}"`);
      for (const j of report.handling.notReleasableTo?.jurisdictions ?? [])
        expect(tags).toContain(`mosaic:not-releasable-to-jurisdiction="${j}"`);
      report.indicators.forEach((indicator, index) => {
        const mine = e.Attribute.filter((a) =>
          a.comment.startsWith(`indicator ${String(index)} (`),
        );
        for (const [field, value] of leaves(indicator)) {
          if (field === 'type') continue;
          if (field.startsWith('coordinates.')) continue;
          expect(
            mine.some((a) => a.value === value || a.value.split(',').includes(value)),
            `${String(index)} ${field}`,
          ).toBe(true);
        }
      });
      expect(reportToMispEvent({ report })).toEqual(reportToMispEvent({ report }));
    },
  );

  it('writes AMBER+STRICT as tlp:amber+strict, and the provenance JWS with its key id', async () => {
    const report: Report = {
      ...example('recruitment-advert'),
      handling: { tlp: 'AMBER+STRICT', notReleasableTo: { agencies: ['ngo-lastrada'] } },
    };
    const key = await generateAgencyKey(report.issuer, { keyId: 'k1' });
    const jws = await signReport(report, key.privateJwk);
    const feed = reportsToMispFeed([{ report, jws }]);
    const [event] = feed.events;
    const tags = event?.Event.Tag.map((t) => t.name);
    expect(tags).toContain('tlp:amber+strict');
    expect(tags).toContain('mosaic:not-releasable-to-agency="ngo-lastrada"');
    expect(tags).toContain(`mosaic:provenance-kid="${key.kid}"`);
    expect(event?.Event.Attribute.find((a) => a.value === jws)?.category).toBe(
      'Internal reference',
    );
    const uuid = event?.Event.uuid ?? '';
    expect(Object.keys(feed.manifest)).toEqual([uuid]);
    expect(feed.hashes.trim().split('\n')).toEqual(
      event?.Event.Attribute.map(
        (a) => `${createHash('md5').update(a.value).digest('hex')},${uuid}`,
      ),
    );
  });

  it('refuses a report whose handling it cannot carry (ERR_MISP_UNMAPPABLE), naming it', () => {
    const base = example('recruitment-advert');
    const unknownField = {
      ...base,
      handling: { ...base.handling, embargoUntil: '2030-01-01T00:00:00Z' },
    } as unknown as Report;
    expect(() => reportsToMispFeed([{ report: base }, { report: unknownField }])).toThrow(
      expect.objectContaining({ code: ErrorCode.MispUnmappable }),
    );
    const quoted = {
      ...base,
      handling: { tlp: 'RED', releasableTo: { agencies: ['de"bka'] } },
    } as unknown as Report;
    expect(() => reportToMispEvent({ report: quoted })).toThrow(
      expect.objectContaining({ code: ErrorCode.MispUnmappable }),
    );
  });
});
