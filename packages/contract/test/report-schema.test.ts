import { describe, expect, it } from 'vitest';
import {
  Category,
  IndicatorType,
  REPORT_SCHEMA_VERSION,
  Tlp,
  agencyIdSchema,
  indicatorSchema,
  parseReport,
  reportSchema,
  validateReport,
  type SchemaIssue,
} from '../src/index.ts';
import { details, expectMosaicError } from './support/expect-error.ts';
import { example, minimalReport } from './support/reports.ts';

type Json = Record<string, unknown>;

/** The issue paths of validating `report`, or [] when it is valid. */
function issuePaths(report: unknown): string[] {
  try {
    validateReport(report);
    return [];
  } catch (err) {
    return (details(err as never)['issues'] as SchemaIssue[]).map((issue) => issue.path);
  }
}

const withIndicator = (indicator: Json) => minimalReport(indicator);

describe('constants', () => {
  it('exposes the version, TLP labels, categories and indicator types', () => {
    expect(REPORT_SCHEMA_VERSION).toBe('1.0');
    expect(Object.values(Tlp)).toEqual(['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED']);
    expect(Object.values(Category)).toEqual([
      'recruitment',
      'transport',
      'exploitation',
      'financial-flow',
      'online-advertising',
      'document-fraud',
      'other',
    ]);
    expect(Object.values(IndicatorType)).toHaveLength(11);
  });
});

describe('top-level fields', () => {
  it('accepts the minimal report and returns a plain copy', () => {
    const report = validateReport(minimalReport());
    expect(report.issuer).toBe('nl-police');
    expect(Object.getPrototypeOf(report)).toBe(Object.prototype);
  });

  it.each([
    ['schemaVersion', '1.1'],
    ['schemaVersion', 1],
    ['reportId', '3F1C2A9E-5B7D-4E21-A6C3-8D9E0F1A2B3C'],
    ['reportId', '3f1c2a9e-5b7d-9e21-a6c3-8d9e0f1a2b3c'],
    ['reportId', '3f1c2a9e-5b7d-4e21-c6c3-8d9e0f1a2b3c'],
    ['reportId', '00000000-0000-0000-0000-000000000000'],
    ['reportId', '3f1c2a9e5b7d4e21a6c38d9e0f1a2b3c'],
    ['issuer', 'NL-police'],
    ['issuer', '-nl-police'],
    ['issuer', 'nl-police-'],
    ['issuer', 'nl.police'],
    ['issuer', 'nl_police'],
    ['issuer', 'a'.repeat(65)],
    ['issuer', ''],
    ['issuedAt', '2025-01-15T10:00:00'],
    ['issuedAt', '2025-01-15T10:00:00+00:00'],
    ['issuedAt', '2025-02-30T10:00:00Z'],
    ['issuedAt', '2025-01-15'],
    ['origin', 'nl'],
    ['origin', 'XK'],
    ['jurisdictions', []],
    ['jurisdictions', Array.from({ length: 65 }, (_, i) => `GROUP${i}`)],
    ['jurisdictions', ['NL', 'NL']],
    ['category', 'smuggling'],
    ['narrative', ''],
    ['narrative', 'x'.repeat(4001)],
    ['narrative', 'line\r\nbreak'],
    ['narrative', 'nul\u0000'],
    ['narrative', 'c1\u0085'],
    ['indicators', Array.from({ length: 257 }, () => ({ type: 'phone', number: '+31612345678' }))],
  ])('rejects %s = %j', (field, value) => {
    const report = minimalReport();
    report[field] = value;
    const paths = issuePaths(report);
    expect(paths.length).toBeGreaterThan(0);
    for (const path of paths) expect(path.startsWith(field)).toBe(true);
  });

  it.each([
    ['reportId', '0192f3a4-7b2c-7d3e-9f10-2a3b4c5d6e7f'],
    ['issuer', 'a'],
    ['issuer', 'a'.repeat(64)],
    ['issuedAt', '2024-02-29T23:59:59.123456Z'],
    ['jurisdictions', Array.from({ length: 64 }, (_, i) => `GROUP${i}`)],
    ['narrative', 'x'.repeat(4000)],
    ['narrative', 'multi\nline\twith tab'],
    ['origin', 'ECOWAS'],
  ])('accepts %s = %j', (field, value) => {
    const report = minimalReport();
    report[field] = value;
    expect(issuePaths(report)).toEqual([]);
  });

  it('rejects missing required fields and unknown keys', () => {
    const missing = minimalReport();
    delete missing['grading'];
    expect(issuePaths(missing)).toEqual(['grading']);
    const extra = { ...minimalReport(), extra: true };
    const error = expectMosaicError(() => validateReport(extra), 'ERR_SCHEMA');
    expect(details(error)['issues']).toEqual([
      {
        path: '',
        code: 'unrecognized_keys',
        message: 'Unrecognized key: "extra"',
        keys: ['extra'],
      },
    ]);
  });

  it('rejects non-objects', () => {
    for (const value of [null, [], 'report', 42])
      expectMosaicError(() => validateReport(value), 'ERR_SCHEMA');
  });
});

