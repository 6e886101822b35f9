/**
 * The gateway's read-only TAXII 2.1 server on a real hub: collections per agency, paging by
 * an opaque stream cursor while alerts arrive, every agency's credential against every
 * other's collection, coded errors, and consultations in the audit trail.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEntry } from '@mosaic/audit-log';
import { collectionId } from '@mosaic/gateway';
import { connectOperator, issueGatewayToken } from '@mosaic/operator';
import {
  ROUTER_CONSUMER,
  Streams,
  alertMsgId,
  alertSubject,
  parseAlertSubject,
  readStream,
} from '@mosaic/protocol';
import { readPrivateKeyFile, signReport } from '@mosaic/signing';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { startHub, type Hub } from '../src/index.ts';
import { connectContext, freshReport, quietLog, tempDir } from './helpers.ts';

const AGENCIES = [
  ['nl-police', 'NL'],
  ['de-bka', 'DE'],
  ['ro-dicot', 'RO'],
  ['ngo-lastrada', 'NL'],
] as const;
const TAXII = 'application/taxii+json;version=2.1';
const ROOT = '/taxii2/mosaic/';

let dir: AsyncDisposable & { path: string };
let hub: Hub;
let admin: NatsConnection;
let adminJsm: JetStreamManager;
const tokens = new Map<string, string>();

function bearer(agency: string): string {
  return `Bearer ${tokens.get(agency) ?? ''}`;
}

function basic(user: string, token: string): string {
  return `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`;
}

interface Envelope {
  more: boolean;
  next?: string;
  objects: { id: string; type: string }[];
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

/** The Mosaic report ids of the STIX report objects of an envelope. */
function reportIds(envelope: Envelope): string[] {
  return envelope.objects
    .filter((o) => o.type === 'report')
    .map((o) => {
      const ext = (o as unknown as { extensions: Record<string, { report_id: string }> })
        .extensions;
      return Object.values(ext)[0]?.report_id ?? '';
    });
}

/** Every page of an agency's collection from the start (or from `next`). */
async function readAll(
  agency: string,
  limit: number,
  from?: string,
): Promise<{ ids: string[]; next?: string }> {
  const ids: string[] = [];
  let next = from;
  for (;;) {
    const res = await taxii(
      objectsPath(agency, `?limit=${String(limit)}${next === undefined ? '' : `&next=${next}`}`),
      bearer(agency),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const envelope = res.body as unknown as Envelope;
    ids.push(...reportIds(envelope));
    if (envelope.next !== undefined) next = envelope.next;
    if (!envelope.more) return { ids, ...(next === undefined ? {} : { next }) };
  }
}

/** Waits (bounded) until the router has routed every stored report. */
async function routerIdle(): Promise<void> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
    const info = await adminJsm.consumers.info(Streams.Reports, ROUTER_CONSUMER);
    if (info.num_pending + info.num_ack_pending === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the router did not route every report within 60 s');
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
  dir = await tempDir();
  hub = await startHub({ dataDir: dir.path, port: 0, log: quietLog });
  admin = await connectContext(join(dir.path, 'breakglass', 'admin.json'));
  adminJsm = await jetstreamManager(admin);
  await using op = await connectOperator(join(hub.contextsDir, 'operator.json'));
  for (const [agency] of AGENCIES) {
    const { token } = await issueGatewayToken(op, { agency, justification: 'taxii test' });
    tokens.set(agency, token);
  }
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
  await routerIdle();
}, 180_000);

afterAll(async () => {
  await admin.close();
  await hub.stop();
  await dir[Symbol.asyncDispose]();
});

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
        const asOther = await taxii(objectsPath(other), basic(other, tokens.get(agency) ?? ''));
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
    const page = (await taxii(objectsPath(agency, '?limit=1'), bearer(agency)))
      .body as unknown as Envelope;
    const report = page.objects.find((o) => o.type === 'report');
    expect(report).toBeDefined();
    const byId = await taxii(objectsPath(agency, `${report?.id ?? ''}/`), bearer(agency));
    expect(byId.status).toBe(200);
    expect((byId.body as unknown as Envelope).objects).toEqual([report]);
    const versions = await taxii(
      objectsPath(agency, `${report?.id ?? ''}/versions/`),
      bearer(agency),
    );
    expect(versions.body).toMatchObject({ more: false, versions: [expect.any(String)] });
    const manifest = await taxii(
      `${ROOT}collections/${collectionId(agency)}/manifest/?limit=1`,
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

  it('pages 10,000 alerts with limit 100 while more arrive: no gaps, no duplicates', async () => {
    const agency = 'ngo-lastrada';
    const js = jetstream(admin);
    const key = await readPrivateKeyFile(join(hub.keysDir, 'de-bka.jwk'));
    const template = JSON.parse(new TextDecoder().decode(await freshReport())) as object;
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
    expect(reportIds(capped.body as unknown as Envelope)).toHaveLength(1000);
  }, 300_000);
});
