import { open } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { ErrorCode, MosaicError, isMosaicError } from '@mosaic/errors';
import { parseJson } from '@mosaic/contract';
import { isErrnoException } from './fs-error.ts';

/**
 * Reads and parses a small JSON key file with the hardened parser, handing its stat (of the
 * opened file, so it cannot be swapped between check and read) to `check` first.
 * Every failure is ERR_KEY_FILE naming the path.
 */
export async function readKeyJson(
  path: string,
  maxBytes: number,
  check: (stats: Stats) => void,
): Promise<unknown> {
  let bytes: Uint8Array;
  try {
    const handle = await open(path, 'r');
    try {
      const stats = await handle.stat();
      if (!stats.isFile())
        throw new MosaicError(ErrorCode.KeyFile, `${path}: not a regular file`, {
          details: { path },
        });
      if (stats.size > maxBytes)
        throw new MosaicError(
          ErrorCode.KeyFile,
          `${path}: larger than ${maxBytes} bytes, not a key file`,
          {
            details: { path, limit: maxBytes },
          },
        );
      check(stats);
      bytes = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (!isErrnoException(err)) throw err;
    throw new MosaicError(ErrorCode.KeyFile, `${path}: cannot be read (${err.code})`, {
      details: { path },
      cause: err,
    });
  }
  try {
    return parseJson(bytes, { maxBytes });
  } catch (err) {
    if (!isMosaicError(err)) throw err;
    throw new MosaicError(ErrorCode.KeyFile, `${path}: not valid JSON (${err.code})`, {
      details: { path },
      cause: err,
    });
  }
}
