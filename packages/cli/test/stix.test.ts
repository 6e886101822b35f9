/**
 * mosaic export stix / mosaic import stix against a real hub: what an export carries, what
 * an import stores, and that a bundle with any problem submits nothing.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalJson, decodeEntry } from '@mosaic/audit-log';
import { parseReport, type Report } from '@mosaic/contract';
import { startHub, type Hub } from '@mosaic/hub';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import { createLogger } from '@mosaic/log';
import { HUB_API_PREFIX, Streams, readStream } from '@mosaic/protocol';
import { connectAgency } from '@mosaic/sdk';
import { TLP_MARKING_IDS, reportsToBundle, type StixBundle } from '@mosaic/stix';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosaic, routerIdle } from './helpers.ts';

let dir: string;
let hub: Hub;
let operator: string;
let nc: NatsConnection;
let jsm: JetStreamManager;

const NL_CONTEXT = (): string => join(hub.contextsDir, 'nl-police.json');
const NL_KEY = (): string => join(hub.keysDir, 'nl-police.jwk');

/** A fresh nl-police report; `handling` and `indicators` vary per test. */
function report(overrides: Partial<Report> = {}): Report {
  return parseReport(
    JSON.stringify({
      schemaVersion: '1.0',
      reportId: randomUUID(),
      issuer: 'nl-police',
      issuedAt: new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      origin: 'NL',
      jurisdictions: ['NL', 'DE'],
      category: 'recruitment',
      indicators: [
        { type: 'phone', number: '+31612345678' },
        { type: 'email', address: 'jobs@recruit.example' },
      ],
      narrative: 'Job offers abroad with debt bondage.',
      grading: { sourceReliability: 'B', informationCredibility: 2, confidence: 70 },
      handling: { tlp: 'GREEN' },
      ...overrides,
    }),
  );
}

const strictHandling: Report['handling'] = {
  tlp: 'AMBER+STRICT',
  releasableTo: { jurisdictions: ['NL', 'DE'] },
  notReleasableTo: { agencies: ['ngo-lastrada'] },
};

/** Every report REPORTS holds, by report id, parsed from the stored JWS. */
async function storedReports(): Promise<Map<string, { report: Report; jws: string }>> {
  const out = new Map<string, { report: Report; jws: string }>();
  for await (const m of readStream(jsm, Streams.Reports)) {
    const jws = new TextDecoder().decode(m.data);
    const stored = parseReport(Buffer.from(jws.split('.')[1] ?? '', 'base64url'));
    out.set(stored.reportId, { report: stored, jws });
  }
  return out;
}

async function reportCount(): Promise<number> {
  return (await jsm.streams.info(Streams.Reports)).state.messages;
}

async function bundleFile(name: string, bundle: unknown): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, JSON.stringify(bundle));
  return file;
}

function importArgs(file: string): string[] {
  return ['import', 'stix', file, '--context', NL_CONTEXT(), '--key', NL_KEY()];
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-stix-'));
  hub = await startHub({
    dataDir: join(dir, 'data'),
    port: 0,
    log: createLogger({ service: 'hub', level: process.env['MOSAIC_LOG_LEVEL'] ?? 'silent' }),
  });
  operator = join(hub.contextsDir, 'operator.json');
  nc = await connect(contextConnectOptions(await readContextFile(operator)));
  jsm = await jetstreamManager(nc, { apiPrefix: HUB_API_PREFIX, checkAPI: false });
}, 120_000);