describe('grading', () => {
  it.each([
    { sourceReliability: 'G', informationCredibility: 1, confidence: 0 },
    { sourceReliability: 'a', informationCredibility: 1, confidence: 0 },
    { sourceReliability: 'A', informationCredibility: 0, confidence: 0 },
    { sourceReliability: 'A', informationCredibility: 2.5, confidence: 0 },
    { sourceReliability: 'A', informationCredibility: 1, confidence: 101 },
    { sourceReliability: 'A', informationCredibility: 1, confidence: -1 },
    { sourceReliability: 'A', informationCredibility: 1, confidence: 50.5 },
    { sourceReliability: 'A', informationCredibility: 1, confidence: 50, extra: 1 },
  ])('rejects %j', (grading) => {
    const report = minimalReport();
    report['grading'] = grading;
    expect(issuePaths(report).every((p) => p.startsWith('grading'))).toBe(true);
    expect(issuePaths(report).length).toBeGreaterThan(0);
  });

  it('accepts the bounds', () => {
    const report = minimalReport();
    report['grading'] = { sourceReliability: 'F', informationCredibility: 6, confidence: 100 };
    expect(issuePaths(report)).toEqual([]);
    report['grading'] = { sourceReliability: 'A', informationCredibility: 1, confidence: 0 };
    expect(issuePaths(report)).toEqual([]);
  });
});

describe('handling', () => {
  const handling = (value: Json) => {
    const report = minimalReport();
    report['handling'] = value;
    return issuePaths(report);
  };

  it('accepts every TLP label and rejects others', () => {
    for (const tlp of Object.values(Tlp)) expect(handling({ tlp })).toEqual([]);
    for (const tlp of ['WHITE', 'amber', 'AMBER STRICT', ''])
      expect(handling({ tlp })).toEqual(['handling.tlp']);
  });

  it('requires validUntil after validFrom', () => {
    const from = '2025-01-01T00:00:00Z';
    expect(handling({ tlp: 'RED', validFrom: from, validUntil: '2025-01-01T00:00:01Z' })).toEqual(
      [],
    );
    expect(handling({ tlp: 'RED', validFrom: from, validUntil: from })).toEqual([
      'handling.validUntil',
    ]);
    expect(handling({ tlp: 'RED', validFrom: from, validUntil: '2024-12-31T23:59:59Z' })).toEqual([
      'handling.validUntil',
    ]);
    expect(handling({ tlp: 'RED', validUntil: '2024-12-31T23:59:59Z' })).toEqual([]);
  });

  it('refuses an entry in both release lists, and duplicates or empty lists', () => {
    expect(
      handling({
        tlp: 'RED',
        releasableTo: { jurisdictions: ['NL', 'DE'] },
        notReleasableTo: { jurisdictions: ['FR', 'DE'] },
      }),
    ).toEqual(['handling.notReleasableTo.jurisdictions.1']);
    expect(
      handling({
        tlp: 'RED',
        releasableTo: { agencies: ['de-bka'] },
        notReleasableTo: { jurisdictions: ['DE'], agencies: ['nl-police'] },
      }),
    ).toEqual([]);
    expect(handling({ tlp: 'RED', releasableTo: { agencies: ['de-bka', 'de-bka'] } })).toEqual([
      'handling.releasableTo.agencies.1',
    ]);
    expect(handling({ tlp: 'RED', releasableTo: { agencies: [] } })).toEqual([
      'handling.releasableTo.agencies',
    ]);
    expect(handling({ tlp: 'RED', releasableTo: { agencies: ['DE-BKA'] } })).toEqual([
      'handling.releasableTo.agencies.0',
    ]);
    expect(handling({ tlp: 'RED', releasableTo: { groups: ['x'] } })).toEqual([
      'handling.releasableTo',
    ]);
  });
});

