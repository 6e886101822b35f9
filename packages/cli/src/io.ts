import { readFile } from 'node:fs/promises';
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
const guarded = new WeakSet<NodeJS.WritableStream>();

/** The reader went away: EPIPE from the OS, or a write after the stream was torn down. */
const CLOSED: ReadonlySet<string> = new Set([
  'EPIPE',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END',
]);

function writeError(err: Error): MosaicError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined && CLOSED.has(code))
    return new MosaicError(ErrorCode.OutputClosed, 'standard output was closed by its reader', {
      cause: err,
    });
  return new MosaicError(ErrorCode.Io, `cannot write to standard output: ${err.message}`, {
    details: { path: '-' },
    cause: err,
  });
}

/**
 * Turns a failed write to `stream` (EPIPE when its reader went away, as in `| head -1`)
 * from an unhandled 'error' event — a crash with a stack trace — into a recorded state:
 * every later `writeLine` / `writeOut` to it throws ERR_OUTPUT_CLOSED (or ERR_IO for
 * another failure), so the command stops at once. The listener stays: a write's EPIPE may
 * surface after the command returned.
 */
export function guardOutput(stream: NodeJS.WritableStream): void {
  if (guarded.has(stream)) return;
  guarded.add(stream);
  stream.on('error', (err: Error) => {
    if (!failures.has(stream)) failures.set(stream, err);
  });
}

/** Throws when a guarded stream already failed a write. */
function checkOpen(stream: NodeJS.WritableStream): void {
  const failed = failures.get(stream);
  if (failed !== undefined) throw writeError(failed);
}

/** Writes one line; throws ERR_OUTPUT_CLOSED once an earlier write found the reader gone. */
export function writeLine(stream: NodeJS.WritableStream, text: string): void {
  writeChunk(stream, text.endsWith('\n') ? text : `${text}\n`);
}

/** Writes text or exact bytes as they are; throws like `writeLine`. */
export function writeChunk(stream: NodeJS.WritableStream, data: string | Uint8Array): void {
  checkOpen(stream);
  stream.write(data);
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
      if (err) reject(writeError(err));
      else resolve();
    });
  });
}
