import {
  Streams,
  parseAlertSubject,
  parseRejectionSubject,
  parseReportSubject,
  type Stream,
} from '@mosaic/protocol';
import type { JetStreamManager, StoredMsg } from '@nats-io/jetstream';

/** The range of a replay as given: exact sequences or storage times (RFC 3339). */
export interface ReplayBounds {
  fromSeq?: number;
  toSeq?: number;
  /** Messages stored at or after this time (inclusive). */
  since?: string;
  /** Messages stored before this time (exclusive). */
  until?: string;
}

/** A resolved replay range: sequences `from`…`to`, both inclusive; `total` = how many. */
export interface ReplayRange {
  from: number;
  to: number;
  total: number;
}

/** The first sequence stored at or after `time`, or undefined when none is. */
async function firstSeqAt(
  jsm: JetStreamManager,
  stream: string,
  time: string,
): Promise<number | undefined> {
  const m = await jsm.direct.getMessage(stream, { start_time: time });
  return m?.seq;
}

/**
 * Resolves a replay's bounds against the stream as it is now, once: messages stored
 * afterwards are not included. Without bounds, the whole stream; times are JetStream's
 * storage timestamps, not a report's `issuedAt`. An empty range has `from > to`, `total` 0.
 *
 * @example
 * ```ts
 * const { from, to } = await resolveReplayRange(op.jsm, 'REPORTS', { since: '2026-11-01T00:00:00Z' });
 * ```
 */
export async function resolveReplayRange(
  jsm: JetStreamManager,
  stream: string,
  bounds: ReplayBounds,
): Promise<ReplayRange> {
  const info = await jsm.streams.info(stream);
  let from = bounds.fromSeq ?? Math.max(1, info.state.first_seq);
  let to = Math.min(bounds.toSeq ?? info.state.last_seq, info.state.last_seq);
  if (bounds.since !== undefined) from = (await firstSeqAt(jsm, stream, bounds.since)) ?? to + 1;
  if (bounds.until !== undefined) {
    const first = await firstSeqAt(jsm, stream, bounds.until);
    if (first !== undefined) to = Math.min(to, first - 1);
  }
  return { from, to, total: Math.max(0, to - from + 1) };
}

/** What a replay selects within its range. */
export interface ReplaySelection {
  /** Reports: the issuer; alerts: the recipient; rejections: the submitting agency; audit: actor, issuer or a recipient. */
  agency?: string;
  /** Reports and alerts: the origin or a jurisdiction concerned. */
  jurisdiction?: string;
  /** Reports and alerts: the category. */
  category?: string;
}

const decoder = new TextDecoder();

/** The signed report inside a compact JWS (payload only, not verified: filtering). */
function payloadOf(jws: Uint8Array): {
  origin?: string;
  jurisdictions?: string[];
  category?: string;
} {
  const text = decoder.decode(jws);
  const part = text.split('.')[1] ?? '';
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as ReturnType<
      typeof payloadOf
    >;
  } catch (err) {
    if (err instanceof SyntaxError) return {};
    throw err;
  }
}

/**
 * True when a stored message of `stream` is selected: agency by subject (audit: by entry),
 * jurisdiction and category by the signed report's payload, read without verifying it.
 *
 * @example
 * ```ts
 * for await (const m of readStream(op.jsm, 'ALERTS')) if (replaySelects('ALERTS', m, { agency: 'nl-police' })) …
 * ```
 */
export function replaySelects(stream: Stream, m: StoredMsg, s: ReplaySelection): boolean {
  if (stream === Streams.Reports || stream === Streams.Alerts) {
    const agency =
      stream === Streams.Reports
        ? parseReportSubject(m.subject)?.issuer
        : parseAlertSubject(m.subject)?.recipient;
    if (s.agency !== undefined && agency !== s.agency) return false;
    if (s.jurisdiction === undefined && s.category === undefined) return true;
    const report = payloadOf(m.data);
    if (s.category !== undefined && report.category !== s.category) return false;
    if (
      s.jurisdiction !== undefined &&
      report.origin !== s.jurisdiction &&
      !(report.jurisdictions ?? []).includes(s.jurisdiction)
    )
      return false;
    return true;
  }
  if (s.agency === undefined) return true;
  if (stream === Streams.Rejections) return parseRejectionSubject(m.subject)?.agency === s.agency;
  const entry = JSON.parse(decoder.decode(m.data)) as {
    actor?: { id?: string };
    subject?: { issuer?: string };
    recipients?: unknown[];
  };
  return (
    entry.actor?.id === s.agency ||
    entry.subject?.issuer === s.agency ||
    (entry.recipients ?? []).some(
      (r) =>
        r === s.agency ||
        (typeof r === 'object' && r !== null && 'agency' in r && r.agency === s.agency),
    )
  );
}
