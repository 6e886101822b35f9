/**
 * mosaic export misp-feed against a real hub: each agency's feed holds exactly the reports
 * route() releases to it (N×N), TLP and every restriction are carried, the feed is a MISP
 * feed (manifest, event files, hashes), and a directory that is not a feed is left alone.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeEntry } from '@mosaic/audit-log';
import { parseReport, type Report } from '@mosaic/contract';
import { DEMO_FEDERATION_PATH, loadFederation } from '@mosaic/federation';
import { startHub, type Hub } from '@mosaic/hub';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import { createLogger } from '@mosaic/log';
import { buildPolicyIndex, route } from '@mosaic/policy';
import { HUB_API_PREFIX, Streams, readStream } from '@mosaic/protocol';
import { connectAgency } from '@mosaic/sdk';
import type { MispEventFile, MispManifestEntry } from '@mosaic/stix';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosaic, routerIdle } from './helpers.ts';

const AGENCIES = [
  ['nl-police', 'NL'],
  ['de-bka', 'DE'],
  ['ro-dicot', 'RO'],
  ['ngo-lastrada', 'NL'],
] as const;

/**
 * The MISP attribute types the feed uses and the categories MISP accepts them in (MISP's
 * `describeTypes`, category_type_mappings): an event MISP would refuse fails here.
 */
const MISP_CATEGORIES: Record<string, readonly string[]> = {
  text: [
    'Other',
    'Person',
    'Social network',
    'Financial fraud',
    'Attribution',
    'Internal reference',
  ],
  comment: ['Other', 'Person', 'Social network', 'Financial fraud', 'Attribution'],
  'phone-number': ['Person', 'Other', 'Financial fraud'],
  'email-src': ['Social network', 'Payload delivery'],
  iban: ['Financial fraud'],
  bic: ['Financial fraud'],
  btc: ['Financial fraud'],
  xmr: ['Financial fraud'],
  'date-of-birth': ['Person'],
  nationality: ['Person'],
  gender: ['Person'],
  'passport-number': ['Person'],
  'passport-country': ['Person'],
  'visa-number': ['Person'],
  'identity-card-number': ['Person'],
  'github-username': ['Social network'],
  'twitter-id': ['Social network'],
  'jabber-id': ['Social network'],
};

let dir: string;
let hub: Hub;
let operator: string;
let nc: NatsConnection;
let jsm: JetStreamManager;
const published: Report[] = [];
const jwsOf = new Map<string, string>();

function report(issuer: string, origin: string, handling: Report['handling']): Report {
  return parseReport(
    JSON.stringify({
      schemaVersion: '1.0',
      reportId: randomUUID(),
      issuer,
      issuedAt: new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      origin,
      jurisdictions: ['NL', 'DE', 'RO'],
      category: 'recruitment',
      indicators: [
        { type: 'phone', number: '+31612345678', note: 'answers in Romanian' },
        { type: 'email', address: 'jobs@recruit.example' },
        { type: 'person', name: 'Ion Popescu', birthDate: '1990-02-03', nationality: 'RO' },
        {
          type: 'identity-document',
          documentType: 'passport',
          number: 'P1234567',
          issuingCountry: 'RO',
        },
        { type: 'financial-account', iban: 'DE89370400440532013000', bic: 'COBADEFF' },
      ],
      narrative: `Job offers abroad with debt bondage (${issuer}).`,
      grading: { sourceReliability: 'B', informationCredibility: 2, confidence: 70 },
      handling,
    }),
  );
}

