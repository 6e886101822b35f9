/**
 * The ingest service. Each submission goes through these steps, in this order; the first
 * check that fails decides the code, and the rejection is stored in REJECTIONS (except in
 * step 0) and audited before the agency is answered:
 *
 * 0. attestation — the broker's `Nats-Request-Info` names the agency's account; otherwise
 *    ERR_SENDER_NOT_ATTESTED, answered when possible, nothing stored (`attested`).
 * 1. reply subject — one the broker made for the request (`_R_.…`); ERR_REPLY_SUBJECT,
 *    stored but not answered (`admit`).
 * 2. size — at most `maxBytes`; ERR_PAYLOAD_TOO_LARGE (`admit`).
 * 3. signature — `verifyReport` against the registry at the hub's receive time: JWS form,
 *    algorithm, header, key, signature, strict JSON and schema, issuer, key validity
 *    (`verify`).
 * 4. signer — the signing agency is the connected one; ERR_SIGNER_NOT_CONNECTED (`verify`).
 * 5. duplicate — the same (issuer, reportId) already stored: same bytes answer `ok` with
 *    `duplicate: true`, other bytes ERR_REPORT_CONFLICT; before the time-dependent checks, so
 *    a retry gets the same answer later (`alreadyStored`).
 * 6. jurisdictions known — ISO 3166-1 alpha-2 or a federation group; ERR_JURISDICTION_UNKNOWN.
 * 7. origin allowed — the agency may report for `origin`; ERR_JURISDICTION_NOT_ALLOWED.
 * 8. agencies known — in `handling.releasableTo/notReleasableTo`; ERR_AGENCY_UNKNOWN.
 * 9. not in the future — `issuedAt` at most `clockSkewMs` ahead; ERR_ISSUED_IN_FUTURE.
 * 10. not too old — `issuedAt` at most `maxReportAgeMs` before the receive time;
 *     ERR_ISSUED_TOO_OLD.
 * 11. validity window — `validUntil`, when given, after now and after `issuedAt`;
 *     ERR_VALIDITY_WINDOW (steps 9–11: `checkTimes`).
 * 12. lineage — what it retracts or supersedes is a stored report of the same issuer;
 *     ERR_LINEAGE_UNKNOWN (steps 6–12: `checkClaims`).
 * 13. store — appended to REPORTS (a concurrent copy that won must hold the same bytes,
 *     else ERR_REPORT_CONFLICT); a storage failure is ERR_UNAVAILABLE, retryable, nothing
 *     decided or stored (`store`).
 * 14. audit — a `report.accepted` or `report.rejected` entry in AUDIT; when it cannot be
 *     written the answer is ERR_UNAVAILABLE, retryable (`acceptedReport`, `rejected`).
 * 15. reply — only now is the agency answered.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type {
  AuditClient,
  AuditRequestOf,
  IngestAccepted,
  IngestRejected,
  IngestReply,
} from '@mosaic/protocol';
import { assertSubjectToken, type Report } from '@mosaic/contract';
import { ErrorCode, MosaicError, isMosaicError, isRetryable } from '@mosaic/errors';
import {
  INGEST_WILDCARD,
  QueueGroups,
  Streams,
  agencyOfIngestSubject,
  attestedAccount,
  isImportedReplySubject,
  reportSubject,
} from '@mosaic/protocol';
import { type RegistryView } from '@mosaic/federation';
import type { Logger } from '@mosaic/log';
import {
  drainSubscription,
  limit,
  serviceHandle,
  serviceLogger,
  type Service,
} from '@mosaic/service';
import {
  DEFAULT_MAX_JWS_BYTES,
  reportIdentity,
  verifyReport,
  type VerifiedReport,
} from '@mosaic/signing';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import {
  checkAgenciesKnown,
  checkJurisdictionsKnown,
  checkOriginAllowed,
  checkTimes,
  lineageTargets,
} from './checks.ts';
import { AuditBacklog } from './backlog.ts';
import { capDetails, rejectionRecord } from './rejection.ts';
import { IngestStore } from './store.ts';

/** Default allowed clock skew for `issuedAt`: 5 minutes. */
export const DEFAULT_CLOCK_SKEW_MS = 300_000;

