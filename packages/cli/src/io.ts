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

export function writeLine(stream: NodeJS.WritableStream, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}
