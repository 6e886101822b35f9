import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { readAuditCheckpoints, readStream } from '@mosaic/protocol';
import { decodeEntry, writeAuditExport, type AuditLogItem } from '@mosaic/audit-log';
import { ErrorCode, MosaicError, isMosaicError } from '@mosaic/errors';
import { Streams, type Stream } from '@mosaic/protocol';
import { staticRegistryView, type Federation } from '@mosaic/federation';
import {
  connectOperator,
  parseTime,
  replaySelects,
  resolveReplayRange,
  type ReplaySelection,
} from '@mosaic/operator';
import { keysFromHub } from '@mosaic/sdk';
import { verifyReport, type KeyLookup } from '@mosaic/signing';
import type { StoredMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { requireOption, type Command, type ParsedArgs } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { checkOutputPath, guardOutput, writeLine } from '../io.ts';
import { progressBar } from '../progress.ts';

const STREAMS: Record<string, Stream> = {
  reports: Streams.Reports,
  alerts: Streams.Alerts,
  rejections: Streams.Rejections,
  audit: Streams.Audit,
};

/** Verifications in flight while the output stays in stream order. */
const VERIFY_WINDOW = 64;

function usage(message: string): MosaicError {
  return new MosaicError(ErrorCode.Usage, `mosaic replay: ${message} (see --help)`);
}

function seqOption(args: ParsedArgs, name: string): number | undefined {
  const value = args.values[name];
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1)
    throw usage(`--${name} must be a stream sequence (a positive integer)`);
  return n;
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

export const replay: Command = {
  path: ['replay'],
  summary: 'replay a stream in order, optionally re-verifying every signature (operator, audited)',
  help: `Usage: mosaic replay --context <operator.json> --stream reports|alerts|rejections|audit
                     [--since <time> | --from-seq <n>] [--until <time> | --to-seq <n>]
                     [--agency <id>] [--jurisdiction <cc>] [--category <c>] [--verify]
                     [--format ndjson|csv] [--out <file>] --reason "<justification>"

Writes the selected messages of a hub stream in stream order, one per line, to stdout
(or --out). The replay is itself recorded in the audit trail before any message is
written (operator.replay, or operator.export for --stream audit --out, with the reason,
the stream, the resolved sequence range and the filters).

Boundaries:
  --from-seq / --to-seq   exact stream sequences, both inclusive
  --since <time>          messages JetStream stored at or after the time (inclusive)
  --until <time>          messages stored before the time (exclusive)
  Times are the stream's storage timestamps (RFC 3339 or "now"), not a report's issuedAt;
  the range is resolved once at the start, so messages stored meanwhile are not included.

Filters (applied within the range):
  --agency <id>        reports: the issuer; alerts: the recipient; rejections: the
                       submitting agency; audit: actor, issuer or a recipient
  --jurisdiction <cc>  reports and alerts: the origin or a jurisdiction concerned
  --category <c>       reports and alerts: the category

Output: NDJSON {"stream","seq","time","subject", "jws" (reports, alerts) | "record"
(rejections) | "entry" (audit), "verified"?} or CSV seq,time,subject,size,sha256,verified.
With --stream audit and --out, the file is an audit export (entries and signed
checkpoints) that "mosaic audit verify --export <file> --jwks <hub.jwks>" checks offline.

A progress bar (count of total, rate, ETA) is drawn on stderr when it is a terminal.

Options:
  --context <file>   the operator's context file (<data-dir>/contexts/operator.json)
  --stream <s>       reports, alerts, rejections or audit
  --verify           reports and alerts: verify every signature with the key valid at the
                     time the message was stored (a key revoked later still verifies
                     reports stored before its revocation)
  --format <f>       ndjson (default) or csv
  --out <file>       write there instead of stdout
  --reason <text>    why (required; kept in the audit entry)
  -h, --help         show this help

Examples:
  mosaic replay --context .mosaic/contexts/operator.json --stream reports --verify \\
      --since 2026-11-01T00:00:00Z --reason "case 2026/118, disclosure request" > r.ndjson
  mosaic replay --context .mosaic/contexts/operator.json --stream audit \\
      --out audit.export --reason "quarterly audit"

Exit codes: 0 replayed (and verified), 1 a message failed verification (the first
failing sequence is named), 2 usage error (also: no --reason), 3 context or hub
unavailable, permission denied, or --out cannot be written (checked before the replay is
recorded: its directory must exist).`,
  options: {
    context: { type: 'string' },
    stream: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    'from-seq': { type: 'string' },
    'to-seq': { type: 'string' },
    agency: { type: 'string' },
    jurisdiction: { type: 'string' },
    category: { type: 'string' },
    verify: { type: 'boolean' },
    format: { type: 'string' },
    out: { type: 'string' },
    reason: { type: 'string' },
  },
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const context = requireOption(args, 'context', this);
    const streamName = requireOption(args, 'stream', this);
    const justification = requireOption(args, 'reason', this);
    const stream = STREAMS[streamName];
    if (stream === undefined) throw usage('--stream must be reports, alerts, rejections or audit');
    const format = (args.values['format'] as string | undefined) ?? 'ndjson';
    if (format !== 'ndjson' && format !== 'csv') throw usage('--format must be ndjson or csv');
    const fromSeq = seqOption(args, 'from-seq');
    const toSeq = seqOption(args, 'to-seq');
    const since = args.values['since'] as string | undefined;
    const until = args.values['until'] as string | undefined;
    if (since !== undefined && fromSeq !== undefined)
      throw usage('--since and --from-seq exclude each other');
    if (until !== undefined && toSeq !== undefined)
      throw usage('--until and --to-seq exclude each other');
    const sinceTime = since === undefined ? undefined : parseTime(since, '--since');
    const untilTime = until === undefined ? undefined : parseTime(until, '--until');
    const selection: ReplaySelection = {};
    for (const key of ['agency', 'jurisdiction', 'category'] as const) {
      const value = args.values[key];
      if (typeof value === 'string') selection[key] = value;
    }
    const reportLike = stream === Streams.Reports || stream === Streams.Alerts;
    if (!reportLike && (selection.jurisdiction !== undefined || selection.category !== undefined))
      throw usage('--jurisdiction and --category apply to reports and alerts');
    const verify = args.values['verify'] === true;
    if (verify && !reportLike)
      throw usage('--verify applies to reports and alerts (the audit log: mosaic audit verify)');
    const out = args.values['out'] as string | undefined;
    const exporting = stream === Streams.Audit && out !== undefined;

    // Before anything is recorded: an export that cannot be written must not be on the record.
    if (out !== undefined) await checkOutputPath(out);

    await using op = await connectOperator(context);
    const jsm = op.jsm;
    const { from, to, total } = await resolveReplayRange(jsm, stream, {
      fromSeq,
      toSeq,
      since: sinceTime,
      until: untilTime,
    });
    const federation = verify ? await op.federation() : undefined;
    const keys = federation === undefined ? undefined : withRetired(federation, op.nc);

    // Recorded before anything is disclosed: an aborted replay is still on the record.
    await op.record(exporting ? 'operator.export' : 'operator.replay', {
      justification,
      details: {
        stream,
        fromSeq: from,
        toSeq: to,
        ...(sinceTime === undefined ? {} : { since: sinceTime }),
        ...(untilTime === undefined ? {} : { until: untilTime }),
        ...selection,
        verify,
        format: exporting ? 'audit-export' : format,
        ...(out === undefined ? {} : { out }),
      },
    });

    const progress = progressBar(io.stderr, total);
    if (exporting) {
      const entries: AuditLogItem[] = [];
      for await (const m of readStream(jsm, stream, { from, to })) {
        entries.push({ index: m.seq - 1, seq: m.seq, data: m.data });
        progress.tick();
      }
      const checkpoints = (await readAuditCheckpoints(jsm)).filter((c) => c.size <= to);
      await writeAuditExport(out, { entries, checkpoints });
      progress.done();
      writeLine(
        io.stderr,
        `exported ${entries.length} entries and ${checkpoints.length} checkpoints to ${out}`,
      );
      return ExitCode.Ok;
    }

    const sink = out === undefined ? io.stdout : createWriteStream(out);
    if (out !== undefined) guardOutput(sink, out);
    if (format === 'csv') writeLine(sink, 'seq,time,subject,size,sha256,verified');
    let written = 0;
    let firstFailure: { seq: number; code: string; message: string } | undefined;
    let failures = 0;
    const emit = (m: StoredMsg, verified: boolean | undefined): void => {
      const time = m.time.toISOString();
      if (format === 'csv') {
        const sha = createHash('sha256').update(m.data).digest('hex');
        writeLine(
          sink,
          [
            String(m.seq),
            time,
            csvField(m.subject),
            String(m.data.byteLength),
            sha,
            verified === undefined ? '' : String(verified),
          ].join(','),
        );
      } else {
        const body = reportLike
          ? { jws: decoder.decode(m.data) }
          : stream === Streams.Audit
            ? { entry: decodeEntry(m.data) }
            : { record: JSON.parse(decoder.decode(m.data)) as unknown };
        writeLine(
          sink,
          JSON.stringify({
            stream,
            seq: m.seq,
            time,
            subject: m.subject,
            ...body,
            ...(verified === undefined ? {} : { verified }),
          }),
        );
      }
      written++;
    };
    const check = async (m: StoredMsg): Promise<boolean> => {
      if (keys === undefined) return true;
      try {
        await verifyReport(m.data, keys, { acceptRevokedBefore: m.time });
        return true;
      } catch (err) {
        if (!isMosaicError(err)) throw err;
        failures++;
        writeLine(io.stderr, `seq ${m.seq}: ${err.code}: ${err.message}`);
        if (firstFailure === undefined || m.seq < firstFailure.seq)
          firstFailure = { seq: m.seq, code: err.code, message: err.message };
        return false;
      }
    };
    const window: { m: StoredMsg; ok: Promise<boolean> }[] = [];
    const flush = async (limit: number): Promise<void> => {
      while (window.length > limit) {
        const head = window.shift();
        if (head === undefined) break;
        emit(head.m, verify ? await head.ok : undefined);
      }
    };
    const started = performance.now();
    for await (const m of readStream(jsm, stream, { from, to })) {
      progress.tick();
      if (!replaySelects(stream, m, selection)) continue;
      window.push({ m, ok: check(m) });
      await flush(VERIFY_WINDOW);
    }
    await flush(0);
    progress.done();
    if (sink !== io.stdout) {
      (sink as NodeJS.WritableStream & { end(): void }).end();
      try {
        await finished(sink as NodeJS.WritableStream);
      } catch (cause) {
        throw new MosaicError(
          ErrorCode.Io,
          `cannot write ${String(out)}: ${(cause as Error).message}`,
          {
            details: { path: out },
            cause,
          },
        );
      }
    }
    const seconds = (performance.now() - started) / 1000;
    writeLine(
      io.stderr,
      `replayed ${written} of ${total} messages (${stream} seq ${from}..${to})` +
        (verify ? `, ${written - failures} verified` : '') +
        ` in ${seconds.toFixed(1)} s (${Math.round(total / Math.max(seconds, 1e-3))}/s)`,
    );
    if (firstFailure !== undefined) {
      writeLine(
        io.stderr,
        `error ${firstFailure.code}: ${failures} message(s) failed verification; the first is ${stream} seq ${firstFailure.seq}: ${firstFailure.message}`,
      );
      return ExitCode.Rejected;
    }
    return ExitCode.Ok;
  },
};
