import { readFile } from 'node:fs/promises';
import {
  MerkleLog,
  auditCoverage,
  leafHash,
  parseCheckpoint,
  proveInclusion,
  type AuditLogItem,
  type ProofFile,
} from '@mosaic/audit-log';
import {
  AUDIT_CHECKPOINTS_STREAM,
  HIT_ALERT_KIND,
  Streams,
  TREE_SIZE_HEADER,
  parseAlertSubject,
  readAuditCheckpoints,
  readSequences,
  readStream,
} from '@mosaic/protocol';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import {
  JetStreamApiCodes,
  JetStreamApiError,
  PubHeaders,
  type JetStreamManager,
} from '@nats-io/jetstream';

const hexLeaf = (data: Uint8Array): string => Buffer.from(leafHash(data)).toString('hex');

/** A stream the verification needs could not be read: the trail is not intact. */
function unreadable(stream: string, err: unknown): MosaicError {
  const missing = err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound;
  return new MosaicError(
    ErrorCode.AuditInvalid,
    missing
      ? `stream ${stream} does not exist: it was deleted (or never created); the audit trail cannot be checked`
      : `cannot read ${stream}: ${err instanceof Error ? err.message : String(err)}`,
    { details: { stream, problem: missing ? 'stream-missing' : 'unreadable' }, cause: err },
  );
}

/**
 * How verification reads a stream: through its leader, so that the verdict does not depend
 * on which replica answered (a replica whose copy lost a message would otherwise pass or
 * fail the check by chance).
 */
const fromLeader = { leader: true } as const;

/**
 * Every message of the audit stream (default AUDIT, or a copy), in order, as log items, as
 * the stream leader returns them. A
 * sequence the stream counts but cannot return, and a message whose msg id is not its leaf
 * hash (the auditor publishes each entry under it; required on the hub's own AUDIT,
 * checked where present on a copy), are named: ERR_AUDIT_INVALID, as is a missing or
 * unreadable stream.
 *
 * @example
 * ```ts
 * const entries = await readAuditEntries(op.jsm);
 * const result = await verifyAuditLog(entries, checkpoints, keys);
 * ```
 */
export async function readAuditEntries(
  jsm: JetStreamManager,
  stream: string = Streams.Audit,
): Promise<AuditLogItem[]> {
  const requireMsgId = stream === Streams.Audit;
  const out: AuditLogItem[] = [];
  const bad = (seq: number, problem: string, message: string): MosaicError =>
    new MosaicError(
      ErrorCode.AuditInvalid,
      `the audit log is not intact at entry ${seq - 1} (${stream} seq ${seq}): ${problem}: ${message}`,
      { details: { index: seq - 1, seq, problem } },
    );
  const holes: number[] = [];
  try {
    for await (const { seq, msg } of readSequences(jsm, stream, fromLeader)) {
      // Every one is named: what a damaged store lost, exactly.
      if (msg === undefined) {
        holes.push(seq);
        continue;
      }
      const id = msg.header.get(PubHeaders.MsgIdHdr);
      if ((requireMsgId || id !== '') && id !== hexLeaf(msg.data))
        throw bad(
          seq,
          'foreign',
          `${stream} seq ${seq} is a foreign message: its msg id ${JSON.stringify(id)} is not its leaf hash, so the auditor did not write it`,
        );
      out.push({ index: seq - 1, seq, data: msg.data });
    }
  } catch (err) {
    if (err instanceof MosaicError) throw err;
    throw unreadable(stream, err);
  }
  const first = holes[0];
  if (first !== undefined) {
    const error = bad(first, 'unreadable', notReturned(stream, holes));
    throw new MosaicError(error.code, error.message, {
      details: { index: first - 1, seq: first, seqs: holes, problem: 'unreadable' },
    });
  }
  return out;
}

/**
 * What the leader of `stream` counts but cannot return, for an error message: `REPORTS seq
 * 37 is counted …`, `AUDIT seqs 73-107 are counted …`.
 */
export function notReturned(stream: string, seqs: readonly number[]): string {
  const one = seqs.length === 1;
  return `${stream} ${one ? 'seq' : 'seqs'} ${namedSeqs(seqs)} ${one ? 'is' : 'are'} counted by the stream but its leader cannot return ${one ? 'it' : 'them'} (lost or damaged in the store)`;
}

/**
 * The REPORTS sequences the stream counts but its leader cannot return (none: an empty
 * list). For naming what a damaged store lost when the audit log itself cannot be read.
 */
export async function unreadableReports(jsm: JetStreamManager): Promise<number[]> {
  const holes: number[] = [];
  try {
    for await (const { seq, msg } of readSequences(jsm, Streams.Reports, fromLeader))
      if (msg === undefined) holes.push(seq);
  } catch (err) {
    throw unreadable(Streams.Reports, err);
  }
  return holes;
}