/** Default oldest accepted `issuedAt`, before the hub's receive time: 30 days. */
export const DEFAULT_MAX_REPORT_AGE_MS = 30 * 24 * 3_600_000;

/** Default number of submissions one instance processes at a time. */
export const DEFAULT_INGEST_CONCURRENCY = 64;

/** How long one lookup or append request waits before ingest sends it again (see `IngestOptions`). */
const DEFAULT_ATTEMPT_TIMEOUT_MS = 1_000;

/** What a process exporting metrics learns of each submission. */
export interface IngestObserver {
  /**
   * The checks of one submission (size, signature, registry, duplicate and claims, steps
   * 1–12) took `seconds`; told of every submission that passed step 0, accepted or not.
   */
  verified(seconds: number): void;
  /** Appending one report to REPORTS (step 13, until its PubAck) took `seconds`. */
  stored(seconds: number): void;
  /** A submission was answered with `reply`. */
  answered(reply: IngestReply): void;
}

export interface IngestOptions {
  /** Told of every check and answer (metrics); must not throw. */
  observe?: IngestObserver;
  /** A connection as the ingest identity (its context's inbox prefix). */
  nc: NatsConnection;
  /** The federation as the hub currently knows it; read afresh for every submission. */
  registry: RegistryView;
  /**
   * Parent logger. Records carry `service: 'ingest'`, or `component: 'ingest'` when the parent
   * already names another service. Default: a new logger.
   */
  log?: Logger;
  /** Largest accepted submission in bytes; default `DEFAULT_MAX_JWS_BYTES` of the signing package. */
  maxBytes?: number;
  /** How far `issuedAt` may lie ahead of the hub's clock; default 300 000 ms. */
  clockSkewMs?: number;
  /**
   * How far `issuedAt` may lie before the hub's receive time; default 30 days
   * (`DEFAULT_MAX_REPORT_AGE_MS`). `issuedAt` is the signer's claim: it is bounded both ways.
   */
  maxReportAgeMs?: number;
  /** The hub's clock; default `() => new Date()`. */
  now?: () => Date;
  /** How long a JetStream operation (lookup, PubAck) may take; default 5 000 ms. */
  replyTimeoutMs?: number;
  /**
   * How long one request of a lookup or report append waits for its answer before it is
   * sent again, within `replyTimeoutMs`; default 1 000 ms. A stream whose leader died
   * answers nothing until another replica is elected (4–9 s): asked again this often, a
   * submission is stored soon after the election instead of a whole timeout later.
   */
  attemptTimeoutMs?: number;
  /** Submissions processed at a time by this instance; default 64. */
  concurrency?: number;
  /**
   * The broker account of each agency (its public key, `A…`). A submission on
   * `mosaic.ingest.<agency>` is taken as that agency's only when the broker attests, in the
   * `Nats-Request-Info` header it adds to requests crossing a service import, that it came
   * from that account. The hub passes its live identity set.
   */
  accounts: { accountOf(agency: string): string | undefined };
  /**
   * Where collection and rejection entries go (the hub passes `auditClient(nc, 'ingest')`).
   * When set, an agency is answered only after its entry is in AUDIT; if it cannot be
   * written the answer is ERR_UNAVAILABLE (retryable: the retry is idempotent and writes it).
   */
  audit?: AuditClient;
}

/**
 * A running ingest instance. `stop()` stops taking submissions, finishes (stores and
 * answers) those in hand, then resolves.
 */
export type IngestService = Service;

interface Submission {
  agency: string;
  data: Uint8Array;
  reply: string | undefined;
  receivedAt: Date;
  /** The sending account as the broker attests it; undefined when the header is absent. */
  attestedAccount: string | undefined;
}

interface Context {
  accounts: IngestOptions['accounts'];
  audit: AuditClient | undefined;
  /** Entries of stored decisions whose write failed: written again in the background. */
  backlog: AuditBacklog | undefined;
  registry: RegistryView;
  store: IngestStore;
  maxBytes: number;
  skewMs: number;
  maxAgeMs: number;
  now: () => Date;
  observe: IngestObserver | undefined;
}

