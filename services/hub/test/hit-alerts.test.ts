/**
 * Hit alerts among an agency's alerts, on a real hub: `GET /v1/alerts` hands them out as
 * hits, a TAXII collection pages past them (no gaps, no duplicates), and the exports from the
 * agency's context and the operator's feed skip them. A hit alert's body is JSON, not a JWS.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { collectionId } from '@mosaic/gateway';
import {
  HIT_ALERT_KIND,
  alertsConsumer,
  Streams,
  parseAlertSubject,
  readStream,
} from '@mosaic/protocol';
import { checkSelectors, connectAgency, registerHoldings } from '@mosaic/sdk';
import { canonicalSelector } from '@mosaic/selectors';
import { readPrivateKeyFile, signReport } from '@mosaic/signing';
import type { JetStreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../src/index.ts';
import {
  GENEROUS_RATE_LIMIT,
  routerIdle,
  startGatewayHub,
  type GatewayHub,
} from './gateway-hub.ts';
import { freshReport } from './helpers.ts';

const TAXII = 'application/taxii+json;version=2.1';
const ROOT = '/taxii2/mosaic/';
const MOSAIC = join(import.meta.dirname, '..', '..', '..', 'packages', 'cli', 'bin', 'mosaic.js');
const run = promisify(execFile);
const phone = canonicalSelector('phone', { number: '+40 723 456 789' });

type StixObject = { id: string; type: string } & Record<string, unknown>;
interface Envelope {
  more: boolean;
  next?: string;
  objects: StixObject[];
}
interface AlertOut {
  seq: number;
  id: string;
  kind: string;
  reportId?: string;
  jws?: string;
  hit?: { asker: string; holdings: { reference: string; named: boolean }[] };
}

let gatewayHub: GatewayHub;
let hub: Hub;
let adminJsm: JetStreamManager;
let tokens: GatewayHub['tokens'];
/** The report ids released to ro-dicot, in ALERTS order (some before the hit, some after). */
const reportIds: string[] = [];

const bearer = (agency: string) => `Bearer ${tokens.get(agency)?.token ?? ''}`;