/** The stored checkpoints with their sequences; a hole or a missing stream is named. */
async function readCheckpointsStrict(
  jsm: JetStreamManager,
  stream: string,
): Promise<{ seq: number; size: number; text: string }[]> {
  const out: { seq: number; size: number; text: string }[] = [];
  try {
    for await (const { seq, msg } of readSequences(jsm, stream, fromLeader)) {
      if (msg === undefined)
        throw new MosaicError(
          ErrorCode.AuditInvalid,
          `${stream} seq ${seq} is counted by the stream but its leader cannot return it (lost or damaged in the store)`,
          { details: { stream, seq, problem: 'unreadable' } },
        );
      out.push({
        seq,
        size: Number(msg.header.get(TREE_SIZE_HEADER) || NaN),
        text: new TextDecoder().decode(msg.data),
      });
    }
  } catch (err) {
    if (err instanceof MosaicError) throw err;
    throw unreadable(stream, err);
  }
  return out;
}

/** The checkpoint file's text, or undefined when there is none. */
async function readCheckpointFile(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return undefined;
    throw new MosaicError(ErrorCode.Io, `cannot read ${path}: ${(err as Error).message}`, {
      details: { path },
      cause: err,
    });
  }
}

/** The checkpoints to verify an audit log against, and where each one came from. */
export interface AuditCheckpoints {
  /** Signed checkpoint texts, in stream order, then the checkpoint file's when it counts. */
  checkpoints: string[];
  /** One per checkpoint: `AUDIT_CHECKPOINTS seq 7`, or `the checkpoint file <path>`. */
  origins: string[];
}

/**
 * Every checkpoint of the checkpoints stream (default AUDIT_CHECKPOINTS), each with its
 * origin, then the hub's copy of its latest checkpoint (`checkpointFile`, usually
 * `<data-dir>/audit/checkpoint`) unless it is smaller than the largest stored one: the copy
 * outlives a deleted or replaced stream, so a truncated log is still found. A missing file
 * is no error; a hole in the stream or a missing stream is (ERR_AUDIT_INVALID).
 *
 * @example
 * ```ts
 * const { checkpoints, origins } = await readLiveCheckpoints(op.jsm, {
 *   checkpointFile: '.mosaic/audit/checkpoint',
 * });
 * ```
 */
export async function readLiveCheckpoints(
  jsm: JetStreamManager,
  options: { stream?: string; checkpointFile?: string } = {},
): Promise<AuditCheckpoints> {
  const stream = options.stream ?? AUDIT_CHECKPOINTS_STREAM;
  const stored = await readCheckpointsStrict(jsm, stream);
  const checkpoints = stored.map((c) => c.text);
  const origins = stored.map((c) => `${stream} seq ${c.seq}`);
  const file = options.checkpointFile;
  const text = file === undefined ? undefined : await readCheckpointFile(file);
  if (text !== undefined) {
    let size = Number.NaN;
    try {
      size = parseCheckpoint(text).size;
    } catch (err) {
      if (!(err instanceof MosaicError)) throw err;
    }
    const largest = Math.max(0, ...stored.map((c) => c.size).filter(Number.isFinite));
    if (!(size < largest)) {
      checkpoints.push(text);
      origins.push(`the checkpoint file ${String(file)}`);
    }
  }
  return { checkpoints, origins };
}

/**
 * Sequences for a message, every one, as ascending runs: `30`, `73-107`, `5, 9-12`. Up to
 * 100 runs, then how many sequences more.
 */
function namedSeqs(seqs: readonly number[]): string {
  const runs: string[] = [];
  let shown = 0;
  for (let i = 0; i < seqs.length && runs.length < 100;) {
    let j = i;
    while (j + 1 < seqs.length && seqs[j + 1] === (seqs[j] ?? 0) + 1) j++;
    runs.push(i === j ? String(seqs[i]) : `${String(seqs[i])}-${String(seqs[j])}`);
    shown += j - i + 1;
    i = j + 1;
  }
  const more = seqs.length - shown;
  return more > 0 ? `${runs.join(', ')} and ${String(more)} more` : runs.join(', ');
}

/** What {@link checkAuditCoverage} counted. */
export interface AuditCoverageSummary {
  reports: number;
  alerts: number;
  /** Entries the auditor reconstructed after a crash (`recovered: true`). */
  recovered: number;
}

/**
 * Checks that the audit log `entries` covers what the hub stored: every REPORTS message has
 * its `report.accepted` entry (by REPORTS sequence), REPORTS still holds every collected
 * report, and every ALERTS message is covered by a disclosure (`alert.disclosed` /
 * `report.retracted`) of the same report naming its recipient, or a hit alert by the
 * `holdings.hit` entry of its check naming its holder. Both streams are read through
 * their leader. Throws ERR_AUDIT_INVALID naming the first message that is not covered,
 * every sequence REPORTS counts but its leader cannot return, or a missing stream.
 *
 * @example
 * ```ts
 * const { reports, alerts, recovered } = await checkAuditCoverage(op.jsm, entries);
 * ```
 */
