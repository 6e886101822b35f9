import { createHash } from 'node:crypto';
import type { ErrorCode } from '@mosaic/errors';

/** How much of a rejected submission REJECTIONS keeps. */
export const SUBMISSION_CAP_BYTES = 64 * 1024;

/** Longest `details` (as JSON) carried in a reply or a rejection record. */
export const DETAILS_CAP_CHARS = 16 * 1024;

/** What REJECTIONS holds for each rejected submission, on `mosaic.rejections.<agency>`. */
export interface RejectionRecord {
  code: ErrorCode;
  message: string;
  details?: unknown;
  /** The agency whose connection submitted it (the subject's last token). */
  agency: string;
  receivedAt: string;
  /** The reply subject the submission carried, if any. */
  replySubject?: string;
  /** The report id, when the submission got far enough to be verified. */
  reportId?: string;
  submission: {
    /** Total size in bytes. */
    size: number;
    /** SHA-256 of the whole submission, hex. */
    sha256: string;
    /** `utf8` when the kept part is valid UTF-8, else `base64`. */
    encoding: 'utf8' | 'base64';
    /** True when only the first SUBMISSION_CAP_BYTES are kept. */
    truncated: boolean;
    data: string;
  };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function keptPart(data: Uint8Array): { encoding: 'utf8' | 'base64'; data: string } {
  const head = data.subarray(0, SUBMISSION_CAP_BYTES);
  try {
    return { encoding: 'utf8', data: strictUtf8.decode(head) };
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    return {
      encoding: 'base64',
      data: Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('base64'),
    };
  }
}

/** `details`, or a stub saying they were too large, so a record always fits in a message. */
export function capDetails(details: unknown): unknown {
  if (details === undefined) return undefined;
  const json = JSON.stringify(details);
  return json.length <= DETAILS_CAP_CHARS
    ? details
    : { truncated: true, size: json.length, head: json.slice(0, 1024) };
}

export function rejectionRecord(input: {
  code: ErrorCode;
  message: string;
  details: unknown;
  agency: string;
  receivedAt: Date;
  replySubject: string | undefined;
  reportId?: string | undefined;
  data: Uint8Array;
}): RejectionRecord {
  const { data } = input;
  const record: RejectionRecord = {
    code: input.code,
    message: input.message,
    agency: input.agency,
    receivedAt: input.receivedAt.toISOString(),
    submission: {
      size: data.byteLength,
      sha256: createHash('sha256').update(data).digest('hex'),
      truncated: data.byteLength > SUBMISSION_CAP_BYTES,
      ...keptPart(data),
    },
  };
  const details = capDetails(input.details);
  if (details !== undefined) record.details = details;
  if (input.replySubject !== undefined) record.replySubject = input.replySubject;
  if (input.reportId !== undefined) record.reportId = input.reportId;
  return record;
}
