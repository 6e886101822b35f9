import type { ErrorCode } from '@mosaic/errors';
import { z } from 'zod';

/**
 * The wire contract of `mosaic.ingest.<agency>` shared by the ingest service and the agency
 * SDK: where reports and rejections are stored and what the hub replies.
 */

/**
 * Subject of a stored report in REPORTS: `mosaic.reports.<origin>.<category>.<issuer>.<reportId>`.
 * Every value must already be a validated subject token (the contract guarantees it for a
 * parsed report; ingest re-checks).
 */
export function reportSubject(report: {
  origin: string;
  category: string;
  issuer: string;
  reportId: string;
}): string {
  return `mosaic.reports.${report.origin}.${report.category}.${report.issuer}.${report.reportId}`;
}

/**
 * The tokens of a REPORTS subject (`mosaic.reports.<origin>.<category>.<issuer>.<reportId>`),
 * or undefined when the subject is not one.
 */
export function parseReportSubject(
  subject: string,
): { origin: string; category: string; issuer: string; reportId: string } | undefined {
  const [mosaic, reports, origin, category, issuer, reportId, ...rest] = subject.split('.');
  if (mosaic !== 'mosaic' || reports !== 'reports' || rest.length > 0) return undefined;
  if (origin === undefined || category === undefined || issuer === undefined) return undefined;
  if (reportId === undefined) return undefined;
  return { origin, category, issuer, reportId };
}

/**
 * The wildcard that finds a report by (issuer, report id) whatever its origin and category,
 * for a `last_by_subj` message get or direct get on REPORTS.
 *
 * @example
 * ```ts
 * await jsm.direct.getMessage('REPORTS', { last_by_subj: reportLookupSubject('nl-police', id) });
 * ```
 */
export function reportLookupSubject(issuer: string, reportId: string): string {
  return `mosaic.reports.*.*.${issuer}.${reportId}`;
}

/** Subject of a stored rejection in REJECTIONS. */
export function rejectionSubject(agency: string): string {
  return `mosaic.rejections.${agency}`;
}

/** The agency of a REJECTIONS subject (`mosaic.rejections.<agency>`), or undefined when it is not one. */
export function parseRejectionSubject(subject: string): { agency: string } | undefined {
  const [mosaic, rejections, agency, ...rest] = subject.split('.');
  if (mosaic !== 'mosaic' || rejections !== 'rejections' || rest.length > 0) return undefined;
  return agency === undefined || agency === '' ? undefined : { agency };
}

/** Headers ingest sets on every stored report. */
export const ReportHeaders = {
  /** `<issuer>/<reportId>`: JetStream deduplicates concurrent copies on it. */
  MsgId: 'Nats-Msg-Id',
  /** The agency whose connection submitted the report (= the issuer). */
  Agency: 'Mosaic-Agency',
  /** The `kid` of the key that signed it. */
  Kid: 'Mosaic-Kid',
} as const;

/** The hub stored the report (or already held these exact bytes: `duplicate: true`). */
export interface IngestAccepted {
  ok: true;
  reportId: string;
  /** Stream sequence of the report in REPORTS. */
  seq: number;
  duplicate: boolean;
}

/** The hub refused the report, or (with `retryable: true`) could not decide now. */
export interface IngestRejected {
  ok: false;
  /** A code of docs/errors.md; a newer hub may send codes this version does not know. */
  code: ErrorCode;
  message: string;
  details?: unknown;
  /** Set on ERR_UNAVAILABLE: nothing was decided, send the same bytes again. */
  retryable?: true;
}

export type IngestReply = IngestAccepted | IngestRejected;

const replySchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    reportId: z.string().min(1),
    seq: z.number().int().positive(),
    duplicate: z.boolean(),
  }),
  z.object({
    ok: z.literal(false),
    code: z.string().regex(/^ERR_[A-Z0-9_]+$/),
    message: z.string(),
    details: z.unknown().optional(),
    retryable: z.literal(true).optional(),
  }),
]);

/**
 * Parses a hub reply; `undefined` when it is not one (not JSON, or not of the reply shape).
 *
 * @example
 * ```ts
 * const reply = parseIngestReply((await nc.request(ingestSubject('nl-police'), jws)).data);
 * ```
 */
export function parseIngestReply(data: Uint8Array | string): IngestReply | undefined {
  let value: unknown;
  try {
    value = JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data));
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
  const parsed = replySchema.safeParse(value);
  if (!parsed.success) return undefined;
  const reply = parsed.data;
  if (reply.ok) return reply;
  const rejected: IngestRejected = {
    ok: false,
    code: reply.code as ErrorCode,
    message: reply.message,
  };
  if (reply.details !== undefined) rejected.details = reply.details;
  if (reply.retryable === true) rejected.retryable = true;
  return rejected;
}
