import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { ErrorCode, MosaicError, isMosaicError } from '@mosaic/errors';
import { connectAgency, type AgencyClient, type PublishReply } from '@mosaic/sdk';
import { defineCommand, usageError } from '../command.ts';
import { ExitCode, exitCodeOf } from '../exit-codes.ts';
import { readInput, reportError, writeLine, type CliIo } from '../io.ts';
import { flag, integer, string } from '../options.ts';
import { progressBar } from '../progress.ts';

const DEFAULT_CONCURRENCY = 32;
const MAX_CONCURRENCY = 1024;

async function publishOne(agency: AgencyClient, input: Uint8Array, io: CliIo): Promise<ExitCode> {
  const reply = await agency.publish(input);
  writeLine(io.stdout, JSON.stringify(reply));
  if (reply.ok) return ExitCode.Ok;
  reportError(io.stderr, reply);
  return exitCodeOf(reply.code);
}

/**
 * Opens the NDJSON input once, as a stream: a FIFO or a process substitution (`<(cmd)`)
 * can be read only once. A regular file's size gives the progress a total (in bytes).
 */
async function openInput(
  source: string,
  io: CliIo,
): Promise<{ input: NodeJS.ReadableStream; bytes: number | undefined }> {
  if (source === '-') return { input: io.stdin, bytes: undefined };
  let handle;
  try {
    handle = await open(source, 'r');
    const stats = await handle.stat();
    return { input: handle.createReadStream(), bytes: stats.isFile() ? stats.size : undefined };
  } catch (cause) {
    await handle?.close();
    throw new MosaicError(ErrorCode.Io, `cannot read ${source}: ${(cause as Error).message}`, {
      details: { path: source },
      cause,
    });
  }
}

interface Outcome {
  line: number;
  reply: PublishReply | { ok: false; code: string; message: string; details?: unknown };
}

async function publishNdjson(
  agency: AgencyClient,
  source: string,
  concurrency: number,
  io: CliIo,
): Promise<ExitCode> {
  const { input, bytes } = await openInput(source, io);
  const lines = createInterface({ input, crlfDelay: Infinity });
  const progress = progressBar(io.stderr, {
    ...(bytes === undefined ? {} : { total: bytes }),
    of: 'bytes',
    label: 'published',
  });
  let bytesRead = 0;
  const done = new Map<number, Outcome>();
  const inFlight = new Set<Promise<void>>();
  let next = 0;
  let written = 0;
  let accepted = 0;
  let duplicates = 0;
  let rejected = 0;
  let unavailable: MosaicError | undefined;

  // Standard output gone: no further line is read; reports already sent stay published.
  let closed: MosaicError | undefined;

  // Replies are printed in input order: each waits until those before it are out.
  const flush = (): void => {
    if (closed !== undefined) return;
    try {
      print();
    } catch (err) {
      if (!isMosaicError(err) || err.code !== ErrorCode.OutputClosed) throw err;
      closed = err;
    }
  };
  const print = (): void => {
    for (let o = done.get(written); o !== undefined; o = done.get(written)) {
      done.delete(written);
      written++;
      writeLine(io.stdout, JSON.stringify(o.reply));
      if (o.reply.ok) {
        accepted++;
        if (o.reply.duplicate) duplicates++;
      } else if (o.reply.code !== ErrorCode.Unavailable) {
        rejected++;
        progress.clear();
        reportError(io.stderr, o.reply, `line ${o.line}: `);
      }
    }
    progress.update(written, bytesRead);
  };

  const submit = async (index: number, lineNo: number, text: string): Promise<void> => {
    let reply: Outcome['reply'];
    try {
      reply = await agency.publish(text);
    } catch (err) {
      if (!isMosaicError(err)) throw err;
      if (err.code === ErrorCode.Unavailable) unavailable ??= err;
      // Refused before it was sent (e.g. ERR_SCHEMA), or the hub could not be reached.
      reply = { ok: false, code: err.code, message: err.message };
      if (err.details !== undefined) reply.details = err.details;
    }
    done.set(index, { line: lineNo, reply });
    flush();
  };

  let lineNo = 0;
  for await (const text of lines) {
    lineNo++;
    bytesRead += Buffer.byteLength(text) + 1;
    if (text.trim() === '') continue;
    if (unavailable !== undefined || closed !== undefined) break;
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    const task = submit(next++, lineNo, text);
    inFlight.add(task);
    const settled = (): void => {
      inFlight.delete(task);
    };
    void task.then(settled, settled);
  }
  lines.close();
  // Stopped early: let go of the file or FIFO (standard input is not ours to close).
  if (source !== '-') (input as NodeJS.ReadableStream & { destroy(): void }).destroy();
  await Promise.all(inFlight);
  if (closed !== undefined) throw closed;
  progress.clear();
  const seconds = progress.elapsedSeconds();
  writeLine(
    io.stderr,
    `published ${written}: ${accepted} accepted` +
      ` (${duplicates} duplicates), ${rejected} rejected in ${seconds.toFixed(1)} s` +
      ` (${Math.round(progress.rate())}/s)`,
  );
  if (unavailable !== undefined) {
    reportError(io.stderr, unavailable);
    return exitCodeOf(unavailable.code);
  }
  return rejected > 0 ? ExitCode.Rejected : ExitCode.Ok;
}