export async function checkAuditCoverage(
  jsm: JetStreamManager,
  entries: readonly AuditLogItem[],
): Promise<AuditCoverageSummary> {
  const coverage = auditCoverage(entries);
  let reports = 0;
  let lastReport = 0;
  const holes: number[] = [];
  try {
    for await (const { seq, msg: m } of readSequences(jsm, Streams.Reports, fromLeader)) {
      if (m === undefined) {
        holes.push(seq);
        continue;
      }
      reports++;
      lastReport = seq;
      if (!coverage.collects(Streams.Reports, m.seq))
        throw new MosaicError(
          ErrorCode.AuditInvalid,
          `REPORTS seq ${m.seq} (${m.subject}) has no collection entry (report.accepted) in the audit log`,
          { details: { stream: Streams.Reports, seq: m.seq } },
        );
    }
  } catch (err) {
    if (err instanceof MosaicError) throw err;
    throw unreadable(Streams.Reports, err);
  }
  // Every one is named, not only the first: what a damaged store lost, exactly.
  if (holes.length > 0)
    throw new MosaicError(ErrorCode.AuditInvalid, notReturned(Streams.Reports, holes), {
      details: { stream: Streams.Reports, seqs: holes, problem: 'unreadable' },
    });
  // REPORTS refuses deletes: a collected report it no longer holds means the stream was replaced.
  const beyond = coverage.lastCollected(Streams.Reports);
  if (beyond > lastReport)
    throw new MosaicError(
      ErrorCode.AuditInvalid,
      `the audit log records the collection of REPORTS seq ${beyond} but REPORTS holds only ${reports} reports (last seq ${lastReport}): reports were removed (the stream was deleted or replaced)`,
      { details: { stream: Streams.Reports, seq: beyond, problem: 'reports-missing' } },
    );
  let alerts = 0;
  for await (const m of readStream(jsm, Streams.Alerts, fromLeader)) {
    alerts++;
    const alert = parseAlertSubject(m.subject);
    // A hit alert (holder, kind hit, asker, check id) is disclosed by its holdings.hit entry.
    const covered =
      alert?.kind === HIT_ALERT_KIND
        ? coverage.disclosesHit({
            recipient: alert.recipient,
            asker: alert.issuer,
            checkId: alert.reportId,
          })
        : alert !== undefined && coverage.discloses(alert);
    if (!covered)
      throw new MosaicError(
        ErrorCode.AuditInvalid,
        `ALERTS seq ${m.seq} (${m.subject}) is covered by no disclosure entry in the audit log`,
        { details: { stream: Streams.Alerts, seq: m.seq } },
      );
  }
  return { reports, alerts, recovered: coverage.recovered };
}

/**
 * An RFC 9162 inclusion proof of the AUDIT entry with sequence `seq` against the latest
 * signed checkpoint, for `checkProofFile` to check offline. Throws ERR_USAGE when the log
 * has no such sequence, ERR_UNAVAILABLE when no checkpoint covers it yet (the auditor signs
 * one every 1000 entries or 10 s), ERR_AUDIT_INVALID when AUDIT cannot return it.
 *
 * @example
 * ```ts
 * const proof = await proveAuditEntry(op.jsm, 1234);
 * await writeFile('proof.json', JSON.stringify(proof, null, 2));
 * ```
 */
export async function proveAuditEntry(jsm: JetStreamManager, seq: number): Promise<ProofFile> {
  if (!Number.isSafeInteger(seq) || seq < 1)
    throw new MosaicError(ErrorCode.Usage, `an AUDIT sequence is a positive integer, not ${seq}`, {
      details: { seq },
    });
  const size = (await jsm.streams.info(Streams.Audit)).state.last_seq;
  if (seq > size)
    throw new MosaicError(
      ErrorCode.Usage,
      `the audit log holds ${size} entries (seq 1..${size}); there is no entry ${seq}`,
      { details: { seq, size } },
    );
  const latest = (await readAuditCheckpoints(jsm)).at(-1);
  if (latest === undefined || latest.size < seq)
    throw new MosaicError(
      ErrorCode.Unavailable,
      `AUDIT seq ${seq} is not covered by a signed checkpoint yet (latest covers ${latest?.size ?? 0} entries); the auditor signs one every 1000 entries or 10 s — try again shortly`,
      { details: { seq, checkpointSize: latest?.size ?? 0 } },
    );
  const tree = new MerkleLog();
  let entry: Uint8Array | undefined;
  for await (const m of readStream(jsm, Streams.Audit, { to: latest.size })) {
    tree.append(leafHash(m.data));
    if (m.seq === seq) entry = m.data;
  }
  if (entry === undefined)
    throw new MosaicError(ErrorCode.AuditInvalid, `AUDIT holds no entry with seq ${seq}`, {
      details: { seq },
    });
  return proveInclusion(tree, seq - 1, entry, latest);
}
