import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import { finished } from 'node:stream/promises';
import { readAuditCheckpoints, readStream } from '@mosaic/protocol';
import { decodeEntry, writeAuditExport, type AuditLogItem } from '@mosaic/audit-log';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { Streams, type Stream } from '@mosaic/protocol';
import { staticRegistryView, type Federation } from '@mosaic/federation';
import {
  connectOperator,
  parseTime,
  replaySelects,
  resolveReplayRange,
  type OperatorSession,
  type ReplayRange as Range,
  type ReplaySelection as Selection,
} from '@mosaic/operator';
import { keysFromHub } from '@mosaic/sdk';
import type { KeyLookup } from '@mosaic/signing';
import type { JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { defineCommand, usageError } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { checkOutputPath, drained, guardOutput, writeChunk, writeLine, type CliIo } from '../io.ts';
import {
  flag,
  integer,
  oneOf,
  operatorContext,
  reason,
  string,
  time,
  type OptionValues,
} from '../options.ts';
import { progressBar, type Progress } from '../progress.ts';
import {
  defaultVerifyWorkers,
  startReportVerifier,
  type ReportVerifier,
  type Verdict,
} from '../verify-pool.ts';

const STREAMS = {
  reports: Streams.Reports,
  alerts: Streams.Alerts,
  rejections: Streams.Rejections,
  audit: Streams.Audit,
} as const satisfies Record<string, Stream>;

/** Reports verified at once on this thread (concurrently: jose verifies off the thread). */
const THREAD_BATCH = 64;
/** Reports per batch handed to a worker thread. */
const WORKER_BATCH = 256;
/** Batches in flight per worker (at least one batch on this thread): one running, one waiting. */
const BATCHES_PER_WORKER = 2;

function usage(message: string): MosaicError {
  return usageError({ path: ['replay'] }, `${message} (see --help)`);
}

const decoder = new TextDecoder();

function csvField(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/**
 * The registry's keys, then the retired keys of agencies removed since (kept, revoked at
 * their removal, in the hub's public-keys bucket), so their stored reports still verify.
 */
function withRetired(federation: Federation, nc: NatsConnection): KeyLookup {
  const registry = staticRegistryView(federation);
  const retired = keysFromHub({ connection: nc }, { missWaitMs: 0 });
  return {
    resolve: async (kid) => (await registry.resolve(kid)) ?? retired.resolve(kid),
  };
}

const replayOptions = {
  context: operatorContext(),
  stream: oneOf({
    values: ['reports', 'alerts', 'rejections', 'audit'],
    description: 'the stream to replay',
    required: true,
  }),
  since: time({
    accepts: 'utc-or-now',
    description: 'messages JetStream stored at or after the time (inclusive)',
  }),
  until: time({
    accepts: 'utc-or-now',
    description: 'messages stored before the time (exclusive)',
  }),
  'from-seq': integer({ min: 1, description: 'the first stream sequence (inclusive)' }),
  'to-seq': integer({ min: 1, description: 'the last stream sequence (inclusive)' }),
  agency: string({
    placeholder: '<id>',
    description:
      'reports: the issuer; alerts: the recipient; rejections: the submitting agency; audit: actor, issuer or a recipient',
  }),
  jurisdiction: string({
    placeholder: '<cc>',
    description: 'reports and alerts: the origin or a jurisdiction concerned',
  }),
  category: string({ placeholder: '<c>', description: 'reports and alerts: the category' }),
  verify: flag({
    description:
      'reports and alerts: verify every signature with the key valid at the time the message was stored (a key revoked later still verifies reports stored before its revocation)',
  }),
  workers: integer({
    min: 0,
    max: 256,
    showDefault: 'the number of cores (0 on one core)',
    description:
      '--verify: worker threads verifying reports in batches, the output still in stream order (0: on the main thread)',
  }),
  format: oneOf({
    values: ['ndjson', 'csv'],
    description: 'the output format',
    default: 'ndjson',
  }),
  out: string({ placeholder: '<file>', description: 'write there instead of stdout' }),
  reason: reason(),
};

/** What the command line asks for, checked across options; times resolved once, here. */
interface Request {
  context: string;
  stream: Stream;
  /** Reports or alerts: signed reports that can be filtered by content and verified. */
  reportLike: boolean;
  format: 'ndjson' | 'csv';
  fromSeq?: number;
  toSeq?: number;
  sinceTime?: string;
  untilTime?: string;
  selection: Selection;
  verify: boolean;
  /** Worker threads verifying (0: the main thread). */
  workers: number;
  out?: string;
  /** The audit stream to a file: an audit export rather than lines. */
  exporting: boolean;
  justification: string;
}

/** What the read–verify–write loop saw. */
interface Outcome {
  written: number;
  failures: number;
  firstFailure?: { seq: number; code: string; message: string };
  /** When reading began (performance.now()): the rate covers reading to the end of writing. */
  started: number;
}

/** Select: the options that exclude or need each other, and the filters. */
function requestOf(values: OptionValues<typeof replayOptions>): Request {
  const stream = STREAMS[values.stream];
  const { since, until, 'from-seq': fromSeq, 'to-seq': toSeq } = values;
  if (since !== undefined && fromSeq !== undefined)
    throw usage('--since and --from-seq exclude each other');
  if (until !== undefined && toSeq !== undefined)
    throw usage('--until and --to-seq exclude each other');
  const selection: Selection = {};
  for (const key of ['agency', 'jurisdiction', 'category'] as const) {
    const value = values[key];
    if (value !== undefined) selection[key] = value;
  }
  const reportLike = stream === Streams.Reports || stream === Streams.Alerts;
  if (!reportLike && (selection.jurisdiction !== undefined || selection.category !== undefined))
    throw usage('--jurisdiction and --category apply to reports and alerts');
  if (values.verify && !reportLike)
    throw usage('--verify applies to reports and alerts (the audit log: mosaic audit verify)');
  if (values.workers !== undefined && !values.verify) throw usage('--workers applies to --verify');
  return {
    context: values.context,
    stream,
    reportLike,
    format: values.format,
    ...(fromSeq === undefined ? {} : { fromSeq }),
    ...(toSeq === undefined ? {} : { toSeq }),
    ...(since === undefined ? {} : { sinceTime: parseTime(since, '--since') }),
    ...(until === undefined ? {} : { untilTime: parseTime(until, '--until') }),
    selection,
    verify: values.verify,
    workers: values.workers ?? defaultVerifyWorkers(availableParallelism()),
    ...(values.out === undefined ? {} : { out: values.out }),
    exporting: stream === Streams.Audit && values.out !== undefined,
    justification: values.reason,
  };
}

/** Recorded before anything is disclosed: an aborted replay is still on the record. */
async function recordReplay(op: OperatorSession, req: Request, range: Range): Promise<void> {
  await op.record(req.exporting ? 'operator.export' : 'operator.replay', {
    justification: req.justification,
    details: {
      stream: req.stream,
      fromSeq: range.from,
      toSeq: range.to,
      ...(req.sinceTime === undefined ? {} : { since: req.sinceTime }),
      ...(req.untilTime === undefined ? {} : { until: req.untilTime }),
      ...req.selection,
      verify: req.verify,
      format: req.exporting ? 'audit-export' : req.format,
      ...(req.out === undefined ? {} : { out: req.out }),
    },
  });
}

/** The audit stream and its checkpoints to an export file "mosaic audit verify" checks. */
async function exportAudit(
  jsm: JetStreamManager,
  out: string,
  range: Range,
  progress: Progress,
  io: CliIo,
): Promise<ExitCode> {
  const entries: AuditLogItem[] = [];
  for await (const m of readStream(jsm, Streams.Audit, { from: range.from, to: range.to })) {
    entries.push({ index: m.seq - 1, seq: m.seq, data: m.data });
    progress.tick();
  }
  const checkpoints = (await readAuditCheckpoints(jsm)).filter((c) => c.size <= range.to);
  await writeAuditExport(out, { entries, checkpoints });
  progress.done();
  writeLine(
    io.stderr,
    `exported ${entries.length} entries and ${checkpoints.length} checkpoints to ${out}`,
  );
  return ExitCode.Ok;
}

/** One message as an NDJSON or CSV line, its newline included. */
function messageLine(
  req: Request,
  m: StoredMsg,
  stored: Date,
  verified: boolean | undefined,
): string {
  const time = stored.toISOString();
  if (req.format === 'csv') {
    const sha = createHash('sha256').update(m.data).digest('hex');
    return `${[
      String(m.seq),
      time,
      csvField(m.subject),
      String(m.data.byteLength),
      sha,
      verified === undefined ? '' : String(verified),
    ].join(',')}\n`;
  }
  const body = req.reportLike
    ? { jws: decoder.decode(m.data) }
    : req.stream === Streams.Audit
      ? { entry: decodeEntry(m.data) }
      : { record: JSON.parse(decoder.decode(m.data)) as unknown };
  return `${JSON.stringify({
    stream: req.stream,
    seq: m.seq,
    time,
    subject: m.subject,
    ...body,
    ...(verified === undefined ? {} : { verified }),
  })}\n`;
}

/**
 * Read, verify, write: the selected messages of the range in stream order. With --verify,
 * messages are verified in batches (up to `BATCHES_PER_WORKER` per worker in flight, so
 * memory stays bounded) and written, with any failure named on stderr, in stream
 * order: a batch's lines in one write, cut before each failure so that the two streams
 * interleave as they would line by line. Lines a reader of the output (standard output or
 * --out) has not taken yet hold the reading back: past the sink's buffer, nothing more is
 * read until it drained.
 */
async function replayMessages(
  jsm: JetStreamManager,
  req: Request,
  range: Range,
  verifier: ReportVerifier | undefined,
  sink: NodeJS.WritableStream,
  progress: Progress,
  io: CliIo,
): Promise<Outcome> {
  const outcome: Outcome = { written: 0, failures: 0, started: performance.now() };
  const inFlight: { messages: StoredMsg[]; times: Date[]; verdicts: Promise<Verdict[]> }[] = [];
  const maxInFlight = Math.max(1, verifier?.workers ?? 0) * BATCHES_PER_WORKER;
  let batch: StoredMsg[] = [];
  const writeHead = async (): Promise<void> => {
    const head = inFlight.shift();
    if (head === undefined) return;
    const verdicts = await head.verdicts;
    let lines = '';
    for (const [i, m] of head.messages.entries()) {
      const verdict = verdicts[i];
      if (verdict !== undefined && !verdict.ok) {
        outcome.failures++;
        if (lines !== '' && !writeChunk(sink, lines)) await drained(sink);
        lines = '';
        writeLine(io.stderr, `seq ${m.seq}: ${verdict.code}: ${verdict.message}`);
        outcome.firstFailure ??= { seq: m.seq, code: verdict.code, message: verdict.message };
      }
      lines += messageLine(req, m, head.times[i] ?? m.time, verdict?.ok);
      outcome.written++;
    }
    if (lines !== '' && !writeChunk(sink, lines)) await drained(sink);
  };
  const dispatch = (): void => {
    if (verifier === undefined || batch.length === 0) return;
    const messages = batch;
    batch = [];
    // JetStream's storage time, parsed from a header on each read: once here.
    const times = messages.map((m) => m.time);
    const verdicts = verifier.verify(
      messages.map((m, i) => ({ data: m.data, storedMs: (times[i] ?? m.time).getTime() })),
    );
    // Awaited in order by writeHead; a failure meanwhile must not count as unhandled.
    verdicts.catch(() => undefined);
    inFlight.push({ messages, times, verdicts });
  };
  try {
    for await (const m of readStream(jsm, req.stream, { from: range.from, to: range.to })) {
      progress.tick();
      if (!replaySelects(req.stream, m, req.selection)) continue;
      if (verifier === undefined) {
        const more = writeChunk(sink, messageLine(req, m, m.time, undefined));
        outcome.written++;
        if (!more) await drained(sink);
        continue;
      }
      batch.push(m);
      if (batch.length < (verifier.workers === 0 ? THREAD_BATCH : WORKER_BATCH)) continue;
      dispatch();
      while (inFlight.length > maxInFlight) await writeHead();
    }
    dispatch();
    while (inFlight.length > 0) await writeHead();
  } finally {
    // Nothing left unobserved when reading or writing failed midway.
    await Promise.allSettled(inFlight.map((b) => b.verdicts));
  }
  progress.done();
  return outcome;
}

/** Ends the --out file and waits until it is written. */
async function closeOut(sink: NodeJS.WritableStream & { end(): void }, out: string): Promise<void> {
  sink.end();
  try {
    await finished(sink);
  } catch (cause) {
    throw new MosaicError(ErrorCode.Io, `cannot write ${out}: ${(cause as Error).message}`, {
      details: { path: out },
      cause,
    });
  }
}

/** Report: the summary on stderr, and the first verification failure, if any. */
function reportOutcome(io: CliIo, req: Request, range: Range, outcome: Outcome): ExitCode {
  const { written, failures, firstFailure } = outcome;
  const seconds = (performance.now() - outcome.started) / 1000;
  writeLine(
    io.stderr,
    `replayed ${written} of ${range.total} messages (${req.stream} seq ${range.from}..${range.to})` +
      (req.verify ? `, ${written - failures} verified` : '') +
      ` in ${seconds.toFixed(1)} s (${Math.round(range.total / Math.max(seconds, 1e-3))}/s)`,
  );
  if (firstFailure === undefined) return ExitCode.Ok;
  writeLine(
    io.stderr,
    `error ${firstFailure.code}: ${failures} message(s) failed verification; the first is ${req.stream} seq ${firstFailure.seq}: ${firstFailure.message}`,
  );
  return ExitCode.Rejected;
}

export const replay = defineCommand({
  path: ['replay'],
  summary: 'replay a stream in order, optionally re-verifying every signature (operator, audited)',
  usage: `Usage: mosaic replay --context <operator.json> --stream reports|alerts|rejections|audit
                     [--since <time> | --from-seq <n>] [--until <time> | --to-seq <n>]
                     [--agency <id>] [--jurisdiction <cc>] [--category <c>]
                     [--verify [--workers <n>]] [--format ndjson|csv] [--out <file>]
                     --reason "<justification>"`,
  description: `Writes the selected messages of a hub stream in stream order, one per line, to stdout
(or --out). The replay is itself recorded in the audit trail before any message is
written (operator.replay, or operator.export for --stream audit --out, with the reason,
the stream, the resolved sequence range and the filters).

Boundaries: --from-seq / --to-seq are exact stream sequences; --since and --until are the
stream's storage timestamps (RFC 3339 or "now"), not a report's issuedAt; the range is
resolved once at the start, so messages stored meanwhile are not included. Filters
(--agency, --jurisdiction, --category) apply within the range.

Output: NDJSON {"stream","seq","time","subject", "jws" (reports, alerts) | "record"
(rejections) | "entry" (audit), "verified"?} or CSV seq,time,subject,size,sha256,verified.
With --stream audit and --out, the file is an audit export (entries and signed
checkpoints) that "mosaic audit verify --export <file> --jwks <hub.jwks>" checks offline.

Verification: --verify checks each report as the hub did (header, key valid at issuedAt
and when stored, signature, schema, issuer). With --workers the checks, the Ed25519
signature's included, run in batches on worker threads (by default one per core; with 0
on the main thread, one core). The output and the failures named on stderr stay in stream
order, the same with any number of workers.

A progress bar (count of total, rate, ETA) is drawn on stderr when it is a terminal.`,
  options: replayOptions,
  footer: `Examples:
  mosaic replay --context .mosaic/contexts/operator.json --stream reports --verify \\
      --since 2026-11-01T00:00:00Z --reason "case 2026/118, disclosure request" > r.ndjson
  mosaic replay --context .mosaic/contexts/operator.json --stream audit \\
      --out audit.export --reason "quarterly audit"

Exit codes: 0 replayed (and verified), 1 a message failed verification (the first
failing sequence is named), 2 usage error (also: no --reason), 3 context or hub
unavailable, permission denied, or --out cannot be written (checked before the replay is
recorded: its directory must exist).`,
  positionals: { min: 0, max: 0 },
  async run({ values }, io) {
    const req = requestOf(values);
    // Before anything is recorded: an export that cannot be written must not be on the record.
    if (req.out !== undefined) await checkOutputPath(req.out);

    await using op = await connectOperator(req.context);
    const range = await resolveReplayRange(op.jsm, req.stream, {
      ...(req.fromSeq === undefined ? {} : { fromSeq: req.fromSeq }),
      ...(req.toSeq === undefined ? {} : { toSeq: req.toSeq }),
      ...(req.sinceTime === undefined ? {} : { since: req.sinceTime }),
      ...(req.untilTime === undefined ? {} : { until: req.untilTime }),
    });
    const federation = req.verify ? await op.federation() : undefined;
    const keys = federation === undefined ? undefined : withRetired(federation, op.nc);
    await using verifier =
      keys === undefined ? undefined : await startReportVerifier(req.workers, keys);
    await recordReplay(op, req, range);

    const progress = progressBar(io.stderr, { total: range.total });
    if (req.exporting && req.out !== undefined)
      return await exportAudit(op.jsm, req.out, range, progress, io);

    const file = req.out === undefined ? undefined : createWriteStream(req.out);
    if (file !== undefined && req.out !== undefined) guardOutput(file, req.out);
    const sink = file ?? io.stdout;
    if (req.format === 'csv') writeLine(sink, 'seq,time,subject,size,sha256,verified');
    const outcome = await replayMessages(op.jsm, req, range, verifier, sink, progress, io);
    if (file !== undefined && req.out !== undefined) await closeOut(file, req.out);
    return reportOutcome(io, req, range, outcome);
  },
});
