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
import {
  alertOfReport,
  readAlerts,
  type AlertsFrom,
  type HttpAlert,
  type HttpReportAlert,
} from './alerts.ts';
import { ObjectIndex } from './object-index.ts';
import { decodeObjectCursor, encodeObjectCursor, type ObjectCursor } from './cursor.ts';

/** The TAXII 2.1 media type of every response and of an acceptable `Accept`. */
export const TAXII_MEDIA = 'application/taxii+json;version=2.1';
const STIX_MEDIA = 'application/stix+json;version=2.1';
/** The one API root. */
const TAXII_ROOT = '/taxii2/mosaic/';
/** Largest `limit` (objects per page); a larger one is capped, not refused. */
const MAX_TAXII_PAGE = 1000;
const DEFAULT_TAXII_PAGE = 100;
/** Longest supersede chain followed to find a report's first STIX version. */
const MAX_CHAIN = 32;
/** Alerts read per batch while paging or indexing. */
const READ_BATCH = 200;

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

function reportOf(alert: HttpReportAlert): Report {
  return parseReport(Buffer.from(alert.jws.split('.')[1] ?? '', 'base64url'));
}

/** The report an alert's report replaces or retracts, if any. */
function earlierOf(report: Report): string | undefined {
  return report.lineage?.supersedes?.[0] ?? report.lineage?.retracts;
}

/**
 * The STIX objects of one alert, in the order the mapping writes them (the same on every
 * read). A supersede or retraction is a new version of the first report of its chain: that
 * report is looked up among the alerts the agency received, since a version keeps the first
 * one's id and `created`. Where the chain reaches a report the agency never received, the
 * alert's report is the first version the agency has (its own id): a collection pages past
 * it, and the STIX object names nothing the agency was not sent. A hit alert (another
 * agency's check matched the agency's holdings) is not a report and has no objects.
 */
async function alertObjects(
  jsm: JetStreamManager,
  agency: string,
  alert: HttpAlert,
): Promise<StixObject[]> {
  // A hit alert is not a report: it has no STIX content, so a collection pages past it.
  if (alert.kind === 'hit') return [];
  const input: ExportInput = { report: reportOf(alert), jws: alert.jws };
  const earlier = new Map<string, Report>();
  const pending = [input.report];
  for (let depth = 0; pending.length > 0 && depth < MAX_CHAIN; depth++) {
    const report = pending.pop();
    const before = report === undefined ? undefined : earlierOf(report);
    if (report === undefined || before === undefined) continue;
    const key = `${report.issuer}/${before}`;
    if (earlier.has(key)) continue;
    const found = await alertOfReport(jsm, agency, report.issuer, before);
    if (found === undefined) continue;
    const foundReport = reportOf(found);
    earlier.set(key, foundReport);
    pending.push(foundReport);
  }
  const versions = new Map<string, StixVersion | undefined>();
  const previousVersion = (issuer: string, reportId: string): StixVersion | undefined => {
    const key = `${issuer}/${reportId}`;
    if (versions.has(key)) return versions.get(key);
    const report = earlier.get(key);
    if (report === undefined) return undefined;
    versions.set(key, undefined);
    const object = reportsToBundle([{ report }], {
      previousVersion,
      unlinkable: 'first-version',
    }).objects.find((o) => o.type === 'report');
    const version =
      object === undefined ? undefined : { id: object.id, created: String(object['created']) };
    versions.set(key, version);
    return version;
  };
  return reportsToBundle([input], { previousVersion, unlinkable: 'first-version' }).objects;
}

/** An object of a page, with the alert it came from. */
interface PagedObject {
  object: StixObject;
  alert: HttpAlert;
}

/**
 * One page: at most `limit` objects, the alerts they came from, where the next page starts,
 * and whether there may be one.
 */
interface Page {
  objects: PagedObject[];
  alerts: HttpAlert[];
  more: boolean;
  next?: string;
}

/** Within a page an object appears once: per id, and per version for a report. */
function pageKey(object: StixObject): string {
  return object.type === 'report' ? `${object.id}@${versionOf(object)}` : object.id;
}

/** The same observable in two reports of a page: all markings of both apply to it. */
function mergeMarkings(present: StixObject, object: StixObject): void {
  const a = present['object_marking_refs'];
  const b = object['object_marking_refs'];
  if (!Array.isArray(a) || !Array.isArray(b)) return;
  present['object_marking_refs'] = [...new Set([...(a as string[]), ...(b as string[])])];
}

/**
 * The objects of the agency's alerts in ALERTS order, `limit` of them at most. The cursor
 * names an alert's sequence and how many of its objects were sent, so an alert whose
 * objects straddle the limit continues on the next page and no alert is skipped or repeated.
 * An object already on the page (a marking, an agency) is not sent twice on it.
 */
