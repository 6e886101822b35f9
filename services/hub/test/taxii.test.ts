/**
 * The gateway's read-only TAXII 2.1 server on a real hub: collections per agency, paging by
 * an opaque stream cursor while alerts arrive, every agency's credential against every
 * other's collection, coded errors, and consultations in the audit trail.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEntry } from '@mosaic/audit-log';
import { collectionId } from '@mosaic/gateway';
import { Streams, alertMsgId, alertSubject, parseAlertSubject, readStream } from '@mosaic/protocol';
import { readPrivateKeyFile, signReport } from '@mosaic/signing';
import { jetstream, type JetStreamManager } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import type { Hub } from '../src/index.ts';
import {
  AGENCIES,
  GENEROUS_RATE_LIMIT,
  basic,
  routerIdle,
  startGatewayHub,
  type GatewayHub,
} from './gateway-hub.ts';
import { freshReport } from './helpers.ts';

const TAXII = 'application/taxii+json;version=2.1';
const ROOT = '/taxii2/mosaic/';

let gatewayHub: GatewayHub;
let hub: Hub;
let admin: NatsConnection;
let adminJsm: JetStreamManager;
let tokens: GatewayHub['tokens'];

function bearer(agency: string): string {
  return `Bearer ${tokens.get(agency)?.token ?? ''}`;
}

type StixObject = { id: string; type: string } & Record<string, unknown>;

interface Envelope {
  more: boolean;
  next?: string;
  objects: StixObject[];
}

async function taxii(
  path: string,
  auth: string | undefined,
  init: { method?: string; accept?: string; body?: string; type?: string } = {},
) {
  const res = await fetch(`${hub.gatewayUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      accept: init.accept ?? TAXII,
      ...(auth === undefined ? {} : { authorization: auth }),
      ...(init.type === undefined ? {} : { 'content-type': init.type }),
    },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    body: (await res.json()) as Record<string, unknown>,
  };
}

function objectsPath(agency: string, query = ''): string {
  return `${ROOT}collections/${collectionId(agency)}/objects/${query}`;
}

/** The Mosaic report id of a STIX report object. */
function reportIdOf(object: StixObject): string {
  const ext = (object as unknown as { extensions: Record<string, { report_id: string }> })
    .extensions;
  return Object.values(ext)[0]?.report_id ?? '';
}

/** The Mosaic report ids of the STIX report objects of an envelope. */
function reportIds(envelope: Envelope): string[] {
  return envelope.objects.filter((o) => o.type === 'report').map(reportIdOf);
}