afterAll(async () => {
  await nc.close();
  await hub.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('mosaic import stix', () => {
  it('stores every report of the bundle unchanged (canonical JSON), AMBER+STRICT and not-releasable-to included', async () => {
    const reports = [report({ handling: strictHandling }), report(), report()];
    const file = await bundleFile(
      'fresh.json',
      reportsToBundle(reports.map((r) => ({ report: r }))),
    );
    const res = await mosaic(importArgs(file));
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain('imported 3 of 3 reports');
    const stored = await storedReports();
    for (const r of reports)
      expect(canonicalJson(stored.get(r.reportId)?.report)).toBe(canonicalJson(r));
    const strict = stored.get(reports[0]?.reportId ?? '')?.report;
    expect(strict?.handling.tlp).toBe('AMBER+STRICT');
    expect(strict?.handling.notReleasableTo).toEqual({ agencies: ['ngo-lastrada'] });
  });

  it('refuses a whole bundle, one coded line per object, when any object cannot be imported', async () => {
    const good = report();
    const bundle = reportsToBundle([{ report: good }]);
    const malware = {
      type: 'malware',
      spec_version: '2.1',
      id: `malware--${randomUUID()}`,
      created: '2026-01-01T00:00:00.000Z',
      modified: '2026-01-01T00:00:00.000Z',
      name: 'x',
      is_family: false,
    };
    const before = await reportCount();
    const unknown = await mosaic(
      importArgs(
        await bundleFile('unknown.json', { ...bundle, objects: [...bundle.objects, malware] }),
      ),
    );
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`${malware.id}: error ERR_STIX_UNMAPPABLE`);
    expect(unknown.stderr).toContain('nothing was submitted');

    // Another agency's report next to a good one: neither is submitted.
    const theirs = report({ issuer: 'de-bka', origin: 'DE' });
    const mixed = reportsToBundle([{ report: good }, { report: theirs }]);
    const foreign = await mosaic(importArgs(await bundleFile('mixed.json', mixed)));
    expect(foreign.code).toBe(1);
    const theirObject = mixed.objects.find(
      (o) =>
        o.type === 'report' &&
        (o['extensions'] as Record<string, { report_id?: string }>)[
          Object.keys(o['extensions'] as object)[0] ?? ''
        ]?.report_id === theirs.reportId,
    );
    expect(foreign.stderr).toContain(`${theirObject?.id ?? '?'}: error ERR_STIX_ISSUER`);

    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{"type":');
    const syntax = await mosaic(importArgs(broken));
    expect(syntax.stderr).toContain('bundle: error ERR_JSON');
    expect(syntax.code).toBe(1);
    const duplicateKey = join(dir, 'dup.json');
    await writeFile(duplicateKey, '{"type":"bundle","type":"bundle","id":"x","objects":[]}');
    const dup = await mosaic(importArgs(duplicateKey));
    expect(dup.stderr).toContain('ERR_JSON_DUPLICATE_KEY');
    const notBundle = await mosaic(importArgs(await bundleFile('array.json', [])));
    expect(notBundle.stderr).toContain('error ERR_STIX_INVALID');

    // A report changed after export no longer matches the JWS it carries.
    const signed = await connectAgency({ context: NL_CONTEXT(), key: NL_KEY() });
    const jws = await signed.sign(good);
    await signed.close();
    const tampered = reportsToBundle([{ report: good, jws }]);
    const stixReport = tampered.objects.find((o) => o.type === 'report');
    if (stixReport !== undefined) stixReport['description'] = 'changed after export';
    const changed = await mosaic(importArgs(await bundleFile('tampered.json', tampered)));
    expect(changed.stderr).toContain(`${stixReport?.id ?? '?'}: error ERR_STIX_PROVENANCE`);

    expect(await reportCount()).toBe(before);
  });
});

describe('mosaic export stix', () => {
  it('an operator export carries AMBER+STRICT and not-releasable-to, is audited, and imports back as duplicates', async () => {
    const strict = report({ handling: strictHandling });
    await using nl = await connectAgency({ context: NL_CONTEXT(), key: NL_KEY() });
    expect(await nl.publish(strict)).toMatchObject({ ok: true, duplicate: false });

    const out = join(dir, 'export.json');
    const res = await mosaic([
      'export',
      'stix',
      '--context',
      operator,
      '--agency',
      'nl-police',
      '--reason',
      'case 2026/118',
      '--out',
      out,
    ]);
    expect(res.code, res.stderr).toBe(0);
    const bundle = JSON.parse(await readFile(out, 'utf8')) as StixBundle;
    const ofStrict = bundle.objects.filter((o) => JSON.stringify(o).includes(strict.reportId));
    const stixReport = ofStrict.find((o) => o.type === 'report');
    expect(stixReport?.['object_marking_refs']).toContain(TLP_MARKING_IDS['AMBER+STRICT']);
    expect(bundle.objects.some((o) => o.id === TLP_MARKING_IDS['AMBER+STRICT'])).toBe(true);
    const handling = bundle.objects.find(
      (o) =>
        o.type === 'marking-definition' &&
        (stixReport?.['object_marking_refs'] as string[]).includes(o.id) &&
        JSON.stringify(o).includes('not_releasable_to'),
    );
    expect(JSON.stringify(handling)).toContain('ngo-lastrada');

    let exportEntry: unknown;
    for await (const m of readStream(jsm, Streams.Audit)) {
      const entry = decodeEntry(m.data) as { action: string; details?: { format?: string } };
      if (entry.action === 'operator.export' && entry.details?.format === 'stix')
        exportEntry = entry;
    }
    expect(exportEntry).toMatchObject({
      justification: 'case 2026/118',
      details: { stream: Streams.Reports, agency: 'nl-police', format: 'stix', out },
    });

    // The exported bundle carries each originator's JWS: importing it answers duplicates.
    const before = await reportCount();
    const again = await mosaic(importArgs(out));
    expect(again.code, again.stderr).toBe(0);
    const replies = again.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { ok: boolean; duplicate: boolean });
    expect(replies.length).toBeGreaterThan(0);
    expect(replies.every((r) => r.ok && r.duplicate)).toBe(true);
    expect(await reportCount()).toBe(before);
  });

  it('an agency export holds its pending alerts, each verified, and consumes them', async () => {
    await routerIdle(jsm);
    const out = join(dir, 'lastrada.json');
    const context = join(hub.contextsDir, 'de-bka.json');
    const first = await mosaic(['export', 'stix', '--context', context, '--out', out]);
    expect(first.code, first.stderr).toBe(0);
    const bundle = JSON.parse(await readFile(out, 'utf8')) as StixBundle;
    const exported = bundle.objects.filter((o) => o.type === 'report').length;
    expect(exported).toBeGreaterThan(0);
    const second = await mosaic(['export', 'stix', '--context', context]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain('exported 0 reports');
    const operatorOnly = await mosaic(['export', 'stix', '--context', context, '--reason', 'x']);
    expect(operatorOnly.code).toBe(2);
  });

  it('an operator export without --reason is a usage error and writes nothing', async () => {
    const res = await mosaic(['export', 'stix', '--context', operator]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('--reason');
  });
});