function rejection(code: ErrorCode, message: string, details: object): MosaicError {
  return new MosaicError(code, message, { details });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

function conflict(identity: string, seq: number): MosaicError {
  return rejection(
    ErrorCode.ReportConflict,
    `report ${identity} is already stored (seq ${seq}) with different signed bytes`,
    { report: identity, seq },
  );
}

/** What is known of one submission as it goes through the steps. */
interface Known {
  /** Set once the signature is verified: every later record names the report. */
  reportId?: string;
  log: Logger;
  /** When the checks ended and storing began (`performance.now()`); unset before. */
  checked?: number;
}

/**
 * Step 0: whether the broker attests the submission as sent by the agency's account. One it
 * does not is nobody's to store or audit: storing it would attribute it to the agency.
 */
function attested(sub: Submission, ctx: Context): boolean {
  const expected = ctx.accounts.accountOf(sub.agency);
  return expected !== undefined && sub.attestedAccount === expected;
}

/** Steps 1–2: a reply subject the broker made for the request, and the size limit. */
function admit(sub: Submission, ctx: Context): void {
  if (!isImportedReplySubject(sub.reply))
    throw rejection(
      ErrorCode.ReplySubject,
      sub.reply === undefined
        ? 'the submission has no reply subject; use request/reply'
        : `the reply subject was not made by the broker for agency "${sub.agency}"`,
      { replySubject: sub.reply ?? null },
    );
  if (sub.data.byteLength > ctx.maxBytes)
    throw rejection(
      ErrorCode.PayloadTooLarge,
      `submission of ${sub.data.byteLength} bytes exceeds the limit of ${ctx.maxBytes}`,
      { limit: ctx.maxBytes, size: sub.data.byteLength },
    );
}

/** Steps 3–4: the signature against the registry, by the connected agency. */
async function verify(sub: Submission, ctx: Context, known: Known): Promise<VerifiedReport> {
  // Keys and times are judged at the hub's receive time, never at the signer-chosen issuedAt.
  const verified = await verifyReport(sub.data, ctx.registry, {
    maxBytes: ctx.maxBytes,
    receivedAt: sub.receivedAt,
  });
  const { report } = verified;
  if (verified.agency !== sub.agency)
    throw rejection(
      ErrorCode.SignerNotConnected,
      `the report is signed by "${verified.agency}", but was submitted by "${sub.agency}"`,
      { signer: verified.agency, connected: sub.agency, kid: verified.kid },
    );
  // The contract guarantees these; a subject is never built from an unchecked value.
  assertSubjectToken(report.origin, 'origin');
  assertSubjectToken(report.category, 'category');
  assertSubjectToken(report.issuer, 'issuer');
  assertSubjectToken(report.reportId, 'reportId');
  // From here on, every record of this submission names the report.
  known.reportId = report.reportId;
  known.log = known.log.child({ reportId: report.reportId });
  known.log.debug({ kid: verified.kid }, 'verified');
  return verified;
}

/**
 * Step 5: the answer already given to these bytes (a duplicate), undefined for a new report;
 * other bytes under the same identity are a conflict. Before the time-dependent checks, so
 * the same bytes get the same answer later.
 */
async function alreadyStored(
  sub: Submission,
  ctx: Context,
  report: Report,
): Promise<IngestAccepted | undefined> {
  const existing = await ctx.store.find(report.issuer, report.reportId);
  if (existing === undefined) return undefined;
  if (!sameBytes(existing.data, sub.data)) throw conflict(reportIdentity(report), existing.seq);
  return { ok: true, reportId: report.reportId, seq: existing.seq, duplicate: true };
}

/** Steps 6–12: what the report claims, against the federation, the clock and REPORTS. */
async function checkClaims(sub: Submission, ctx: Context, report: Report): Promise<void> {
  checkJurisdictionsKnown(report, ctx.registry);
  checkOriginAllowed(report, sub.agency, ctx.registry);
  checkAgenciesKnown(report, ctx.registry);
  checkTimes(report, sub.receivedAt, { skewMs: ctx.skewMs, maxAgeMs: ctx.maxAgeMs });
  for (const target of lineageTargets(report))
    if ((await ctx.store.find(report.issuer, target.reportId)) === undefined)
      throw rejection(
        ErrorCode.LineageUnknown,
        `${target.path} names report ${target.reportId}, which "${report.issuer}" has not published`,
        { path: target.path, reportId: target.reportId },
      );
}

/** Step 13: appends to REPORTS; a concurrent copy that won must hold the same bytes. */
async function store(
  sub: Submission,
  ctx: Context,
  verified: VerifiedReport,
): Promise<IngestAccepted> {
  const { report } = verified;
  const identity = reportIdentity(report);
  let ack: { seq: number; duplicate: boolean };
  try {
    ack = await ctx.store.append(reportSubject(report), sub.data, {
      msgId: identity,
      agency: sub.agency,
      kid: verified.kid,
    });
  } catch (err) {
    // A PubAck lost in a failover does not mean nothing was stored: once REPORTS answers
    // again ingest looks, and audits the report when it is there (the agency may have
    // stopped retrying).
    ctx.backlog?.add(
      async () => {
        const found = await ctx.store.find(sub.agency, report.reportId);
        return found !== undefined && sameBytes(found.data, sub.data)
          ? acceptedEntry(sub, report.reportId, found.seq, false)
          : undefined;
      },
      { reportId: report.reportId, after: 'REPORTS append failed' },
      identity,
    );
    throw err;
  }
  if (ack.duplicate) {
    // A concurrent copy won within the dedupe window: compare with what it stored.
    const stored = await ctx.store.get(ack.seq);
    if (stored === undefined || !sameBytes(stored.data, sub.data))
      throw conflict(identity, ack.seq);
  }
  return { ok: true, reportId: report.reportId, seq: ack.seq, duplicate: ack.duplicate };
}

/**
 * Steps 1–13 in order, storing an accepted report. Resolves with the accepted reply; throws
 * a MosaicError whose code is the rejection (ERR_UNAVAILABLE: storage failed, nothing
 * decided).
 */
async function accept(sub: Submission, ctx: Context, known: Known): Promise<IngestAccepted> {
  admit(sub, ctx);
  const verified = await verify(sub, ctx, known);
  const duplicate = await alreadyStored(sub, ctx, verified.report);
  if (duplicate !== undefined) return duplicate;
  await checkClaims(sub, ctx, verified.report);
  known.checked = performance.now();
  const stored = await store(sub, ctx, verified);
  ctx.observe?.stored((performance.now() - known.checked) / 1000);
  return stored;
}

function encodeReply(reply: IngestReply): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(reply));
}

