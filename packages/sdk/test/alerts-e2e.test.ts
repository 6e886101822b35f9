/**
 * Delivery acceptance through the real hub (`startHub`: nats-server, ingest,
 * router, key projection) and the SDK on each agency's own NATS identity:
 * - six agencies, each publishing and each subscribing, receive exactly the alerts that
 *   `route()` of @mosaic/policy entitles them to — nothing more, nothing twice — and each
 *   alert's `related` is exactly what a brute-force reference finds: the earlier reports
 *   sharing a phone number (however written) that this agency received or issued;
 * - a subscriber offline while 1,000 alerts arrive gets all of them, in stream order.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseReport, type Report } from '@mosaic/contract';
import { HUB_API_PREFIX, MAX_RELATED, ROUTER_CONSUMER, Streams } from '@mosaic/protocol';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import { startHub, type Hub } from '@mosaic/hub';
import { createLogger } from '@mosaic/log';
import { buildPolicyIndex, route } from '@mosaic/policy';
import { generateAgencyKey, type AgencyKeyPair } from '@mosaic/signing';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAgency, type Alert, type AgencyClient } from '../src/index.ts';

const AGENCIES = {
  'nl-police': 'NL',
  'de-bka': 'DE',
  'ro-dicot': 'RO',
  'be-fedpol': 'BE',
  'fr-ocrteh': 'FR',
  'ngo-lastrada': 'NL',
} as const;
type AgencyId = keyof typeof AGENCIES;
const IDS = Object.keys(AGENCIES) as AgencyId[];

const RULES: Record<AgencyId, object[]> = {
  'nl-police': [
    {
      name: 'home',
      jurisdictions: ['NL', 'BENELUX'],
      categories: ['recruitment', 'transport'],
      maxTlp: 'AMBER',
    },
  ],
  'de-bka': [
    {
      jurisdictions: ['DE', 'NL'],
      categories: ['transport', 'exploitation'],
      maxTlp: 'AMBER+STRICT',
    },
  ],
  'ro-dicot': [
    {
      jurisdictions: ['RO'],
      categories: ['recruitment', 'transport', 'exploitation', 'financial-flow'],
      maxTlp: 'RED',
    },
  ],
  'be-fedpol': [
    {
      jurisdictions: ['BE', 'NL'],
      categories: ['recruitment'],
      minConfidence: 80,
      maxTlp: 'GREEN',
    },
  ],
  'fr-ocrteh': [
    {
      jurisdictions: ['FR', 'RO'],
      categories: ['transport'],
      minSourceReliability: 'B',
      maxTlp: 'AMBER',
    },
  ],
  'ngo-lastrada': [
    { jurisdictions: ['NL', 'RO'], categories: ['recruitment', 'exploitation'], maxTlp: 'GREEN' },
  ],
};

let dir: string;
let hub: Hub;
let operator: NatsConnection;
const keys = new Map<AgencyId, AgencyKeyPair>();
const clients = new Map<AgencyId, AgencyClient>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-alerts-e2e-'));
  for (const id of IDS) keys.set(id, await generateAgencyKey(id, { keyId: 'k1' }));
  const federation = {
    version: 1,
    groups: [{ id: 'BENELUX', name: 'Benelux', members: ['BE', 'NL', 'LU'] }],
    agencies: IDS.map((id) => ({
      id,
      name: id,
      kind: id.startsWith('ngo-') ? 'ngo' : 'police',
      jurisdictions: [AGENCIES[id]],
      contact: { email: `${id}@example.org` },
      keys: [{ keyId: 'k1', publicJwk: keys.get(id)!.publicJwk }],
      subscriptions: RULES[id],
    })),
    agreements: [{ from: 'nl-police', to: ['de-bka', 'fr-ocrteh'], maxTlp: 'AMBER' }],
  };
  const federationPath = join(dir, 'federation.json');
  await writeFile(federationPath, JSON.stringify(federation));
  hub = await startHub({
    dataDir: join(dir, 'data'),
    federationPath,
    port: 0,
    log: createLogger({ service: 'hub', level: 'silent' }),
  });
  operator = await connect(
    contextConnectOptions(await readContextFile(join(hub.contextsDir, 'operator.json'))),
  );
  for (const id of IDS)
    clients.set(
      id,
      await connectAgency({
        context: join(hub.contextsDir, `${id}.json`),
        key: keys.get(id)!.privateJwk,
      }),
    );
}, 60_000);

afterAll(async () => {
  for (const c of clients.values()) await c.close();
  await operator?.close();
  await hub?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Bounded wait until the router has routed (and acked) every stored report. */
