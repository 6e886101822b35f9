import { parseReport, type Report } from '@mosaic/contract';
import { ErrorCode, MosaicError, httpStatus } from '@mosaic/errors';
import { Streams, type AuditClient } from '@mosaic/protocol';
import {
  derivedId,
  reportsToBundle,
  type ExportInput,
  type StixObject,
  type StixVersion,
} from '@mosaic/stix';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticated } from './auth.ts';
import { alertOfReport, readAlerts, type AlertsFrom, type HttpAlert } from './alerts.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';

/** The TAXII 2.1 media type of every response and of an acceptable `Accept`. */
export const TAXII_MEDIA = 'application/taxii+json;version=2.1';
const STIX_MEDIA = 'application/stix+json;version=2.1';
/** The one API root. */
const TAXII_ROOT = '/taxii2/mosaic/';
/** Largest `limit` (alerts per page); a larger one is capped, not refused. */
const MAX_TAXII_PAGE = 1000;
const DEFAULT_TAXII_PAGE = 100;
/** Longest supersede chain followed to find a report's first STIX version. */
const MAX_CHAIN = 32;
/** Alerts read per batch while looking for an object by id. */
const SCAN_BATCH = 1000;

/** The id of the one collection of an agency: derived from its (public) agency id. */
export function collectionId(agency: string): string {
  return derivedId('taxii-collection', agency).split('--')[1] ?? '';
}

/**
 * A TAXII response body as bytes: fastify sends a byte payload with the media type exactly
 * as set (`application/taxii+json;version=2.1`), where it would rewrite a JSON one.
 */
export function taxiiBody(body: unknown): Buffer {
  return Buffer.from(JSON.stringify(body));
}

/** A Mosaic error as a TAXII error resource, Mosaic's code in `error_id`. */
export function taxiiError(err: MosaicError): Record<string, unknown> {
  return {
    title: err.code,
    description: err.message,
    error_id: err.code,
    error_code: err.code,
    http_status: String(httpStatus(err.code)),
    ...(err.details === undefined ? {} : { details: err.details }),
  };
}

function queryInvalid(path: string, message: string): MosaicError {
  return new MosaicError(ErrorCode.QueryInvalid, `${path}: ${message}`, {
    details: { issues: [{ path, code: 'custom', message }] },
  });
}

function single(query: Record<string, unknown>, name: string): string | undefined {
  const value = query[name];
  if (value !== undefined && typeof value !== 'string')
    throw queryInvalid(name, 'must be given once');
  return value;
}

function pageLimit(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_TAXII_PAGE;
  if (!/^[1-9][0-9]{0,6}$/.test(raw)) throw queryInvalid('limit', 'must be a positive integer');
  return Math.min(Number(raw), MAX_TAXII_PAGE);
}

function timestamp(raw: string, name: string): Date {
  const time = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/.test(raw)
    ? new Date(raw)
    : undefined;
  if (time === undefined || Number.isNaN(time.getTime()))
    throw queryInvalid(name, 'must be an RFC 3339 UTC timestamp');
  return time;
}

/** An object's version: its `modified`, else its `created` (markings and SCOs have no `modified`). */
function versionOf(object: StixObject): string {
  const { modified, created } = object;
  return typeof modified === 'string' ? modified : typeof created === 'string' ? created : '';
}

function reportOf(alert: HttpAlert): Report {
  return parseReport(Buffer.from(alert.jws.split('.')[1] ?? '', 'base64url'));
}

/** The report an alert's report replaces or retracts, if any. */
function earlierOf(report: Report): string | undefined {
  return report.lineage?.supersedes?.[0] ?? report.lineage?.retracts;
}

/**
 * The STIX objects of a run of alerts. A supersede or retraction is a new version of the
 * first report of its chain: that report is looked up among the alerts the agency received,
 * since a version must keep the first one's id and `created`. The agency never received it:
 * ERR_STIX_LINEAGE.
 */
async function objectsOf(
  jsm: JetStreamManager,
  agency: string,
  alerts: HttpAlert[],
): Promise<StixObject[]> {
  const inputs: ExportInput[] = alerts.map((alert) => ({
    report: reportOf(alert),
    jws: alert.jws,
  }));
  const earlier = new Map<string, Report>();
  const pending = inputs.map((input) => input.report);
  for (let depth = 0; pending.length > 0 && depth < MAX_CHAIN * alerts.length; depth++) {
    const report = pending.pop();
    const before = report === undefined ? undefined : earlierOf(report);
    if (report === undefined || before === undefined) continue;
    const key = `${report.issuer}/${before}`;
    if (earlier.has(key)) continue;
    const alert = await alertOfReport(jsm, agency, report.issuer, before);
    if (alert === undefined) continue;
    const found = reportOf(alert);
    earlier.set(key, found);
    pending.push(found);
  }
  const versions = new Map<string, StixVersion | undefined>();
  const previousVersion = (issuer: string, reportId: string): StixVersion | undefined => {
    const key = `${issuer}/${reportId}`;
    if (versions.has(key)) return versions.get(key);
    const report = earlier.get(key);
    if (report === undefined) return undefined;
    versions.set(key, undefined);
    const object = reportsToBundle([{ report }], { previousVersion }).objects.find(
      (o) => o.type === 'report',
    );
    const version =
      object === undefined ? undefined : { id: object.id, created: String(object['created']) };
    versions.set(key, version);
    return version;
  };
  return reportsToBundle(inputs, { previousVersion }).objects;
}

