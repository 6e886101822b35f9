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

/** A position among the STIX objects of a collection: an alert, and how many of its objects were sent. */
export interface ObjectCursor {
  seq: number;
  skip: number;
}

/** The opaque TAXII cursor that resumes at object `skip` of the alert at ALERTS sequence `seq`. */
export function encodeObjectCursor(at: ObjectCursor): string {
  return Buffer.from(`t1:${String(at.seq)}.${String(at.skip)}`).toString('base64url');
}

/**
 * The position a TAXII cursor resumes at; ERR_QUERY_INVALID for anything the gateway did not
 * issue. An alerts cursor (`encodeCursor`) resumes at the start of its alert.
 */
export function decodeObjectCursor(cursor: string, parameter: string): ObjectCursor {
  const text = /^[A-Za-z0-9_-]{1,48}$/.test(cursor)
    ? Buffer.from(cursor, 'base64url').toString('utf8')
    : '';
  const m = /^t1:([1-9][0-9]{0,15})\.(0|[1-9][0-9]{0,5})$/.exec(text);
  if (m === null) return { seq: decodeCursor(cursor, parameter), skip: 0 };
  const seq = Number(m[1]);
  if (!Number.isSafeInteger(seq)) return { seq: decodeCursor(cursor, parameter), skip: 0 };
  return { seq, skip: Number(m[2]) };
}