export const publish = defineCommand({
  path: ['publish'],
  summary: 'sign reports and submit them to the hub',
  usage: 'Usage: mosaic publish --context <file> --key <private.jwk> [--ndjson] <report.json | ->',
  description: `Signs a report with the agency's key, submits it to the hub on the agency's NATS
connection and prints the hub's reply as JSON on stdout:
  {"ok":true,"reportId":"…","seq":42,"duplicate":false}
  {"ok":false,"code":"ERR_…","message":"…","details":{…}}
Submitting the same report again is safe: the reply says "duplicate": true. Transport
failures are retried a few times with the same bytes. Use - to read from standard input.

With --ndjson the input holds one report per line (empty lines are skipped). Reports are
published with at most --concurrency in flight; one reply is printed per report, in input
order; refused lines are listed on stderr with their line number, then a summary. The
input is read once, as it comes, so a pipe, a FIFO or <(command) works. When stderr is a
terminal a progress line (count and rate; for a regular file also the share read) is
drawn on it.`,
  options: {
    context: string({
      placeholder: '<file>',
      description: "the agency's context file (hub URL and NATS credentials)",
      required: true,
    }),
    key: string({ placeholder: '<file>', description: "the agency's private JWK", required: true }),
    ndjson: flag({ description: 'read one report per line' }),
    concurrency: integer({
      min: 1,
      max: MAX_CONCURRENCY,
      description: 'reports in flight with --ndjson',
      showDefault: String(DEFAULT_CONCURRENCY),
    }),
  },
  footer: `Examples:
  mosaic publish --context .mosaic/contexts/nl-police.json --key .mosaic/keys/nl-police.jwk report.json
  mosaic publish --context ctx.json --key key.jwk --ndjson --concurrency 64 reports.ndjson > replies.ndjson

Exit codes: 0 accepted (also a duplicate; with --ndjson: all accepted),
            1 rejected by the hub or refused before sending (error <code>: <message> on stderr),
            2 usage error, 3 hub unreachable or unreadable context/key file.`,
  positionals: { min: 1, max: 1 },
  async run({ values, positionals }, io) {
    const { context, key, ndjson } = values;
    const source = positionals[0] ?? '-';
    const concurrency = values.concurrency ?? DEFAULT_CONCURRENCY;
    if (!ndjson && values.concurrency !== undefined)
      throw usageError(publish, '--concurrency needs --ndjson');
    const input = ndjson ? undefined : await readInput(source, io);
    // A failure to connect or to reach the hub is reported like any other (exit 3).
    const agency = await connectAgency({ context, key });
    try {
      if (input === undefined) return await publishNdjson(agency, source, concurrency, io);
      return await publishOne(agency, input, io);
    } finally {
      await agency.close();
    }
  },
});