/** One page: the alerts, where the next page starts, and whether there may be one. */
interface Page {
  alerts: HttpAlert[];
  more: boolean;
  next?: string;
}

async function page(
  jsm: JetStreamManager,
  agency: string,
  query: Record<string, unknown>,
): Promise<Page> {
  const next = single(query, 'next');
  const addedAfter = single(query, 'added_after');
  const limit = pageLimit(single(query, 'limit'));
  const after = addedAfter === undefined ? undefined : timestamp(addedAfter, 'added_after');
  // The cursor is a stream sequence: it wins over added_after, which only places the first page.
  const from: AlertsFrom =
    next !== undefined
      ? { seq: decodeCursor(next, 'next') }
      : after !== undefined
        ? { time: after }
        : { seq: 1 };
  // One more than asked tells whether another page exists.
  let alerts = await readAlerts(jsm, agency, from, limit + 1);
  if (after !== undefined && next === undefined)
    alerts = alerts.filter((a) => Date.parse(a.storedAt) > after.getTime());
  const more = alerts.length > limit;
  const shown = alerts.slice(0, limit);
  const last = shown.at(-1);
  // An empty page read by time has no position in the stream to resume from.
  const resume = last === undefined ? ('seq' in from ? from.seq : undefined) : last.seq + 1;
  return {
    alerts: shown,
    more,
    ...(resume === undefined ? {} : { next: encodeCursor(resume) }),
  };
}

function dateHeaders(reply: FastifyReply, alerts: HttpAlert[]): void {
  const first = alerts[0];
  const last = alerts.at(-1);
  if (first === undefined || last === undefined) return;
  void reply.header('X-TAXII-Date-Added-First', first.storedAt);
  void reply.header('X-TAXII-Date-Added-Last', last.storedAt);
}

/** Options of {@link registerTaxii}. */
export interface TaxiiOptions {
  jsm: JetStreamManager;
  audit: AuditClient<'gateway'>;
}

/**
 * The read-only TAXII 2.1 server: discovery at `/taxii2/`, one API root `/taxii2/mosaic/`
 * and, per agency, one collection holding exactly the alerts released to it, as STIX 2.1
 * (`@mosaic/stix`). Pages are runs of alerts in ALERTS order; `next` is an opaque cursor
 * over the stream sequence. Every read that discloses an alert is a consultation entry
 * (`channel: "taxii"`). Writes answer 405 ERR_METHOD_NOT_ALLOWED.
 */