describe('lineage', () => {
  const id = '0192f3a4-7b2c-7d3e-9f10-2a3b4c5d6e7f';
  const lineage = (value: Json, indicators?: unknown[]) => {
    const report = minimalReport();
    report['lineage'] = value;
    if (indicators !== undefined) report['indicators'] = indicators;
    return issuePaths(report);
  };

  it('accepts supersedes and relatesTo, and retracts with no indicators', () => {
    expect(lineage({ supersedes: [id], relatesTo: [id] })).toEqual([]);
    expect(lineage({ retracts: id }, [])).toEqual([]);
    expect(lineage({ retracts: id })).toEqual([]);
  });

  it('refuses empty indicators unless the report retracts', () => {
    expect(lineage({ supersedes: [id] }, [])).toEqual(['indicators']);
    const report = minimalReport();
    report['indicators'] = [];
    expect(issuePaths(report)).toEqual(['indicators']);
  });

  it('refuses retract together with supersede', () => {
    expect(lineage({ retracts: id, supersedes: ['6f1d3c2a-8e4b-4a7d-b5c1-9e0f2a3b4c5d'] })).toEqual(
      ['lineage.retracts'],
    );
  });

  it('refuses self references', () => {
    const self = '3f1c2a9e-5b7d-4e21-a6c3-8d9e0f1a2b3c';
    expect(lineage({ supersedes: [id, self] })).toEqual(['lineage.supersedes.1']);
    expect(lineage({ relatesTo: [self] })).toEqual(['lineage.relatesTo.0']);
    expect(lineage({ retracts: self }, [])).toEqual(['lineage.retracts']);
  });

  it('refuses bad ids, duplicates and unknown keys', () => {
    expect(lineage({ relatesTo: ['not-a-uuid'] })).toEqual(['lineage.relatesTo.0']);
    expect(lineage({ relatesTo: [id, id] })).toEqual(['lineage.relatesTo.1']);
    expect(lineage({ replaces: [id] })).toEqual(['lineage']);
  });
});

