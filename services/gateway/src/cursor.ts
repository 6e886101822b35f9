import { ErrorCode, MosaicError } from '@mosaic/errors';

const PREFIX = 'a1:';

/** The opaque cursor that resumes a read at ALERTS sequence `seq`. */
export function encodeCursor(seq: number): string {
  return Buffer.from(`${PREFIX}${String(seq)}`).toString('base64url');
}

/**
 * The ALERTS sequence a cursor resumes at; ERR_QUERY_INVALID for anything the gateway did
 * not issue. A cursor names a stream sequence, never a time: sequences only grow and
 * ALERTS refuses deletes, so paging by them neither skips nor repeats an alert.
 */
export function decodeCursor(cursor: string, parameter = 'cursor'): number {
  const text = /^[A-Za-z0-9_-]{1,32}$/.test(cursor)
    ? Buffer.from(cursor, 'base64url').toString('utf8')
    : '';
  const m = /^a1:([1-9][0-9]{0,15})$/.exec(text);
  const seq = m === null ? NaN : Number(m[1]);
  if (!Number.isSafeInteger(seq))
    throw new MosaicError(
      ErrorCode.QueryInvalid,
      `${parameter} is not a cursor this gateway issued`,
      {
        details: { issues: [{ path: parameter, code: 'custom', message: 'not a gateway cursor' }] },
      },
    );
  return seq;
}