export function registerTaxii(app: FastifyInstance, options: TaxiiOptions): void {
  const { jsm, audit } = options;

  const who = (request: FastifyRequest): Authenticated => {
    if (request.agency === undefined)
      throw new MosaicError(ErrorCode.Internal, 'unauthenticated request');
    return request.agency;
  };
  const consulted = async (
    agency: Authenticated,
    alerts: HttpAlert[],
    endpoint: string,
  ): Promise<void> => {
    if (alerts.length === 0) return;
    await audit.record({
      actor: { kind: 'agency', id: agency.agency },
      action: 'alert.consulted',
      refs: alerts.map((a) => ({ stream: Streams.Alerts, seq: a.seq })),
      details: { channel: 'taxii', endpoint, tokenId: agency.tokenId },
    });
  };
  /** The agency's own collection, or ERR_NOT_FOUND: another agency's id is as unknown as a typo. */
  const collection = (request: FastifyRequest): Authenticated => {
    const agency = who(request);
    const { collection: id } = request.params as { collection: string };
    if (id !== collectionId(agency.agency))
      throw new MosaicError(ErrorCode.NotFound, 'no such collection', {
        details: { collection: id },
      });
    return agency;
  };
  const send = (reply: FastifyReply, body: unknown): FastifyReply =>
    reply.header('content-type', TAXII_MEDIA).send(taxiiBody(body));

  // An Accept that admits neither TAXII nor anything: ERR_MEDIA_TYPE (406).
  app.addHook('onRequest', (request, _reply, done) => {
    if (!request.url.startsWith('/taxii2/')) {
      done();
      return;
    }
    const accept = request.headers.accept;
    const ok =
      accept === undefined ||
      accept
        .split(',')
        .map((part) => part.split(';')[0]?.trim().toLowerCase() ?? '')
        .some(
          (type) => type === '*/*' || type === 'application/*' || type === 'application/taxii+json',
        );
    done(
      ok
        ? undefined
        : Object.assign(
            new MosaicError(ErrorCode.MediaType, `the TAXII server answers ${TAXII_MEDIA}`, {
              details: { expected: TAXII_MEDIA },
            }),
            { statusCode: 406 },
          ),
    );
  });

  app.route({
    method: ['POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/taxii2/*',
    onRequest: (_request, _reply, done) => {
      done(
        new MosaicError(
          ErrorCode.MethodNotAllowed,
          'the TAXII server is read-only: import STIX with mosaic import stix, submit signed reports with POST /v1/reports',
        ),
      );
    },
    handler: (_request, reply) => reply.code(405).send(),
  });

  app.get('/taxii2/', (request, reply) => {
    who(request);
    return send(reply, {
      title: 'Mosaic',
      description: 'Alerts released to your agency, as STIX 2.1',
      default: TAXII_ROOT,
      api_roots: [TAXII_ROOT],
    });
  });

  app.get(TAXII_ROOT, (request, reply) => {
    who(request);
    return send(reply, {
      title: 'Mosaic alerts',
      versions: [TAXII_MEDIA],
      max_content_length: 0,
    });
  });

  const collectionResource = (agency: string): Record<string, unknown> => ({
    id: collectionId(agency),
    title: `Alerts released to ${agency}`,
    can_read: true,
    can_write: false,
    media_types: [STIX_MEDIA],
  });

  app.get(`${TAXII_ROOT}collections/`, (request, reply) =>
    send(reply, { collections: [collectionResource(who(request).agency)] }),
  );

  app.get(`${TAXII_ROOT}collections/:collection/`, (request, reply) =>
    send(reply, collectionResource(collection(request).agency)),
  );

  app.get(`${TAXII_ROOT}collections/:collection/objects/`, async (request, reply) => {
    const agency = collection(request);
    const got = await page(jsm, agency.agency, request.query as Record<string, unknown>);
    const objects = got.alerts.length === 0 ? [] : await objectsOf(jsm, agency.agency, got.alerts);
    await consulted(agency, got.alerts, 'objects');
    dateHeaders(reply, got.alerts);
    return send(reply, {
      more: got.more,
      ...(got.next === undefined ? {} : { next: got.next }),
      objects,
    });
  });

  app.get(`${TAXII_ROOT}collections/:collection/manifest/`, async (request, reply) => {
    const agency = collection(request);
    const got = await page(jsm, agency.agency, request.query as Record<string, unknown>);
    const objects: { id: string; date_added: string; version: string; media_type: string }[] = [];
    for (const alert of got.alerts)
      for (const object of await objectsOf(jsm, agency.agency, [alert]))
        objects.push({
          id: object.id,
          date_added: alert.storedAt,
          version: versionOf(object),
          media_type: STIX_MEDIA,
        });
    await consulted(agency, got.alerts, 'manifest');
    dateHeaders(reply, got.alerts);
    return send(reply, {
      more: got.more,
      ...(got.next === undefined ? {} : { next: got.next }),
      objects,
    });
  });

  /** Every version of one object among the agency's alerts, with the alerts that carry it. */
  const versionsOf = async (
    agency: string,
    objectId: string,
  ): Promise<{ objects: StixObject[]; alerts: HttpAlert[] }> => {
    if (!/^[a-z0-9-]{1,64}--[0-9a-f-]{36}$/.test(objectId))
      throw new MosaicError(ErrorCode.NotFound, 'no such object', { details: { id: objectId } });
    const byVersion = new Map<string, StixObject>();
    const alerts: HttpAlert[] = [];
    for (let seq = 1; ;) {
      const batch = await readAlerts(jsm, agency, seq, SCAN_BATCH);
      for (const alert of batch) {
        // A report's objects are only worth building when its JWS could name the object.
        const objects = await objectsOf(jsm, agency, [alert]);
        const hits = objects.filter((o) => o.id === objectId);
        if (hits.length === 0) continue;
        alerts.push(alert);
        for (const hit of hits) byVersion.set(versionOf(hit), hit);
      }
      const last = batch.at(-1);
      if (last === undefined || batch.length < SCAN_BATCH) break;
      seq = last.seq + 1;
    }
    if (byVersion.size === 0)
      throw new MosaicError(ErrorCode.NotFound, 'no such object', { details: { id: objectId } });
    const objects = [...byVersion.entries()]
      .sort(([a], [b]) => Date.parse(a) - Date.parse(b))
      .map(([, object]) => object);
    return { objects, alerts };
  };

  app.get(`${TAXII_ROOT}collections/:collection/objects/:id/`, async (request, reply) => {
    const agency = collection(request);
    const { id } = request.params as { id: string };
    const version = single(request.query as Record<string, unknown>, 'match[version]');
    const found = await versionsOf(agency.agency, id);
    const objects =
      version === 'all'
        ? found.objects
        : version === undefined || version === 'last'
          ? found.objects.slice(-1)
          : version === 'first'
            ? found.objects.slice(0, 1)
            : found.objects.filter((o) => versionOf(o) === version);
    await consulted(agency, found.alerts, 'object');
    return send(reply, { more: false, objects });
  });

  app.get(`${TAXII_ROOT}collections/:collection/objects/:id/versions/`, async (request, reply) => {
    const agency = collection(request);
    const { id } = request.params as { id: string };
    const found = await versionsOf(agency.agency, id);
    await consulted(agency, found.alerts, 'versions');
    return send(reply, {
      more: false,
      versions: found.objects.map((o) => versionOf(o)),
    });
  });
}