describe('indicators', () => {
  const ok: Json[] = [
    { type: 'person', name: 'Jane Example' },
    {
      type: 'person',
      name: 'Ana Exemplu',
      birthDate: '2001-02-03',
      nationality: 'RO',
      gender: 'female',
      role: 'victim',
      note: 'n',
    },
    { type: 'phone', number: '+2348031234567' },
    // Seven digits in all: the shortest numbers in use (Tokelau, Niue).
    { type: 'phone', number: '+6907290' },
    { type: 'email', address: 'recruiter@example.com' },
    { type: 'online-handle', handle: '@jobs_abroad', platform: 'telegram' },
    { type: 'online-handle', handle: 'работа.за.границей', platform: 'classifieds.example' },
    {
      type: 'identity-document',
      documentType: 'passport',
      number: 'NXC4R7P81',
      issuingCountry: 'NL',
    },
    {
      type: 'vehicle',
      plate: 'B-MK4821',
      country: 'DE',
      make: 'Ford',
      model: 'Transit',
      colour: 'grey',
    },
    { type: 'vessel', imo: '9312456' },
    { type: 'vessel', mmsi: '244123456', name: 'Noordster', flag: 'NL' },
    {
      type: 'financial-account',
      iban: 'NL91ABNA0417164300',
      bic: 'ABNANL2A',
      holder: 'J. Example',
    },
    { type: 'financial-account', iban: 'XK051212012345678906', bic: 'RBKOXKPR' },
    {
      type: 'crypto-wallet',
      network: 'ethereum',
      address: '0x52908400098527886e0f7030069857d2e4169ee7',
    },
    { type: 'location', coordinates: { lat: -90, lon: 180 } },
    { type: 'location', place: { name: 'Lagos', country: 'NG' }, role: 'recruitment' },
    {
      type: 'organisation',
      name: 'Example Staffing SRL',
      registrationNumber: 'J40/1234/2015',
      country: 'RO',
    },
    { type: 'organisation', name: 'Example BV' },
  ];

  it.each(ok)('accepts %j', (indicator) => {
    expect(issuePaths(withIndicator(indicator))).toEqual([]);
    expect(indicatorSchema.safeParse(indicator).success).toBe(true);
  });

  const bad: [string, Json, string][] = [
    ['person without name', { type: 'person' }, 'indicators.0.name'],
    ['person name with newline', { type: 'person', name: 'a\nb' }, 'indicators.0.name'],
    [
      'person impossible birth date',
      { type: 'person', name: 'x', birthDate: '2001-02-30' },
      'indicators.0.birthDate',
    ],
    [
      'person nationality lower case',
      { type: 'person', name: 'x', nationality: 'ro' },
      'indicators.0.nationality',
    ],
    ['person unknown role', { type: 'person', name: 'x', role: 'boss' }, 'indicators.0.role'],
    ['person unknown gender', { type: 'person', name: 'x', gender: 'f' }, 'indicators.0.gender'],
    ['phone without +', { type: 'phone', number: '31612345678' }, 'indicators.0.number'],
    ['phone with leading 0', { type: 'phone', number: '+0612345678' }, 'indicators.0.number'],
    ['phone too short', { type: 'phone', number: '+316123' }, 'indicators.0.number'],
    ['phone too long', { type: 'phone', number: '+3161234567890123' }, 'indicators.0.number'],
    ['phone with spaces', { type: 'phone', number: '+31 6 12345678' }, 'indicators.0.number'],
    ['email without domain', { type: 'email', address: 'recruiter@' }, 'indicators.0.address'],
    [
      'handle with space',
      { type: 'online-handle', handle: 'a b', platform: 'vk' },
      'indicators.0.handle',
    ],
    [
      'handle too long',
      { type: 'online-handle', handle: 'a'.repeat(129), platform: 'vk' },
      'indicators.0.handle',
    ],
    [
      'platform upper case',
      { type: 'online-handle', handle: 'a', platform: 'Telegram' },
      'indicators.0.platform',
    ],
    [
      'document lower case',
      {
        type: 'identity-document',
        documentType: 'passport',
        number: 'nxc4r7p81',
        issuingCountry: 'NL',
      },
      'indicators.0.number',
    ],
    [
      'document too short',
      { type: 'identity-document', documentType: 'passport', number: 'AB', issuingCountry: 'NL' },
      'indicators.0.number',
    ],
    [
      'document with space',
      {
        type: 'identity-document',
        documentType: 'passport',
        number: 'NX C4',
        issuingCountry: 'NL',
      },
      'indicators.0.number',
    ],
    [
      'document type unknown',
      { type: 'identity-document', documentType: 'id-card', number: 'NXC4', issuingCountry: 'NL' },
      'indicators.0.documentType',
    ],
    [
      'document without issuing country',
      { type: 'identity-document', documentType: 'visa', number: 'NXC4' },
      'indicators.0.issuingCountry',
    ],
    [
      'plate with space',
      { type: 'vehicle', plate: 'B MK 4821', country: 'DE' },
      'indicators.0.plate',
    ],
    [
      'plate trailing hyphen',
      { type: 'vehicle', plate: 'BMK-', country: 'DE' },
      'indicators.0.plate',
    ],
    ['vessel without ids', { type: 'vessel', name: 'x' }, 'indicators.0'],
    ['vessel IMO check digit', { type: 'vessel', imo: '9312457' }, 'indicators.0.imo'],
    ['vessel MMSI of a coast station', { type: 'vessel', mmsi: '002442000' }, 'indicators.0.mmsi'],
    [
      'IBAN lower case',
      { type: 'financial-account', iban: 'nl91abna0417164300' },
      'indicators.0.iban',
    ],
    [
      'IBAN unknown country',
      { type: 'financial-account', iban: 'US91ABNA0417164300' },
      'indicators.0.iban',
    ],
    [
      'BIC bad shape',
      { type: 'financial-account', iban: 'NL91ABNA0417164300', bic: 'ABNA-NL2A' },
      'indicators.0.bic',
    ],
    [
      'BIC unknown country',
      { type: 'financial-account', iban: 'NL91ABNA0417164300', bic: 'ABNAZZ2A' },
      'indicators.0.bic',
    ],
    [
      'wallet unknown network',
      { type: 'crypto-wallet', network: 'dogecoin', address: 'D8vFz4p1L37jdg47HXKtSHA5uYLYxbGgPD' },
      'indicators.0.network',
    ],
    [
      'wallet wrong network',
      {
        type: 'crypto-wallet',
        network: 'tron',
        address: '0x52908400098527886e0f7030069857d2e4169ee7',
      },
      'indicators.0.address',
    ],
    ['location empty', { type: 'location', role: 'transit' }, 'indicators.0'],
    [
      'latitude out of range',
      { type: 'location', coordinates: { lat: 90.5, lon: 0 } },
      'indicators.0.coordinates.lat',
    ],
    [
      'longitude out of range',
      { type: 'location', coordinates: { lat: 0, lon: -180.1 } },
      'indicators.0.coordinates.lon',
    ],
    [
      'place without country',
      { type: 'location', place: { name: 'x' } },
      'indicators.0.place.country',
    ],
    [
      'location unknown role',
      { type: 'location', coordinates: { lat: 0, lon: 0 }, role: 'hub' },
      'indicators.0.role',
    ],
    [
      'organisation registration with a leading space',
      { type: 'organisation', name: 'x', registrationNumber: ' HRB 1' },
      'indicators.0.registrationNumber',
    ],
    [
      'note too long',
      { type: 'phone', number: '+31612345678', note: 'x'.repeat(501) },
      'indicators.0.note',
    ],
    [
      'note with control character',
      { type: 'phone', number: '+31612345678', note: 'a\u001bb' },
      'indicators.0.note',
    ],
    ['unknown key', { type: 'phone', number: '+31612345678', verified: true }, 'indicators.0'],
    ['unknown type', { type: 'car', plate: 'X' }, 'indicators.0.type'],
    ['missing type', { number: '+31612345678' }, 'indicators.0.type'],
  ];

  it.each(bad)('rejects %s', (_name, indicator, path) => {
    expect(issuePaths(withIndicator(indicator))).toEqual([path]);
  });
});