async function routed(timeoutMs = 30_000): Promise<void> {
  const jsm = await jetstreamManager(operator, { apiPrefix: HUB_API_PREFIX, checkAPI: false });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [reports, router] = await Promise.all([
      jsm.streams.info(Streams.Reports),
      jsm.consumers.info(Streams.Reports, ROUTER_CONSUMER).catch(() => undefined),
    ]);
    if (
      router !== undefined &&
      router.ack_floor.stream_seq >= reports.state.last_seq &&
      router.num_pending === 0 &&
      router.num_ack_pending === 0
    )
      return;
    if (Date.now() > deadline) throw new Error('the router did not route every report in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function drain(id: AgencyId): Promise<Alert[]> {
  const got: Alert[] = [];
  const summary = await clients.get(id)!.subscribe((alert) => {
    got.push(alert);
  });
  expect(summary.invalid).toBe(0);
  return got;
}

const TLPS = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'] as const;
const CATEGORIES = ['recruitment', 'transport', 'exploitation', 'financial-flow'] as const;
const PLACES = [['NL'], ['RO'], ['DE', 'NL'], ['BENELUX'], ['FR', 'RO'], ['BE']] as const;
/**
 * Five numbers, each in two E.164 spellings that canonicalise to one selector (the national
 * trunk prefix 0 written after the country code, as people copy it from a local number).
 */
const PHONES = [
  ['+40723456780', '+400723456780'],
  ['+31612345678', '+310612345678'],
  ['+40723456781', '+400723456781'],
  ['+491511234567', '+4901511234567'],
  ['+33612345678', '+330612345678'],
] as const;

/** The number of a report's one phone indicator without a trunk prefix. */
function phoneOf(report: Report): string {
  const indicator = report.indicators[0];
  if (indicator?.type !== 'phone') throw new Error('no phone');
  return PHONES.findIndex((spellings) =>
    (spellings as readonly string[]).includes(indicator.number),
  ).toString();
}

/** A varied, deterministic set of reports for one issuer. */
function reportsOf(issuer: AgencyId, index: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let v = 0; v < 8; v++) {
    const n = index * 8 + v;
    const tlp = TLPS[n % TLPS.length]!;
    const others = IDS.filter((a) => a !== issuer);
    const handling: Record<string, unknown> = { tlp };
    if (tlp === 'AMBER+STRICT' || tlp === 'RED' || n % 7 === 0)
      handling['releasableTo'] = { agencies: [others[n % 5]!, others[(n + 2) % 5]!] };
    if (n % 6 === 1) handling['notReleasableTo'] = { agencies: [others[(n + 3) % 5]!] };
    out.push({
      schemaVersion: '1.0',
      reportId: randomUUID(),
      issuer,
      issuedAt: new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      origin: AGENCIES[issuer],
      jurisdictions: [...PLACES[n % PLACES.length]!],
      category: CATEGORIES[(n * 3 + index) % CATEGORIES.length]!,
      indicators: [{ type: 'phone', number: PHONES[n % PHONES.length]![v % 2]! }],
      narrative: `e2e ${issuer} #${v}`,
      grading: {
        sourceReliability: ['A', 'B', 'C'][n % 3]!,
        informationCredibility: 2,
        confidence: [60, 85, 95][n % 3]!,
      },
      handling,
    });
  }
  return out;
}