async function page(
  jsm: JetStreamManager,
  agency: string,
  query: Record<string, unknown>,
): Promise<Page> {
  const next = single(query, 'next');
  const addedAfter = single(query, 'added_after');
  const limit = pageLimit(single(query, 'limit'));
  const after = addedAfter === undefined ? undefined : timestamp(addedAfter, 'added_after');
  // The cursor wins over added_after, which only places the first page.
  const at: ObjectCursor =
    next === undefined ? { seq: 1, skip: 0 } : decodeObjectCursor(next, 'next');
  let from: AlertsFrom =
    next === undefined && after !== undefined ? { time: after } : { seq: at.seq };
  // An empty page read by time has no position in the stream to resume from.
  let resume: ObjectCursor | undefined = 'seq' in from ? at : undefined;
  const objects: PagedObject[] = [];
  const onPage = new Map<string, StixObject>();
  const alerts: HttpAlert[] = [];
  const batchSize = Math.min(limit + 1, READ_BATCH);
  for (;;) {
    const batch = await readAlerts(jsm, agency, from, batchSize);
    for (const alert of batch) {
      if (
        after !== undefined &&
        next === undefined &&
        !(Date.parse(alert.storedAt) > after.getTime())
      ) {
        resume = { seq: alert.seq + 1, skip: 0 };
        continue;
      }
      const all = await alertObjects(jsm, agency, alert);
      const first = alert.seq === at.seq ? at.skip : 0;
      for (let i = first; i < all.length; i++) {
        const object = all[i] as StixObject;
        const present = onPage.get(pageKey(object));
        if (present === undefined && objects.length === limit) {
          const full = { seq: alert.seq, skip: i };
          return { objects, alerts, more: true, next: encodeObjectCursor(full) };
        }
        // An alert is disclosed (consulted) by the first of its objects on the page.
        if (alerts.at(-1) !== alert) alerts.push(alert);
        if (present !== undefined) {
          mergeMarkings(present, object);
          continue;
        }
        const copy = { ...object };
        onPage.set(pageKey(copy), copy);
        objects.push({ object: copy, alert });
      }
      resume = { seq: alert.seq + 1, skip: 0 };
    }
    const last = batch.at(-1);
    if (last === undefined || batch.length < batchSize) break;
    from = { seq: last.seq + 1 };
  }
  return {
    objects,
    alerts,
    more: false,
    ...(resume === undefined ? {} : { next: encodeObjectCursor(resume) }),
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
    const objects = got.objects.map((o) => o.object);
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
    const objects = got.objects.map(({ object, alert }) => ({
      id: object.id,
      date_added: alert.storedAt,
      version: versionOf(object),
      media_type: STIX_MEDIA,
    }));
    await consulted(agency, got.alerts, 'manifest');
    dateHeaders(reply, got.alerts);
    return send(reply, {
      more: got.more,
      ...(got.next === undefined ? {} : { next: got.next }),
      objects,
    });
  });

  const index = new ObjectIndex(
    (agency, seq, limit) => readAlerts(jsm, agency, seq, limit),
    (agency, alert) => alertObjects(jsm, agency, alert),
    versionOf,
  );

  /** Every version of one object among the agency's alerts, with the alerts that carry it. */
  const versionsOf = async (
    agency: string,
    objectId: string,
  ): Promise<{ objects: StixObject[]; alerts: HttpAlert[] }> => {
    const notFound = () =>
      new MosaicError(ErrorCode.NotFound, 'no such object', { details: { id: objectId } });
    if (!/^[a-z0-9-]{1,64}--[0-9a-f-]{36}$/.test(objectId)) throw notFound();
    const versions = await index.lookup(agency, objectId);
    if (versions === undefined) throw notFound();
    const byVersion = new Map<string, StixObject>();
    const alerts: HttpAlert[] = [];
    for (const seq of new Set(versions.values())) {
      const [alert] = await readAlerts(jsm, agency, seq, 1);
      if (alert?.seq !== seq) continue;
      const hits = (await alertObjects(jsm, agency, alert)).filter((o) => o.id === objectId);
      if (hits.length === 0) continue;
      alerts.push(alert);
      for (const hit of hits)
        if (versions.get(versionOf(hit)) === seq) byVersion.set(versionOf(hit), hit);
    }
    if (byVersion.size === 0) throw notFound();
    const objects = [...byVersion.entries()]
      .sort(([a], [b]) => Date.parse(a) - Date.parse(b))
      .map(([, object]) => object);
    return { objects, alerts: alerts.sort((a, b) => a.seq - b.seq) };
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
