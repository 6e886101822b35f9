import { readFile } from 'node:fs/promises';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import {
  ErrorCode,
  MosaicError,
  httpStatus,
  isErrorCode,
  isMosaicError,
  isRetryable,
  unavailable,
} from '@mosaic/errors';
import type { Logger } from '@mosaic/log';
import { Streams, auditClient, ingestSubject, parseIngestReply } from '@mosaic/protocol';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import { authenticate, bucketLookup, type Authenticated } from './auth.ts';
import { readAlerts } from './alerts.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { generateOpenApi } from './openapi.ts';
import { TAXII_MEDIA, registerTaxii, taxiiBody, taxiiError } from './taxii.ts';

/** Options of `startGateway`. */
export interface GatewayOptions {
  /**
   * The gateway's hub-account connection (`gatewayPermissions`): token lookups, alert reads,
   * consultation entries. It cannot submit: see `agencyConnection`.
   */
  nc: NatsConnection;
  /**
   * A connection inside agency `a`'s own broker account (a gateway user with the agency's
   * permissions). Submissions go through it, so ingest trusts the broker's attestation of
   * the agency's account exactly as for the agency's own clients. The gateway asks only for
   * the agency it authenticated.
   */
  agencyConnection(agency: string): Promise<NatsConnection>;
  /** True while the agency is in the registry; a removed agency's tokens stop working. */
  isMember(agency: string): boolean;
  log: Logger;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** PEM files: the gateway then serves HTTPS only. */
  tls?: { certFile: string; keyFile: string };
  /** Requests per agency (or per client address before authentication) and window. Default 600 a minute. */
  rateLimit?: { max: number; windowMs: number };
  /** Largest request body. Default 1 MiB (ingest refuses a JWS over its own limit with ERR_PAYLOAD_TOO_LARGE). */
  bodyLimit?: number;
  /** How long ingest may take to answer. Default 10 s. */
  ingestTimeoutMs?: number;
}

/** A running gateway. Dispose it (or `stop()`) to close the listener and the agency connections. */
export interface Gateway extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` (https with TLS). */
  readonly url: string;
  stop(): Promise<void>;
}

const JOSE = 'application/jose';
const PROBLEM = 'application/problem+json';
/** Largest `limit` of one alerts page. */
const MAX_ALERTS_PAGE = 1000;
const DEFAULT_ALERTS_PAGE = 100;

declare module 'fastify' {
  interface FastifyRequest {
    agency?: Authenticated;
    authError?: MosaicError;
  }
}

/** A Mosaic error as an RFC 9457 problem with the stable code. */
function problem(err: MosaicError, instance: string): Record<string, unknown> {
  return {
    type: `https://mosaic.example/errors#${err.code.toLowerCase()}`,
    title: err.code,
    status: httpStatus(err.code),
    detail: err.message,
    instance,
    code: err.code,
    ...(isRetryable(err.code) ? { retryable: true } : {}),
    ...(err.details === undefined ? {} : { details: err.details }),
  };
}

/** fastify's own request errors as Mosaic codes; anything else is a bug. */
function asMosaic(err: FastifyError | MosaicError | Error): MosaicError {
  if (isMosaicError(err)) return err;
  const code = 'code' in err ? err.code : undefined;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new MosaicError(ErrorCode.PayloadTooLarge, 'the request body is too large', {
        cause: err,
      });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_TYPE':
      return new MosaicError(ErrorCode.MediaType, `this endpoint takes ${JOSE}`, {
        details: { expected: JOSE },
        cause: err,
      });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new MosaicError(ErrorCode.JwsMalformed, 'the request body is empty', { cause: err });
    default:
      return new MosaicError(ErrorCode.Internal, 'the gateway failed', { cause: err });
  }
}

function send(reply: FastifyReply, request: FastifyRequest, err: MosaicError): FastifyReply {
  if (err.code === ErrorCode.Unauthenticated)
    void reply.header('WWW-Authenticate', 'Bearer realm="mosaic", Basic realm="mosaic"');
  // A status the error carries (406 for an Accept the TAXII server cannot meet) else the code's.
  const own = (err as { statusCode?: unknown }).statusCode;
  const status = typeof own === 'number' ? own : httpStatus(err.code);
  const path = request.url.split('?')[0] ?? '';
  if (path.startsWith('/taxii2/'))
    return reply
      .code(status)
      .header('content-type', TAXII_MEDIA)
      .send(taxiiBody({ ...taxiiError(err), http_status: String(status) }));
  return reply.code(status).type(PROBLEM).send(problem(err, path));
}

function queryInvalid(path: string, message: string): MosaicError {
  return new MosaicError(ErrorCode.QueryInvalid, `${path}: ${message}`, {
    details: { issues: [{ path, code: 'custom', message }] },
  });
}

/** `limit` as given, capped; ERR_QUERY_INVALID when it is not a positive integer. */
function pageLimit(raw: unknown): number {
  if (raw === undefined) return DEFAULT_ALERTS_PAGE;
  if (typeof raw !== 'string' || !/^[1-9][0-9]{0,6}$/.test(raw))
    throw queryInvalid('limit', 'must be a positive integer');
  return Math.min(Number(raw), MAX_ALERTS_PAGE);
}