describe('alert delivery through the real hub', () => {
  it('six agencies publishing and subscribing each receive exactly their entitled alerts, once', async () => {
    for (const id of IDS) await drain(id);
    const published: Report[] = [];
    const seqOf = new Map<string, number>();
    await Promise.all(
      IDS.map(async (issuer, i) => {
        for (const body of reportsOf(issuer, i)) {
          const reply = await clients.get(issuer)!.publish(body);
          expect(reply, JSON.stringify(reply)).toMatchObject({ ok: true, duplicate: false });
          const report = parseReport(new TextEncoder().encode(JSON.stringify(body)));
          published.push(report);
          if (reply.ok) seqOf.set(`${report.issuer}/${report.reportId}`, reply.seq);
        }
      }),
    );
    await routed();

    const index = buildPolicyIndex(hub.registry.federation());
    const expected = new Map<AgencyId, Map<string, unknown>>(IDS.map((id) => [id, new Map()]));
    for (const report of published)
      for (const r of route(report, index, new Date()).recipients)
        expected.get(r.agency as AgencyId)!.set(`${report.issuer}/${report.reportId}`, r.reason);

    let total = 0;
    let relatedTotal = 0;
    for (const id of IDS) {
      const got = await drain(id);
      const keysGot = got.map((a) => `${a.originator}/${a.report.reportId}`);
      expect(new Set(keysGot).size, `${id} received an alert twice`).toBe(keysGot.length);
      expect(new Set(keysGot), `${id}'s alerts`).toEqual(new Set(expected.get(id)!.keys()));
      for (const alert of got) {
        expect(alert.originator).not.toBe(id);
        expect(alert.id).toBe(`${alert.originator}/${alert.report.reportId}/${id}`);
        expect(alert.reason).toEqual(
          expected.get(id)!.get(`${alert.originator}/${alert.report.reportId}`),
        );
        // Brute force: earlier reports with the same number that this agency holds.
        const holds = (r: Report): boolean =>
          r.issuer === id || expected.get(id)!.has(`${r.issuer}/${r.reportId}`);
        const related = published
          .filter(
            (r) =>
              seqOf.get(`${r.issuer}/${r.reportId}`)! < alert.reportSeq &&
              phoneOf(r) === phoneOf(alert.report) &&
              holds(r),
          )
          .map((r) => ({
            issuer: r.issuer,
            reportId: r.reportId,
            seq: seqOf.get(`${r.issuer}/${r.reportId}`)!,
            kinds: ['phone'],
          }))
          .sort((a, b) => a.seq - b.seq);
        expect(alert.related, `related of ${alert.id}`).toEqual(related);
        relatedTotal += related.length;
      }
      expect(got.map((a) => a.seq)).toEqual([...got.map((a) => a.seq)].sort((a, b) => a - b));
      total += got.length;
      // Non-trivial on both sides: each agency gets some reports and is denied others.
      expect(got.length, `${id} received nothing`).toBeGreaterThan(0);
      expect(got.length, `${id} received everything`).toBeLessThan(published.length - 8);
    }
    expect(total).toBe([...expected.values()].reduce((n, m) => n + m.size, 0));
    expect(relatedTotal, 'some alerts are related to earlier reports').toBeGreaterThan(10);
    // Nothing more arrives later, and a second drain hands nothing over again.
    for (const id of IDS) expect(await drain(id)).toEqual([]);
  });

  it('a subscriber offline while 1,000 alerts arrive gets all of them, in order, when it returns', async () => {
    await drain('ro-dicot');
    await clients.get('ro-dicot')!.close();
    clients.delete('ro-dicot');
    const ids: string[] = [];
    const publisher = clients.get('de-bka')!;
    const queue = Array.from({ length: 1000 }, (_, i) => i);
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
          const reportId = randomUUID();
          ids.push(reportId);
          const reply = await publisher.publish({
            schemaVersion: '1.0',
            reportId,
            issuer: 'de-bka',
            issuedAt: new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
            origin: 'DE',
            jurisdictions: ['RO'],
            category: 'financial-flow',
            indicators: [{ type: 'phone', number: '+40723456789' }],
            narrative: `offline #${i}`,
            grading: { sourceReliability: 'B', informationCredibility: 2, confidence: 70 },
            handling: { tlp: 'GREEN' },
          });
          expect(reply.ok, JSON.stringify(reply)).toBe(true);
        }
      }),
    );
    // Every report's selector is tokenised through the key service first (OPRF with DLEQ
    // proofs, CPU-bound): generous bounds, so a loaded machine does not fail the test.
    await routed(180_000);

    await using back = await connectAgency({ context: join(hub.contextsDir, 'ro-dicot.json') });
    const got: Alert[] = [];
    const summary = await back.subscribe((alert) => {
      got.push(alert);
    });
    expect(summary).toMatchObject({ delivered: 1000, invalid: 0, stopped: 'drained' });
    expect(new Set(got.map((a) => a.report.reportId))).toEqual(new Set(ids));
    const seqs = got.map((a) => a.seq);
    expect(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!)).toBe(true);
    expect(got.every((a) => a.originator === 'de-bka' && !a.redelivered)).toBe(true);
    // One number in every report: each alert names the latest earlier ones, capped.
    expect(got.at(-1)!.related).toHaveLength(MAX_RELATED);
  }, 300_000);
});