/** Every page of an agency's collection from the start (or from `next`), page by page. */
async function readPages(
  agency: string,
  limit: number,
  from?: string,
): Promise<{ pages: Envelope[]; next?: string }> {
  const pages: Envelope[] = [];
  let next = from;
  for (;;) {
    const res = await taxii(
      objectsPath(agency, `?limit=${String(limit)}${next === undefined ? '' : `&next=${next}`}`),
      bearer(agency),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const envelope = res.body as unknown as Envelope;
    pages.push(envelope);
    if (envelope.next !== undefined) next = envelope.next;
    if (!envelope.more) return { pages, ...(next === undefined ? {} : { next }) };
  }
}

/** The report ids of every page of an agency's collection from the start (or from `next`). */
async function readAll(
  agency: string,
  limit: number,
  from?: string,
): Promise<{ ids: string[]; next?: string }> {
  const { pages, next } = await readPages(agency, limit, from);
  return { ids: pages.flatMap(reportIds), ...(next === undefined ? {} : { next }) };
}

/** An object as a page holds it, its markings aside (a page merges those of a shared observable). */
function unmarked(object: StixObject): string {
  const rest: Record<string, unknown> = { ...object };
  delete rest['object_marking_refs'];
  return JSON.stringify(rest);
}

/** Within a page an object appears once per id (per id and version for a report). */
function pageKey(object: StixObject): string {
  return object.type === 'report' ? `${object.id}@${String(object['modified'])}` : object.id;
}

/** Publishes alerts to `agency` directly into ALERTS, as the router would. */
async function deliver(
  agency: string,
  alerts: {
    kind: 'report' | 'supersede' | 'retraction';
    issuer: string;
    reportId: string;
    jws: string;
  }[],
): Promise<void> {
  const js = jetstream(admin);
  for (const alert of alerts) {
    const h = headers();
    h.set('Nats-Msg-Id', alertMsgId(alert.issuer, alert.reportId, agency));
    await js.publish(alertSubject(agency, alert.kind, alert.issuer, alert.reportId), alert.jws, {
      headers: h,
    });
  }
}

/** The report ids of every alert released to `agency`, read with the break-glass identity. */
async function releasedTo(agency: string): Promise<string[]> {
  const out: string[] = [];
  for await (const m of readStream(adminJsm, Streams.Alerts)) {
    const parts = parseAlertSubject(m.subject);
    if (parts?.recipient === agency) out.push(parts.reportId);
  }
  return out;
}

beforeAll(async () => {
  // Paging 10,000 alerts by 100 objects takes about a thousand requests of one agency.
  gatewayHub = await startGatewayHub('taxii test', GENEROUS_RATE_LIMIT);
  ({ hub, admin, adminJsm, tokens } = gatewayHub);
  // A few reports of every agency through the hub, so that the rules release some to each.
  for (const [agency, origin] of AGENCIES) {
    const key = await readPrivateKeyFile(join(hub.keysDir, `${agency}.jwk`));
    for (let i = 0; i < 3; i++) {
      const jws = await signReport(await freshReport(agency, origin), key.privateJwk);
      const res = await fetch(`${hub.gatewayUrl}/v1/reports`, {
        method: 'POST',
        headers: { 'content-type': 'application/jose', authorization: bearer(agency) },
        body: jws,
      });
      expect(res.status).toBe(200);
    }
  }
  await routerIdle(adminJsm);
}, 180_000);

afterAll(() => gatewayHub.stop());

describe('TAXII 2.1 server', () => {
  it('discovery, one API root, and exactly one collection per agency: its own', async () => {
    const discovery = await taxii('/taxii2/', bearer('nl-police'));
    expect(discovery.status).toBe(200);
    expect(discovery.type).toBe(TAXII);
    expect(discovery.body).toMatchObject({ default: ROOT, api_roots: [ROOT] });
    const root = await taxii(ROOT, bearer('nl-police'));
    expect(root.body).toMatchObject({ versions: [TAXII] });
    for (const [agency] of AGENCIES) {
      const list = await taxii(`${ROOT}collections/`, bearer(agency));
      expect(list.body).toEqual({
        collections: [
          expect.objectContaining({ id: collectionId(agency), can_read: true, can_write: false }),
        ],
      });
    }
    expect((await taxii('/taxii2/', undefined)).body).toMatchObject({
      error_id: 'ERR_UNAUTHENTICATED',
      http_status: '401',
    });
  });

  it("never lets one agency's credential read another's collection, nor write (N×N)", async () => {
    let seen = 0;
    for (const [agency] of AGENCIES) {
      const own = await readAll(agency, 2);
      seen += own.ids.length;
      expect(own.ids.sort()).toEqual((await releasedTo(agency)).sort());
      for (const [other] of AGENCIES) {
        const post = await taxii(objectsPath(other), bearer(agency), {
          method: 'POST',
          type: 'application/taxii+json;version=2.1',
          body: '{"objects":[]}',
        });
        expect(post.status).toBe(405);
        expect(post.body).toMatchObject({ error_id: 'ERR_METHOD_NOT_ALLOWED' });
        if (other === agency) continue;
        const read = await taxii(objectsPath(other), bearer(agency));
        expect(read.status).toBe(404);
        expect(read.body).toMatchObject({ error_id: 'ERR_NOT_FOUND' });
        const manifest = await taxii(
          `${ROOT}collections/${collectionId(other)}/manifest/`,
          bearer(agency),
        );
        expect(manifest.status).toBe(404);
        const asOther = await taxii(
          objectsPath(other),
          basic(other, tokens.get(agency)?.token ?? ''),
        );
        expect(asOther.status).toBe(401);
      }
    }
    expect(seen).toBeGreaterThan(0);
  });

  it('serves an object by id, its versions and the manifest, each read a consultation', async () => {
    let agency = '';
    for (const [candidate] of AGENCIES)
      if (agency === '' && (await releasedTo(candidate)).length > 0) agency = candidate;
    expect(agency).not.toBe('');
    const page = (await taxii(objectsPath(agency, '?limit=40'), bearer(agency)))
      .body as unknown as Envelope;
    const report = page.objects.find((o) => o.type === 'report');
    expect(report).toBeDefined();
    const byId = await taxii(objectsPath(agency, `${report?.id ?? ''}/`), bearer(agency));
    expect(byId.status).toBe(200);
    expect((byId.body as unknown as Envelope).objects).toEqual([report]);
    const indicator = page.objects.find((o) => o.type === 'indicator');
    const indicatorById = await taxii(
      objectsPath(agency, `${indicator?.id ?? ''}/`),
      bearer(agency),
    );
    expect((indicatorById.body as unknown as Envelope).objects).toEqual([indicator]);
    const versions = await taxii(
      objectsPath(agency, `${report?.id ?? ''}/versions/`),
      bearer(agency),
    );
    expect(versions.body).toMatchObject({ more: false, versions: [expect.any(String)] });
    const manifest = await taxii(
      `${ROOT}collections/${collectionId(agency)}/manifest/?limit=40`,
      bearer(agency),
    );
    const entries = (manifest.body as { objects: { id: string }[] }).objects;
    expect(entries.map((e) => e.id)).toEqual(page.objects.map((o) => o.id));
    const unknown = await taxii(objectsPath(agency, `report--${randomUUID()}/`), bearer(agency));
    expect(unknown.status).toBe(404);

    const endpoints: string[] = [];
    for await (const m of readStream(adminJsm, Streams.Audit)) {
      const entry = decodeEntry(m.data) as {
        action: string;
        actor: { id: string };
        details?: { channel?: string; endpoint?: string };
      };
      if (entry.action === 'alert.consulted' && entry.details?.channel === 'taxii') {
        expect(entry.actor.id).not.toBe('');
        endpoints.push(entry.details.endpoint ?? '');
      }
    }
    expect(endpoints).toEqual(
      expect.arrayContaining(['objects', 'object', 'versions', 'manifest']),
    );
  });

  it('bad input gets a coded TAXII error and the server stays up', async () => {
    const auth = bearer('de-bka');
    const html = await taxii('/taxii2/', auth, { accept: 'text/html' });
    expect(html.status).toBe(406);
    expect(html.body).toMatchObject({ error_id: 'ERR_MEDIA_TYPE' });
    const unknown = await taxii(`${ROOT}collections/${randomUUID()}/objects/`, auth);
    expect(unknown.status).toBe(404);
    expect(unknown.type).toBe(TAXII);
    expect(unknown.body).toMatchObject({ error_id: 'ERR_NOT_FOUND', http_status: '404' });
    for (const query of ['?limit=0', '?limit=abc', '?next=bogus', '?added_after=yesterday']) {
      const res = await taxii(objectsPath('de-bka', query), auth);
      expect(res.status, query).toBe(400);
      expect(res.body).toMatchObject({ error_id: 'ERR_QUERY_INVALID' });
    }
    const huge = await taxii(objectsPath('de-bka'), auth, {
      method: 'POST',
      type: TAXII,
      body: 'x'.repeat(2 * 1024 * 1024),
    });
    expect(huge.status).toBe(405);
    const oversize = await fetch(`${hub.gatewayUrl}/v1/reports`, {
      method: 'POST',
      headers: { 'content-type': 'application/jose', authorization: auth },
      body: 'x'.repeat(2 * 1024 * 1024),
    });
    expect(oversize.status).toBe(413);
    const wrongType = await fetch(`${hub.gatewayUrl}/v1/reports`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: auth },
      body: '{}',
    });
    expect(wrongType.status).toBe(415);
    expect((await taxii('/taxii2/', auth)).status).toBe(200);
  });

  it('limit counts objects; a page ends inside an alert and the next one resumes there (property)', async () => {
    const agency = 'nl-police';
    // Reports of 5 and 1 indicators; the GREEN ones share observables (deterministic ids).
    const key = await readPrivateKeyFile(join(hub.keysDir, 'de-bka.jwk'));
    const base = JSON.parse(new TextDecoder().decode(await freshReport())) as {
      indicators: unknown[];
    } & Record<string, unknown>;
    const green = { ...base, handling: { tlp: 'GREEN' } };
    const variants = [base, green, { ...base, indicators: base.indicators.slice(0, 1) }, green];
    await deliver(
      agency,
      await Promise.all(
        variants.map(async (report) => {
          const reportId = randomUUID();
          const bytes = new TextEncoder().encode(JSON.stringify({ ...report, reportId }));
          const jws = await signReport(bytes, key.privateJwk);
          return { kind: 'report' as const, issuer: 'de-bka', reportId, jws };
        }),
      ),
    );
    const whole = await taxii(objectsPath(agency, '?limit=1000'), bearer(agency));
    const reference = (whole.body as unknown as Envelope).objects;
    expect((whole.body as unknown as Envelope).more).toBe(false);
    expect(reportIds(whole.body as unknown as Envelope).length).toBeGreaterThan(1);
    const byKey = new Map(reference.map((o) => [pageKey(o), unmarked(o)]));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 60 }), async (limit) => {
        const { pages } = await readPages(agency, limit);
        const firsts: string[] = [];
        const seen = new Set<string>();
        for (const envelope of pages) {
          expect(envelope.objects.length).toBeLessThanOrEqual(limit);
          const keys = envelope.objects.map(pageKey);
          expect(new Set(keys).size).toBe(keys.length);
          for (const object of envelope.objects) {
            expect(unmarked(object)).toBe(byKey.get(pageKey(object)));
            if (!seen.has(pageKey(object))) firsts.push(pageKey(object));
            seen.add(pageKey(object));
          }
        }
        // Every object, in the order of the alerts; every report exactly once.
        expect(firsts).toEqual(reference.map(pageKey));
        expect(pages.flatMap(reportIds)).toEqual(reportIds({ more: false, objects: reference }));
        expect(pages.slice(0, -1).every((p) => p.objects.length === limit)).toBe(true);
      }),
      { numRuns: 12, examples: [[1], [2]] },
    );
    const manifest = await taxii(
      `${ROOT}collections/${collectionId(agency)}/manifest/?limit=7`,
      bearer(agency),
    );
    expect((manifest.body as { objects: { id: string }[] }).objects.map((o) => o.id)).toEqual(
      reference.slice(0, 7).map((o) => o.id),
    );
  }, 300_000);

  it('a version whose earlier report never reached the agency is served as its first version', async () => {
    const agency = 'ro-dicot';
    const issuer = 'de-bka';
    const { next: end } = await readAll(agency, 1000);
    const key = await readPrivateKeyFile(join(hub.keysDir, `${issuer}.jwk`));
    const template = JSON.parse(new TextDecoder().decode(await freshReport(issuer))) as {
      issuedAt: string;
    } & Record<string, unknown>;
    const t0 = Date.parse(template.issuedAt) - 60_000;
    const make = async (n: number, extra: Record<string, unknown>) => {
      const reportId = randomUUID();
      const issuedAt = new Date(t0 + n * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      const report = {
        ...template,
        reportId,
        issuedAt,
        narrative: `lineage ${reportId}`,
        ...extra,
      };
      const jws = await signReport(
        new TextEncoder().encode(JSON.stringify(report)),
        key.privateJwk,
      );
      return { issuer, reportId, issuedAt, jws };
    };
    const a = await make(0, {});
    const b = await make(1, { lineage: { supersedes: [a.reportId] } });
    const c = await make(2, { lineage: { supersedes: [b.reportId] } });
    const d = await make(3, { lineage: { supersedes: [a.reportId] } });
    const e = await make(4, { indicators: [], lineage: { retracts: randomUUID() } });
    // Issued in the same second as A: it cannot be a newer version of A.
    const g = await make(0, { lineage: { supersedes: [a.reportId] } });
    // B went to another agency only; the agency holds A, C (supersedes B), D (supersedes A), E.
    await deliver('nl-police', [{ kind: 'supersede', ...b }]);
    await deliver(agency, [
      { kind: 'report', ...a },
      { kind: 'supersede', ...c },
      { kind: 'supersede', ...d },
      { kind: 'retraction', ...e },
      { kind: 'supersede', ...g },
    ]);
    const { pages } = await readPages(agency, 3, end);
    const objects = pages.flatMap((p) => p.objects);
    const reports = new Map(
      objects.filter((o) => o.type === 'report').map((o) => [reportIdOf(o), o]),
    );
    expect([...reports.keys()].sort()).toEqual(
      [a.reportId, c.reportId, d.reportId, e.reportId, g.reportId].sort(),
    );
    const rg = reports.get(g.reportId);
    expect(rg?.id).not.toBe(reports.get(a.reportId)?.id);
    expect(rg?.['created']).toBe(rg?.['modified']);
    const [ra, rc, rd, re] = [a, c, d, e].map((r) => reports.get(r.reportId));
    // D is the second version of A; C and E start objects of their own, named by themselves.
    expect(rd).toMatchObject({
      id: ra?.id,
      created: ra?.['created'],
      modified: `${d.issuedAt.slice(0, -1)}.000Z`,
    });
    expect(rc?.id).not.toBe(ra?.id);
    expect(rc?.['created']).toBe(rc?.['modified']);
    expect(re).toMatchObject({ revoked: true });
    expect(re?.['created']).toBe(re?.['modified']);
    // Nothing of B but the id C names in its own signed lineage.
    expect(JSON.stringify(objects)).not.toContain(`lineage ${b.reportId}`);
    const versions = await taxii(objectsPath(agency, `${ra?.id ?? ''}/versions/`), bearer(agency));
    expect(versions.body).toEqual({
      more: false,
      versions: [ra?.['modified'], rd?.['modified']],
    });
    const all = await taxii(
      objectsPath(agency, `${ra?.id ?? ''}/?match[version]=all`),
      bearer(agency),
    );
    expect((all.body as unknown as Envelope).objects.map(reportIdOf)).toEqual([
      a.reportId,
      d.reportId,
    ]);
    // The index sees alerts stored after its last lookup.
    const f = await make(5, { lineage: { supersedes: [d.reportId] } });
    await deliver(agency, [{ kind: 'supersede', ...f }]);
    const later = await taxii(objectsPath(agency, `${ra?.id ?? ''}/versions/`), bearer(agency));
    expect((later.body as { versions: string[] }).versions).toHaveLength(3);
    const rcVersions = await taxii(
      objectsPath(agency, `${rc?.id ?? ''}/versions/`),
      bearer(agency),
    );
    expect(rcVersions.body).toEqual({ more: false, versions: [rc?.['modified']] });
  }, 120_000);

  it('pages 10,000 alerts with limit 100 while more arrive: no gaps, no duplicates', async () => {
    const agency = 'ngo-lastrada';
    const js = jetstream(admin);
    const key = await readPrivateKeyFile(join(hub.keysDir, 'de-bka.jwk'));
    // One indicator per report keeps the number of pages of 100 objects near 600.
    const full = JSON.parse(new TextDecoder().decode(await freshReport())) as {
      indicators: unknown[];
    };
    const template = { ...full, indicators: full.indicators.slice(0, 1) };
    const written: string[] = [];
    const write = async (n: number): Promise<void> => {
      for (let done = 0; done < n; done += 250) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(250, n - done) }, async () => {
            const reportId = randomUUID();
            const jws = await signReport(
              new TextEncoder().encode(JSON.stringify({ ...template, reportId })),
              key.privateJwk,
            );
            return { reportId, jws };
          }),
        );
        await Promise.all(
          batch.map(({ reportId, jws }) => {
            const h = headers();
            h.set('Nats-Msg-Id', alertMsgId('de-bka', reportId, agency));
            return js.publish(alertSubject(agency, 'report', 'de-bka', reportId), jws, {
              headers: h,
            });
          }),
        );
        written.push(...batch.map((b) => b.reportId));
      }
    };
    const before = await releasedTo(agency);
    await write(5_000);
    const arriving = write(5_000);
    const first = await readAll(agency, 100);
    await arriving;
    // Resume from the last cursor: exactly what arrived after it, nothing twice.
    const rest = await readAll(agency, 100, first.next);
    const all = [...first.ids, ...rest.ids];
    expect(new Set(all).size).toBe(all.length);
    expect(all.sort()).toEqual([...before, ...written].sort());
    // A limit above the cap is capped, not refused.
    const capped = await taxii(objectsPath(agency, '?limit=5000'), bearer(agency));
    expect((capped.body as unknown as Envelope).objects).toHaveLength(1000);
  }, 300_000);
});