/**
 * Starts the HTTP gateway: `POST /v1/reports` (a compact JWS, `application/jose`) submits
 * as the authenticated agency through its own broker account and answers with ingest's
 * reply; `GET /v1/alerts?cursor=&limit=` pages through the agency's alerts by ALERTS
 * sequence, each page recorded as a consultation. Listens on 127.0.0.1 unless told
 * otherwise; every error is an `application/problem+json` with Mosaic's `code`.
 *
 * @example
 * ```ts
 * await using gw = await startGateway({ nc, agencyConnection, isMember, log });
 * await fetch(`${gw.url}/v1/alerts`, { headers: { authorization: `Bearer ${token}` } });
 * ```
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { log } = options;
  const jsm = await jetstreamManager(options.nc, { checkAPI: false });
  const lookup = bucketLookup(jsm);
  const audit = auditClient(options.nc, 'gateway');
  const ingestTimeout = options.ingestTimeoutMs ?? 10_000;
  const https =
    options.tls === undefined
      ? null
      : {
          cert: await readFile(options.tls.certFile),
          key: await readFile(options.tls.keyFile),
        };
  const app = Fastify({
    ...(https === null ? {} : { https }),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    logger: false,
    trustProxy: false,
    return503OnClosing: true,
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JOSE, { parseAs: 'buffer' }, (_req, body, done) => {
    done(null, body);
  });

  // Authentication first, but its failure is only raised after the rate limit counted the
  // request (per client address then), so guessing tokens is rate limited too.
  const isMember = (agency: string): boolean => options.isMember(agency);
  app.addHook('onRequest', async (request) => {
    try {
      request.agency = await authenticate(request.headers.authorization, lookup, isMember);
    } catch (err) {
      if (!isMosaicError(err)) throw unavailable('token lookup', err);
      request.authError = err;
    }
  });
  await app.register(helmet, { global: true });
  await app.register(rateLimit, {
    global: true,
    max: options.rateLimit?.max ?? 600,
    timeWindow: options.rateLimit?.windowMs ?? 60_000,
    keyGenerator: (request) =>
      request.agency === undefined ? `ip:${request.ip}` : `agency:${request.agency.agency}`,
    errorResponseBuilder: (_request, context) => {
      const err = new MosaicError(
        ErrorCode.RateLimited,
        `rate limit spent: retry in ${context.after}`,
        {
          details: { max: context.max, retryAfterMs: context.ttl },
        },
      );
      return Object.assign(err, { statusCode: 429 });
    },
  });
  const publicPaths = new Set(['/v1/openapi.json']);
  app.addHook('preParsing', (request, _reply, payload, done) => {
    const open = publicPaths.has(request.routeOptions.url ?? '');
    done(open ? null : (request.authError ?? null), payload);
  });

  app.setErrorHandler((err: FastifyError | MosaicError, request, reply) => {
    const mosaic = asMosaic(err);
    if (mosaic.code === ErrorCode.Internal) log.error({ err }, 'gateway request failed');
    return send(reply, request, mosaic);
  });
  app.setNotFoundHandler((request, reply) =>
    send(reply, request, new MosaicError(ErrorCode.NotFound, 'no such resource')),
  );

  app.post('/v1/reports', async (request, reply) => {
    const who = request.agency;
    if (who === undefined) throw new MosaicError(ErrorCode.Internal, 'unauthenticated request');
    const body = request.body;
    if (!(body instanceof Buffer))
      throw new MosaicError(ErrorCode.MediaType, `this endpoint takes ${JOSE}`, {
        details: { expected: JOSE },
      });
    const nc = await options.agencyConnection(who.agency);
    let data: Uint8Array;
    try {
      data = (await nc.request(ingestSubject(who.agency), body, { timeout: ingestTimeout })).data;
    } catch (err) {
      throw unavailable('submission', err);
    }
    const answer = parseIngestReply(data);
    if (answer === undefined)
      throw new MosaicError(ErrorCode.Internal, 'ingest sent a reply that is not a reply');
    if (answer.ok) return reply.code(200).send(answer);
    const code = isErrorCode(answer.code) ? answer.code : ErrorCode.Internal;
    return send(
      reply,
      request,
      new MosaicError(code, answer.message, {
        ...(answer.details === undefined ? {} : { details: answer.details }),
      }),
    );
  });

  const openapi = generateOpenApi();
  app.get('/v1/openapi.json', (_request, reply) => reply.type('application/json').send(openapi));

  app.get('/v1/alerts', async (request, reply) => {
    const who = request.agency;
    if (who === undefined) throw new MosaicError(ErrorCode.Internal, 'unauthenticated request');
    const query = request.query as Record<string, unknown>;
    const cursor = query['cursor'];
    if (cursor !== undefined && typeof cursor !== 'string')
      throw queryInvalid('cursor', 'must be given once');
    const from = cursor === undefined ? 1 : decodeCursor(cursor);
    const limit = pageLimit(query['limit']);
    const alerts = await readAlerts(jsm, who.agency, from, limit);
    if (alerts.length > 0)
      await audit.record({
        actor: { kind: 'agency', id: who.agency },
        action: 'alert.consulted',
        refs: alerts.map((a) => ({ stream: Streams.Alerts, seq: a.seq })),
        details: { channel: 'http', tokenId: who.tokenId },
      });
    const last = alerts.at(-1);
    return reply.send({ alerts, next: encodeCursor(last === undefined ? from : last.seq + 1) });
  });

  registerTaxii(app, { jsm, audit });

  const address = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  log.info({ url: address }, 'gateway listening');
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopped ??= app.close());
  return {
    url: address,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