/** Answers the agency, when the reply subject leads back to it (step 1). */
function replier(nc: NatsConnection, sub: Submission, known: Known): (reply: IngestReply) => void {
  return (reply) => {
    if (!isImportedReplySubject(sub.reply)) return;
    try {
      nc.publish(sub.reply, encodeReply(reply));
    } catch (err) {
      known.log.warn({ err }, 'cannot send the reply');
    }
  };
}

/**
 * A rejected submission: stored in REJECTIONS, then audited, then answered — or, when
 * storage is what failed, answered as retryable with nothing stored.
 */
async function rejected(
  err: unknown,
  sub: Submission,
  ctx: Context,
  known: Known,
  answer: (reply: IngestReply) => void,
): Promise<void> {
  const failure = isMosaicError(err)
    ? err
    : new MosaicError(ErrorCode.Internal, 'internal error while checking the submission', {
        cause: err,
      });
  if (!isMosaicError(err)) known.log.error({ err }, 'unexpected failure');
  if (isRetryable(failure.code)) {
    known.log.warn(
      { err: failure, code: failure.code },
      'not decided now (retryable); nothing stored',
    );
    answer({ ok: false, code: failure.code, message: failure.message, retryable: true });
    return;
  }
  const reply: IngestRejected = { ok: false, code: failure.code, message: failure.message };
  const details = capDetails(failure.details);
  if (details !== undefined) reply.details = details;
  let rejectionSeq: number;
  try {
    rejectionSeq = await ctx.store.reject(
      sub.agency,
      rejectionRecord({
        code: failure.code,
        message: failure.message,
        details: failure.details,
        agency: sub.agency,
        receivedAt: sub.receivedAt,
        replySubject: sub.reply,
        reportId: known.reportId,
        data: sub.data,
      }),
    );
  } catch (storeErr) {
    // Without the stored rejection the answer would be a decision nobody can audit.
    known.log.error({ err: storeErr, code: failure.code }, 'cannot store the rejection');
    const unavailable = isMosaicError(storeErr)
      ? storeErr
      : new MosaicError(ErrorCode.Unavailable, 'cannot store the rejection', {
          cause: storeErr,
        });
    answer({
      ok: false,
      code: ErrorCode.Unavailable,
      message: unavailable.message,
      retryable: true,
    });
    return;
  }
  const entry: AuditRequestOf<'ingest'> = {
    actor: { kind: 'agency', id: sub.agency },
    action: 'report.rejected',
    subject: {
      ...(known.reportId === undefined ? {} : { reportId: known.reportId, issuer: sub.agency }),
      contentHash: contentHash(sub.data),
    },
    refs: [{ stream: Streams.Rejections, seq: rejectionSeq }],
    details: { code: failure.code },
  };
  try {
    await ctx.audit?.record(entry);
  } catch (auditErr) {
    known.log.error({ err: auditErr, rejectionSeq }, 'rejection stored but not audited');
    ctx.backlog?.add(entry, { rejectionSeq });
    answer(unaudited(auditErr));
    return;
  }
  known.log.info(
    {
      code: failure.code,
      rejectionSeq,
      size: sub.data.byteLength,
      replied: isImportedReplySubject(sub.reply),
    },
    'submission rejected',
  );
  answer(reply);
}