async function get(path: string, agency: string, accept = 'application/json') {
  const res = await fetch(`${hub.gatewayUrl}${path}`, {
    headers: { accept, authorization: bearer(agency) },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const SENDERS = [
  ['de-bka', 'DE'],
  ['nl-police', 'NL'],
  ['ngo-lastrada', 'NL'],
] as const;

/** A fresh signed report of every sender through the gateway, routed by the hub's router. */
async function submitReports(): Promise<void> {
  for (const [agency, origin] of SENDERS) {
    const key = await readPrivateKeyFile(join(hub.keysDir, `${agency}.jwk`));
    const jws = await signReport(await freshReport(agency, origin), key.privateJwk);
    const res = await fetch(`${hub.gatewayUrl}/v1/reports`, {
      method: 'POST',
      headers: { 'content-type': 'application/jose', authorization: bearer(agency) },
      body: jws,
    });
    expect(res.status).toBe(200);
  }
  await routerIdle(adminJsm);
}

/** ALERTS subjects of one recipient, read with the break-glass identity. */
async function alertsOf(agency: string): Promise<{ kind: string; reportId: string }[]> {
  const out: { kind: string; reportId: string }[] = [];
  for await (const m of readStream(adminJsm, Streams.Alerts)) {
    const parts = parseAlertSubject(m.subject);
    if (parts?.recipient === agency) out.push(parts);
  }
  return out;
}

async function alertKinds(agency: string): Promise<string[]> {
  return (await alertsOf(agency)).map((a) => a.kind);
}

/** Every page of ro-dicot's collection (objects or manifest) with `limit`. */
async function pages(limit: number, endpoint = 'objects'): Promise<Envelope[]> {
  const out: Envelope[] = [];
  let next: string | undefined;
  for (let i = 0; i < 1_000; i++) {
    const query = `?limit=${String(limit)}${next === undefined ? '' : `&next=${next}`}`;
    const res = await get(
      `${ROOT}collections/${collectionId('ro-dicot')}/${endpoint}/${query}`,
      'ro-dicot',
      TAXII,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const envelope = res.body as unknown as Envelope;
    out.push(envelope);
    if (!envelope.more) return out;
    next = envelope.next;
  }
  throw new Error('the collection did not end within 1,000 pages');
}

const reportIdOf = (object: StixObject): string =>
  Object.values(
    (object as unknown as { extensions: Record<string, { report_id: string }> }).extensions,
  )[0]?.report_id ?? '';

beforeAll(async () => {
  gatewayHub = await startGatewayHub('hit alerts test', GENEROUS_RATE_LIMIT);
  ({ hub, adminJsm, tokens } = gatewayHub);
  await submitReports();
  const before = (await alertsOf('ro-dicot')).length;
  expect(before).toBeGreaterThan(0);
  await using ro = await connectAgency({ context: join(hub.contextsDir, 'ro-dicot.json') });
  await registerHoldings(ro.connection, 'ro-dicot', [{ selector: phone, reference: 'ro-case-1' }]);
  await using bka = await connectAgency({ context: join(hub.contextsDir, 'de-bka.json') });
  const checked = await checkSelectors(bka.connection, 'de-bka', [phone]);
  expect(checked.results.get(phone)).toMatchObject({ hit: true });
  for (const deadline = Date.now() + 60_000; ;) {
    if ((await alertKinds('ro-dicot')).includes(HIT_ALERT_KIND)) break;
    if (Date.now() > deadline) throw new Error('no hit alert for ro-dicot within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await submitReports();
  const kinds = await alertKinds('ro-dicot');
  expect(kinds.indexOf(HIT_ALERT_KIND)).toBe(before);
  expect(kinds.length).toBeGreaterThan(before + 1);
  expect(kinds.filter((k) => k !== 'report')).toEqual([HIT_ALERT_KIND]);
  reportIds.push(
    ...(await alertsOf('ro-dicot')).filter((a) => a.kind === 'report').map((a) => a.reportId),
  );
}, 180_000);

afterAll(() => gatewayHub.stop());

describe('hit alerts among an agency’s alerts', () => {
  it('GET /v1/alerts hands a hit out as a hit (validated body, no JWS), on every page size', async () => {
    const all = await get('/v1/alerts?limit=100', 'ro-dicot');
    expect(all.status, JSON.stringify(all.body)).toBe(200);
    const alerts = all.body['alerts'] as AlertOut[];
    expect(alerts.map((a) => a.kind)).toEqual(await alertKinds('ro-dicot'));
    const hit = alerts.find((a) => a.kind === 'hit');
    expect(hit?.jws).toBeUndefined();
    expect(hit?.id).toMatch(/^hit\/.+\/ro-dicot$/);
    expect(hit?.hit).toMatchObject({
      v: 1,
      asker: 'de-bka',
      holdings: [{ kind: 'phone', reference: 'ro-case-1', named: true }],
    });
    expect(alerts.filter((a) => a.kind === 'report').map((a) => a.reportId)).toEqual(reportIds);
    // Paged one by one across the hit: the same alerts, each once.
    for (const limit of [1, 2, 3]) {
      const seen: number[] = [];
      let cursor: string | undefined;
      for (let i = 0; i < 20; i++) {
        const res = await get(
          `/v1/alerts?limit=${String(limit)}${cursor === undefined ? '' : `&cursor=${cursor}`}`,
          'ro-dicot',
        );
        expect(res.status).toBe(200);
        const page = res.body['alerts'] as AlertOut[];
        cursor = res.body['next'] as string;
        if (page.length === 0) break;
        seen.push(...page.map((a) => a.seq));
      }
      expect(seen).toEqual(alerts.map((a) => a.seq));
    }
    // The asker never sees the holder's hit.
    const asker = await get('/v1/alerts?limit=100', 'de-bka');
    expect((asker.body['alerts'] as AlertOut[]).map((a) => a.kind)).not.toContain('hit');
  });

  it('a TAXII collection pages past the hit: every report once, for every limit', async () => {
    const whole = await pages(1_000);
    expect(whole).toHaveLength(1);
    const objects = whole[0]?.objects ?? [];
    expect(objects.filter((o) => o.type === 'report').map(reportIdOf)).toEqual(reportIds);
    // A page repeats the shared objects (markings, identities) it needs; reports come once.
    const ids = new Set(objects.map((o) => o.id));
    for (let limit = 1; limit <= objects.length + 1; limit++) {
      const paged = (await pages(limit)).flatMap((p) => p.objects);
      expect(paged.filter((o) => o.type === 'report').map(reportIdOf)).toEqual(reportIds);
      expect(new Set(paged.map((o) => o.id))).toEqual(ids);
      const manifest = (await pages(limit, 'manifest')).flatMap((p) => p.objects);
      expect(manifest.map((o) => o.id)).toEqual(paged.map((o) => o.id));
    }
    const after = objects.find((o) => o.type === 'report' && reportIdOf(o) === reportIds.at(-1));
    const base = `${ROOT}collections/${collectionId('ro-dicot')}/objects/${after?.id ?? ''}/`;
    const byId = await get(base, 'ro-dicot', TAXII);
    expect(byId.status).toBe(200);
    expect((byId.body as unknown as Envelope).objects).toEqual([after]);
    const versions = await get(`${base}versions/`, 'ro-dicot', TAXII);
    expect(versions.body).toMatchObject({ more: false, versions: [after?.['modified']] });
  }, 120_000); // about N·ln N page requests for N objects, twice: 30 s and more on a loaded 2-core machine

  it('the operator’s MISP feed and the agency’s exports skip the hit and leave it pending', async () => {
    const work = await mkdtemp(join(tmpdir(), 'mosaic-hit-export-'));
    try {
      const operator = join(hub.contextsDir, 'operator.json');
      const agency = join(hub.contextsDir, 'ro-dicot.json');
      const feed = join(work, 'operator-feed');
      await run(process.execPath, [
        MOSAIC,
        ...['export', 'misp-feed', '--context', operator, '--agency', 'ro-dicot'],
        ...['--reason', 'hit alerts test', '--out', feed],
      ]);
      const manifest = JSON.parse(await readFile(join(feed, 'manifest.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      expect(Object.keys(manifest)).toHaveLength(reportIds.length);

      const stix = join(work, 'alerts.stix.json');
      await run(process.execPath, [
        MOSAIC,
        ...['export', 'stix', '--context', agency, '--max', '1', '--out', stix],
      ]);
      const bundle = JSON.parse(await readFile(stix, 'utf8')) as { objects: StixObject[] };
      expect(bundle.objects.filter((o) => o.type === 'report').map(reportIdOf)).toEqual(
        reportIds.slice(0, 1),
      );
      const agencyFeed = join(work, 'agency-feed');
      await run(process.execPath, [
        MOSAIC,
        ...['export', 'misp-feed', '--context', agency, '--out', agencyFeed],
      ]);
      expect(
        (await readdir(agencyFeed)).filter((f) => /^[0-9a-f-]{36}\.json$/.test(f)),
      ).toHaveLength(reportIds.length - 1);

      // The hit was not taken by the exports: it is still unacknowledged on ro-dicot's
      // consumer (offered again to a subscriber with onHit), every report acknowledged.
      const consumer = await adminJsm.consumers.info(Streams.Alerts, alertsConsumer('ro-dicot'));
      expect(consumer.num_ack_pending + consumer.num_pending).toBe(1);
      expect(consumer.ack_floor.stream_seq).toBeLessThan(consumer.delivered.stream_seq);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }, 120_000); // three CLI processes, each starting, connecting and reading the hub
});