/** The handlings every agency publishes with, AMBER+STRICT with a not-releasable-to included. */
function handlings(issuer: string): Report['handling'][] {
  const others = AGENCIES.map(([a]) => a).filter((a) => a !== issuer);
  return [
    { tlp: 'GREEN' },
    {
      tlp: 'AMBER+STRICT',
      releasableTo: {
        jurisdictions: ['NL', 'DE', 'RO'],
        agencies: [others[1] ?? '', others[2] ?? ''],
      },
      notReleasableTo: { agencies: [others[0] ?? ''] },
      validUntil: new Date(Date.now() + 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    },
    { tlp: 'RED', releasableTo: { agencies: [others[1] ?? ''] } },
    { tlp: 'CLEAR' },
  ];
}

interface Feed {
  manifest: Record<string, MispManifestEntry>;
  events: MispEventFile[];
  hashes: string[];
  files: string[];
}

async function readFeed(out: string): Promise<Feed> {
  const files = (await readdir(out)).sort();
  const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as Record<
    string,
    MispManifestEntry
  >;
  const events: MispEventFile[] = [];
  for (const uuid of Object.keys(manifest))
    events.push(JSON.parse(await readFile(join(out, `${uuid}.json`), 'utf8')) as MispEventFile);
  const hashes = (await readFile(join(out, 'hashes.csv'), 'utf8')).split('\n').filter(Boolean);
  return { manifest, events, hashes, files };
}

function tagValue(event: MispEventFile, predicate: string): string[] {
  const prefix = `mosaic:${predicate}="`;
  return event.Event.Tag.filter((t) => t.name.startsWith(prefix)).map((t) =>
    t.name.slice(prefix.length, -1),
  );
}

const reportIdOf = (event: MispEventFile): string => tagValue(event, 'report-id')[0] ?? '';

/** Checks an event against MISP's feed format; the fields MISP reads when it pulls a feed. */
function expectMispEvent(event: MispEventFile, entry: MispManifestEntry | undefined): void {
  const e = event.Event;
  expect(e.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(e.distribution).toBe('0');
  expect(e.published).toBe(true);
  expect(['1', '2', '3', '4']).toContain(e.threat_level_id);
  expect(['0', '1', '2']).toContain(e.analysis);
  expect(e.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  expect(e.timestamp).toMatch(/^\d+$/);
  expect(entry).toEqual({
    info: e.info,
    date: e.date,
    timestamp: e.timestamp,
    analysis: e.analysis,
    threat_level_id: e.threat_level_id,
    Orgc: e.Orgc,
    Tag: e.Tag.map(({ name, colour }) => ({ name, colour })),
  });
  const tlp = e.Tag.filter((t) => t.name.startsWith('tlp:'));
  expect(tlp).toHaveLength(1);
  for (const a of e.Attribute) {
    expect(MISP_CATEGORIES[a.type], a.type).toContain(a.category);
    // Never "all communities" (3): attributes inherit the event's "your organisation only".
    expect(a.distribution).toBe('5');
    expect(a.value).not.toBe('');
  }
  expect(new Set(e.Attribute.map((a) => a.uuid)).size).toBe(e.Attribute.length);
}

async function exportFeed(agency: string): Promise<{ out: string; feed: Feed }> {
  const out = join(dir, 'feeds', agency);
  const res = await mosaic([
    'export',
    'misp-feed',
    '--context',
    operator,
    '--agency',
    agency,
    '--out',
    out,
    '--reason',
    `MISP feed for ${agency}`,
  ]);
  expect(res.code, res.stderr).toBe(0);
  return { out, feed: await readFeed(out) };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-misp-'));
  await mkdir(join(dir, 'feeds'));
  hub = await startHub({
    dataDir: join(dir, 'data'),
    port: 0,
    log: createLogger({ service: 'hub', level: process.env['MOSAIC_LOG_LEVEL'] ?? 'silent' }),
  });
  operator = join(hub.contextsDir, 'operator.json');
  nc = await connect(contextConnectOptions(await readContextFile(operator)));
  jsm = await jetstreamManager(nc, { apiPrefix: HUB_API_PREFIX, checkAPI: false });
  for (const [agency, origin] of AGENCIES) {
    await using client = await connectAgency({
      context: join(hub.contextsDir, `${agency}.json`),
      key: join(hub.keysDir, `${agency}.jwk`),
    });
    for (const handling of handlings(agency)) {
      const r = report(agency, origin, handling);
      const jws = await client.sign(r);
      expect(await client.publishSigned(jws)).toMatchObject({ ok: true });
      published.push(r);
      jwsOf.set(r.reportId, jws);
    }
  }
  await routerIdle(jsm);
}, 180_000);

afterAll(async () => {
  await nc.close();
  await hub.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('mosaic export misp-feed', () => {
  it("holds exactly the reports route() releases to each agency, and never another's (N×N)", async () => {
    const index = buildPolicyIndex(await loadFederation({ path: DEMO_FEDERATION_PATH }));
    const entitled = new Map<string, Set<string>>(AGENCIES.map(([a]) => [a, new Set()]));
    for (const r of published)
      for (const { agency } of route(r, index, new Date()).recipients)
        entitled.get(agency)?.add(r.reportId);
    const feeds = new Map<string, Set<string>>();
    for (const [agency] of AGENCIES) {
      const { feed } = await exportFeed(agency);
      expect(feed.files).toEqual(
        [
          ...Object.keys(feed.manifest).map((u) => `${u}.json`),
          'hashes.csv',
          'manifest.json',
        ].sort(),
      );
      for (const event of feed.events) expectMispEvent(event, feed.manifest[event.Event.uuid]);
      const ids = feed.events.map(reportIdOf);
      expect(new Set(ids).size).toBe(ids.length);
      feeds.set(agency, new Set(ids));
      expect([...(feeds.get(agency) ?? [])].sort()).toEqual(
        [...(entitled.get(agency) ?? [])].sort(),
      );
    }
    let someone = 0;
    for (const [a] of AGENCIES)
      for (const [b] of AGENCIES) {
        if (a === b) continue;
        // B's reports that the rules did not release to A never reach A's feed.
        for (const id of entitled.get(b) ?? []) {
          if (entitled.get(a)?.has(id) === true) continue;
          someone++;
          expect(feeds.get(a)?.has(id)).toBe(false);
        }
      }
    expect(someone).toBeGreaterThan(0);

    let audited = 0;
    for await (const m of readStream(jsm, Streams.Audit)) {
      const entry = decodeEntry(m.data) as { action: string; details?: { format?: string } };
      if (entry.action === 'operator.export' && entry.details?.format === 'misp-feed') audited++;
    }
    expect(audited).toBe(AGENCIES.length);
  });

  it('carries TLP (tlp:amber+strict), every restriction, grading and the provenance JWS', async () => {
    const index = buildPolicyIndex(await loadFederation({ path: DEMO_FEDERATION_PATH }));
    const recipientOf = (r: Report) => route(r, index, new Date()).recipients[0]?.agency;
    const strict = published.find(
      (r) =>
        r.handling.tlp === 'AMBER+STRICT' &&
        r.handling.notReleasableTo !== undefined &&
        recipientOf(r) !== undefined,
    );
    expect(strict).toBeDefined();
    const recipient = recipientOf(strict!);
    const { feed } = await exportFeed(recipient ?? '');
    const event = feed.events.find((e) => reportIdOf(e) === strict?.reportId);
    expect(event).toBeDefined();
    const tags = event?.Event.Tag.map((t) => t.name) ?? [];
    expect(tags).toContain('tlp:amber+strict');
    expect(tagValue(event!, 'not-releasable-to-agency')).toEqual(
      strict?.handling.notReleasableTo?.agencies,
    );
    expect(tagValue(event!, 'releasable-to-jurisdiction')).toEqual(['NL', 'DE', 'RO']);
    expect(tagValue(event!, 'releasable-to-agency')).toEqual(
      strict?.handling.releasableTo?.agencies,
    );
    expect(tagValue(event!, 'valid-until')).toEqual([strict?.handling.validUntil]);
    expect(tags).toContain('admiralty-scale:source-reliability="b"');
    expect(tags).toContain('admiralty-scale:information-credibility="2"');
    const provenance = event?.Event.Attribute.find((a) => a.comment.startsWith('provenance'));
    expect(provenance?.value).toBe(jwsOf.get(strict?.reportId ?? ''));
    expect(tagValue(event!, 'provenance-kid')).toHaveLength(1);
    const values = new Map(event?.Event.Attribute.map((a) => [a.type, a.value]));
    expect(values.get('phone-number')).toBe('+31612345678');
    expect(values.get('iban')).toBe('DE89370400440532013000');
    expect(values.get('passport-number')).toBe('P1234567');
    // hashes.csv: the MD5 of every attribute value, with its event.
    for (const a of event?.Event.Attribute ?? [])
      expect(feed.hashes).toContain(
        `${createHash('md5').update(a.value).digest('hex')},${event?.Event.uuid ?? ''}`,
      );
    const tlps = new Set(feed.events.flatMap((e) => e.Event.Tag.map((t) => t.name)));
    for (const tlp of tlps)
      if (tlp.startsWith('tlp:'))
        expect(tlp).toMatch(/^tlp:(clear|green|amber|amber\+strict|red)$/);
  });

  it("an agency's export adds its pending alerts to its feed and consumes them", async () => {
    const out = join(dir, 'feeds', 'own-ro-dicot');
    const context = join(hub.contextsDir, 'ro-dicot.json');
    const first = await mosaic(['export', 'misp-feed', '--context', context, '--out', out]);
    expect(first.code, first.stderr).toBe(0);
    const feed = await readFeed(out);
    const index = buildPolicyIndex(await loadFederation({ path: DEMO_FEDERATION_PATH }));
    const entitled = published
      .filter((r) => route(r, index, new Date()).recipients.some((x) => x.agency === 'ro-dicot'))
      .map((r) => r.reportId);
    expect(feed.events.map(reportIdOf).sort()).toEqual(entitled.sort());
    const second = await mosaic(['export', 'misp-feed', '--context', context, '--out', out]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain('wrote 0 reports');
    expect((await readFeed(out)).events.map(reportIdOf).sort()).toEqual(entitled.sort());
    const operatorOnly = await mosaic([
      'export',
      'misp-feed',
      '--context',
      context,
      '--out',
      out,
      '--agency',
      'de-bka',
    ]);
    expect(operatorOnly.code).toBe(2);
  });

  it('refuses a directory that is not a feed, and an operator export without --agency or --reason', async () => {
    const other = join(dir, 'not-a-feed');
    await mkdir(other);
    await writeFile(join(other, 'notes.txt'), 'keep me');
    const refused = await mosaic([
      'export',
      'misp-feed',
      '--context',
      operator,
      '--agency',
      'de-bka',
      '--out',
      other,
      '--reason',
      'x',
    ]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('ERR_IO');
    expect(await readdir(other)).toEqual(['notes.txt']);
    const noAgency = await mosaic([
      'export',
      'misp-feed',
      '--context',
      operator,
      '--out',
      other,
      '--reason',
      'x',
    ]);
    expect(noAgency.code).toBe(2);
    const noReason = await mosaic([
      'export',
      'misp-feed',
      '--context',
      operator,
      '--out',
      other,
      '--agency',
      'de-bka',
    ]);
    expect(noReason.code).toBe(2);
  });
});