/** The collection entry of a stored report. */
function acceptedEntry(
  sub: Submission,
  reportId: string,
  seq: number,
  duplicate: boolean,
): AuditRequestOf<'ingest'> {
  return {
    actor: { kind: 'agency', id: sub.agency },
    action: 'report.accepted',
    subject: { reportId, issuer: sub.agency, contentHash: contentHash(sub.data) },
    refs: [{ stream: Streams.Reports, seq }],
    ...(duplicate ? { details: { duplicate: true } } : {}),
  };
}

/** A stored report (or a duplicate): audited, then answered. */
async function acceptedReport(
  accepted: IngestAccepted,
  sub: Submission,
  ctx: Context,
  known: Known,
  answer: (reply: IngestReply) => void,
): Promise<void> {
  // A duplicate is recorded too: the first answer may have been lost with its entry.
  const entry = acceptedEntry(sub, accepted.reportId, accepted.seq, accepted.duplicate);
  try {
    await ctx.audit?.record(entry);
    ctx.backlog?.settled(reportIdentity({ issuer: sub.agency, reportId: accepted.reportId }));
  } catch (auditErr) {
    known.log.error({ err: auditErr, seq: accepted.seq }, 'report stored but not audited');
    ctx.backlog?.add(entry, { seq: accepted.seq, reportId: accepted.reportId });
    answer(unaudited(auditErr));
    return;
  }
  known.log.info(
    { seq: accepted.seq, duplicate: accepted.duplicate },
    accepted.duplicate ? 'duplicate report' : 'report stored',
  );
  answer(accepted);
}

/** One submission: steps 0–15. */
async function handle(
  nc: NatsConnection,
  sub: Submission,
  ctx: Context,
  parentLog: Logger,
): Promise<void> {
  const known: Known = { log: parentLog.child({ agency: sub.agency }) };
  const send = replier(nc, sub, known);
  const answer = (reply: IngestReply): void => {
    ctx.observe?.answered(reply);
    send(reply);
  };
  if (!attested(sub, ctx)) {
    known.log.warn(
      { code: ErrorCode.SenderNotAttested, attestedAccount: sub.attestedAccount ?? null },
      'message on an ingest subject not attested as the agency’s; dropped',
    );
    answer({
      ok: false,
      code: ErrorCode.SenderNotAttested,
      message: `the broker does not attest this submission as sent by agency "${sub.agency}"`,
    });
    return;
  }
  let accepted: IngestAccepted;
  const started = performance.now();
  // The checks end where storing begins, or where the submission was decided without it.
  const checked = (): void => {
    ctx.observe?.verified(((known.checked ?? performance.now()) - started) / 1000);
  };
  try {
    accepted = await accept(sub, ctx, known);
  } catch (err) {
    checked();
    await rejected(err, sub, ctx, known, answer);
    return;
  }
  checked();
  await acceptedReport(accepted, sub, ctx, known, answer);
}