describe('agencyIdSchema', () => {
  it('accepts the federation agency ids', () => {
    for (const id of ['nl-police', 'de-bka', 'ro-dicot', 'es-policia', 'ng-naptip', 'ngo-lastrada'])
      expect(agencyIdSchema.safeParse(id).success).toBe(true);
  });
});

describe('parseReport', () => {
  it('parses bytes and strings into the same report', () => {
    const text = JSON.stringify(example('financial-flow'));
    expect(parseReport(new TextEncoder().encode(text))).toEqual(parseReport(text));
  });

  it('normalises free text to NFC', () => {
    const report = example('route-three-countries');
    const text = JSON.stringify(report).replace('Chișinău central', 'Chis\u0326ina\u0306u central');
    const parsed = parseReport(text);
    const place = parsed.indicators[0];
    expect(place?.type === 'location' ? place.place?.name : '').toBe(
      'Chi\u0219in\u0103u central bus station',
    );
  });

  it('passes limits to the JSON parser', () => {
    const text = JSON.stringify(minimalReport());
    expectMosaicError(() => parseReport(text, { maxBytes: 100 }), 'ERR_PAYLOAD_TOO_LARGE');
    expectMosaicError(() => parseReport(text, { maxDepth: 2 }), 'ERR_JSON_DEPTH');
    expect(parseReport(text, { maxDepth: 3 }).reportId).toBe(
      '3f1c2a9e-5b7d-4e21-a6c3-8d9e0f1a2b3c',
    );
  });

  it('reports every issue with a dotted path, a code and a message', () => {
    const report = minimalReport({ type: 'financial-account', iban: 'NL92ABNA0417164300' });
    report['origin'] = 'nl';
    report['grading'] = { sourceReliability: 'Z', informationCredibility: 1, confidence: 1 };
    const error = expectMosaicError(() => parseReport(JSON.stringify(report)), 'ERR_SCHEMA');
    const issues = details(error)['issues'] as SchemaIssue[];
    expect(issues.map((issue) => issue.path).sort()).toEqual([
      'grading.sourceReliability',
      'indicators.0.iban',
      'origin',
    ]);
    for (const issue of issues) {
      expect(issue.code).toBeTypeOf('string');
      expect(issue.message).toBeTypeOf('string');
    }
    expect(error.message).toContain('3 issues');
    expect(JSON.parse(JSON.stringify(error))).toMatchObject({
      code: 'ERR_SCHEMA',
      details: { issues },
    });
  });

  it('returns objects that the schema alone also accepts', () => {
    const report = parseReport(JSON.stringify(example('vessel-crew-exploitation')));
    expect(reportSchema.parse(report)).toEqual(report);
  });
});
