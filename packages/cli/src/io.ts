import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { ErrorCode, MosaicError } from '@mosaic/errors';

/** Streams a command reads and writes; tests pass their own. */
export interface CliIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Large enough for any input the parsers accept; they enforce the real limits. */
const MAX_INPUT_BYTES = 4 * 1024 * 1024;

/** Reads a file argument, or standard input when it is `-`, as bytes. */
export async function readInput(arg: string, io: CliIo): Promise<Uint8Array> {
  if (arg === '-') return readStream(io.stdin);
  try {
    return await readFile(arg);
  } catch (cause) {
    throw new MosaicError(ErrorCode.Io, `cannot read ${arg}: ${(cause as Error).message}`, {
      details: { path: arg },
      cause,
    });
  }
}

async function readStream(stream: NodeJS.ReadableStream): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    total += buf.length;
    if (total > MAX_INPUT_BYTES) {
      throw new MosaicError(
        ErrorCode.PayloadTooLarge,
        `standard input exceeds ${MAX_INPUT_BYTES} bytes`,
        {
          details: { limit: MAX_INPUT_BYTES },
        },
      );
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

/** Why a guarded stream stopped taking writes, as its 'error' event said. */
const failures = new WeakMap<NodeJS.WritableStream, Error>();
/** What a guarded stream is called in messages: standard output or a file's path. */
const names = new WeakMap<NodeJS.WritableStream, string>();
const guarded = new WeakSet<NodeJS.WritableStream>();

/** The reader went away: EPIPE from the OS, or a write after the stream was torn down. */
const CLOSED: ReadonlySet<string> = new Set([
  'EPIPE',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END',
]);

function writeError(stream: NodeJS.WritableStream, err: Error): MosaicError {
  const name = names.get(stream);
  const code = (err as NodeJS.ErrnoException).code;
  if (name === undefined && code !== undefined && CLOSED.has(code))
    return new MosaicError(ErrorCode.OutputClosed, 'standard output was closed by its reader', {
      cause: err,
    });
  return new MosaicError(
    ErrorCode.Io,
    `cannot write to ${name ?? 'standard output'}: ${err.message}`,
    { details: { path: name ?? '-' }, cause: err },
  );
}

/**
 * Turns a failed write to `stream` (EPIPE when its reader went away, as in `| head -1`;
 * for a file, named by `path`, any failure is ERR_IO)
 * from an unhandled 'error' event — a crash with a stack trace — into a recorded state:
 * every later `writeLine` / `writeOut` to it throws ERR_OUTPUT_CLOSED (or ERR_IO for
 * another failure), so the command stops at once. The listener stays: a write's EPIPE may
 * surface after the command returned.
 */
export function guardOutput(stream: NodeJS.WritableStream, path?: string): void {
  if (guarded.has(stream)) return;
  guarded.add(stream);
  if (path !== undefined) names.set(stream, path);
  stream.on('error', (err: Error) => {
    if (!failures.has(stream)) failures.set(stream, err);
  });
}

/** Throws when a guarded stream already failed a write. */
function checkOpen(stream: NodeJS.WritableStream): void {
  const failed = failures.get(stream);
  if (failed !== undefined) throw writeError(stream, failed);
}

/** Writes one line; throws ERR_OUTPUT_CLOSED once an earlier write found the reader gone. */
export function writeLine(stream: NodeJS.WritableStream, text: string): void {
  writeChunk(stream, text.endsWith('\n') ? text : `${text}\n`);
}

/**
 * Writes text or exact bytes as they are; throws like `writeLine`. Returns false when the
 * stream's buffer is full: a caller that writes much should then await `drained`.
 */
export function writeChunk(stream: NodeJS.WritableStream, data: string | Uint8Array): boolean {
  checkOpen(stream);
  return stream.write(data);
}

/**
 * Resolves at once unless the stream's buffer is full, else once it drained: so output
 * for a reader that lags (a file on a slow disk, a pipe read slowly) waits in the producer,
 * which stops reading, instead of piling up in memory. Throws like `writeLine` when the
 * stream failed or was torn down, before or instead of draining (a stream torn down without
 * an error says so only by 'close', which every Node stream emits unless made with
 * `emitClose: false`).
 */
export async function drained(stream: NodeJS.WritableStream): Promise<void> {
  const writable = stream as Partial<Writable>;
  if (writable.writableNeedDrain === true && writable.destroyed !== true)
    await new Promise<void>((resolve) => {
      const done = (): void => {
        stream.off('drain', done);
        stream.off('close', done);
        stream.off('error', done);
        resolve();
      };
      stream.on('drain', done);
      stream.on('close', done);
      stream.on('error', done);
    });
  checkOpen(stream);
  if (writable.destroyed === true)
    throw writeError(
      stream,
      Object.assign(new Error('the stream was closed'), { code: 'ERR_STREAM_DESTROYED' }),
    );
}

/**
 * Writes one line and resolves once it is handed to the OS (the write callback), so what
 * follows — an acknowledgement — happens only after the line was written. Rejects with
 * ERR_OUTPUT_CLOSED when the reader went away.
 */
export function writeOut(stream: NodeJS.WritableStream, text: string): Promise<void> {
  checkOpen(stream);
  return new Promise((resolve, reject) => {
    stream.write(text.endsWith('\n') ? text : `${text}\n`, (err) => {
      if (err) reject(writeError(stream, err));
      else resolve();
    });
  });
}

function issuesOf(details: unknown): readonly { path?: string; message?: string }[] {
  const issues = (details as { issues?: unknown } | null | undefined)?.issues;
  return Array.isArray(issues) ? (issues as { path?: string; message?: string }[]) : [];
}

/**
 * Writes a failure as every command reports it: `error <code>: <message>`, then one line per
 * entry of `details.issues`, whatever the code (`  <path>: <message>`, `(root)` for the value
 * itself). `prefix` leads the first line (e.g. `line 3: `).
 */
export function reportError(
  stream: NodeJS.WritableStream,
  err: { code: string; message: string; details?: unknown },
  prefix = '',
): void {
  writeLine(stream, `${prefix}error ${err.code}: ${err.message}`);
  for (const issue of issuesOf(err.details))
    writeLine(
      stream,
      `  ${issue.path === undefined || issue.path === '' ? '(root)' : issue.path}: ${issue.message ?? ''}`,
    );
}

function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Checks, without creating anything, that `path` can be written: its directory exists and
 * is writable, and the path is not a directory nor a read-only file. Commands call it
 * before they record or start work, so a typo in `--out` is ERR_IO naming the path (exit
 * 3), not a failure halfway with nothing written.
 */
export async function checkOutputPath(path: string): Promise<void> {
  const fail = (problem: string, cause?: unknown): MosaicError =>
    new MosaicError(ErrorCode.Io, `cannot write ${path}: ${problem}`, {
      details: { path },
      ...(cause === undefined ? {} : { cause }),
    });
  const dir = dirname(path);
  let dirStats;
  try {
    dirStats = await stat(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR')
      throw fail(`the directory ${dir} does not exist`, err);
    throw fail((err as Error).message, err);
  }
  if (!dirStats.isDirectory()) throw fail(`${dir} is not a directory`);
  let target;
  try {
    target = await stat(path);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw fail((err as Error).message, err);
  }
  if (target?.isDirectory() === true) throw fail('it is a directory');
  try {
    await access(target === undefined ? dir : path, constants.W_OK);
  } catch (err) {
    if (errnoCode(err) !== 'EACCES' && errnoCode(err) !== 'EPERM' && errnoCode(err) !== 'EROFS')
      throw err;
    throw fail(target === undefined ? `the directory ${dir} is not writable` : 'not writable', err);
  }
}