/** SHA-256 (lower-case hex) of the submitted bytes, as audit entries name content. */
function contentHash(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The answer when the decision is stored but its audit entry is not: retry. */
function unaudited(err: unknown): IngestReply {
  return {
    ok: false,
    code: ErrorCode.Unavailable,
    message: `the audit trail is unavailable: ${err instanceof Error ? err.message : String(err)}`,
    retryable: true,
  };
}

/**
 * Starts an ingest instance: serves `mosaic.ingest.*` in queue group `ingest` (run several
 * for more throughput), verifies each submission, stores it in REPORTS or REJECTIONS and
 * answers the submitting agency. See services/ingest/README.md for the checks and codes.
 *
 * @example
 * ```ts
 * const nc = await connect(contextConnectOptions(await readContextFile('contexts/ingest.json')));
 * await using ingest = await startIngest({ nc, registry: staticRegistryView(federation) });
 * ```
 */
export async function startIngest(options: IngestOptions): Promise<IngestService> {
  const { nc, registry } = options;
  const log = serviceLogger('ingest', options.log);
  const ctx: Context = {
    accounts: options.accounts,
    audit: options.audit,
    backlog: options.audit === undefined ? undefined : new AuditBacklog(options.audit, log),
    registry,
    store: await IngestStore.open(nc, {
      timeoutMs: options.replyTimeoutMs ?? 5_000,
      attemptMs: options.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS,
    }),
    maxBytes: options.maxBytes ?? DEFAULT_MAX_JWS_BYTES,
    skewMs: options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS,
    maxAgeMs: options.maxReportAgeMs ?? DEFAULT_MAX_REPORT_AGE_MS,
    now: options.now ?? (() => new Date()),
    observe: options.observe,
  };
  const tasks = limit<Msg>(options.concurrency ?? DEFAULT_INGEST_CONCURRENCY, {
    onError: (err) => {
      log.error({ err }, 'submission handler failed');
    },
  });
  const sub = nc.subscribe(INGEST_WILDCARD, { queue: QueueGroups.Ingest });

  const run = async (): Promise<void> => {
    for await (const msg of sub) {
      await tasks.free();
      const submission = submissionOf(msg, ctx.now());
      if (submission === undefined) {
        // A stored message the broker delivered here for a pull whose reply named an ingest
        // subject: nobody's submission, and its reply is an ack subject — never answered.
        log.warn(
          {
            code: ErrorCode.SenderNotAttested,
            subject: msg.subject,
            attestedAccount: attestedAccount(msg.headers) ?? null,
          },
          'message on the ingest subscription without an ingest subject; dropped',
        );
        continue;
      }
      void tasks.run(msg, () => handle(nc, submission, ctx, log));
    }
    await tasks.idle();
  };
  const loop = run();
  // Make sure the server registered the subscription before callers publish.
  await nc.flush();
  log.info(
    { subject: INGEST_WILDCARD, queue: QueueGroups.Ingest, concurrency: tasks.max },
    'ingest ready',
  );

  return serviceHandle(async () => {
    await drainSubscription(nc, sub);
    await loop;
    await ctx.backlog?.stop();
    log.info('ingest stopped');
  });
}

/** The submission a message carries; undefined when its subject is no ingest subject. */
function submissionOf(msg: Msg, receivedAt: Date): Submission | undefined {
  // Only agency <a>'s account imports mosaic.ingest.<a>; the attestation is checked too.
  const agency = agencyOfIngestSubject(msg.subject);
  if (agency === undefined) return undefined;
  return {
    agency,
    data: msg.data,
    reply: msg.reply === '' ? undefined : msg.reply,
    receivedAt,
    attestedAccount: attestedAccount(msg.headers),
  };
}
