import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  MerkleLog,
  decodeEntry,
  leafHash,
  hubKeysFromJwks,
  parseCheckpoint,
  readAuditExport,
  verifyAuditLog,
  verifyCheckpoint,
  verifyInclusion,
  type AuditLogItem,
} from '@mosaic/audit-log';
import {
  TREE_SIZE_HEADER,
  readAuditCheckpoints,
  readSequences,
  readStream,
  AUDIT_CHECKPOINTS_STREAM,
  Streams,
  parseAlertSubject,
} from '@mosaic/protocol';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { connectOperator } from '@mosaic/hub';
import {
  JetStreamApiCodes,
  JetStreamApiError,
  PubHeaders,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { defineCommand, usageError } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { checkOutputPath, readInput, writeChunk, writeLine } from '../io.ts';
import { integer, operatorContext, string } from '../options.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

async function readJwks(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new MosaicError(ErrorCode.Io, `cannot read ${path}: ${(cause as Error).message}`, {
      details: { path },
      cause,
    });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new MosaicError(ErrorCode.KeyFile, `${path} is not a JWKS (JSON)`, {
      details: { path },
      cause,
    });
  }
}

/** `<data-dir>/hub.jwks` next to `<data-dir>/contexts/operator.json`. */
function defaultJwks(context: string): string {
  return join(dirname(dirname(context)), 'hub.jwks');
}

/** `<data-dir>/audit/checkpoint`: the hub's own copy of its latest signed checkpoint. */
function defaultCheckpointFile(context: string): string {
  return join(dirname(dirname(context)), 'audit', 'checkpoint');
}

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

const hexLeaf = (data: Uint8Array): string => hex(leafHash(data));

/**
 * Every AUDIT message, in order. A sequence the stream counts but cannot return, and a
 * message whose msg id is not its leaf hash (the auditor publishes each entry under it;
 * required on the hub's own AUDIT, checked where present on a copy), are named here.
 */
async function readAuditLive(
  jsm: JetStreamManager,
  stream: string,
  requireMsgId: boolean,
): Promise<AuditLogItem[]> {
  const out: AuditLogItem[] = [];
  const bad = (seq: number, problem: string, message: string): MosaicError =>
    new MosaicError(
      ErrorCode.AuditInvalid,
      `the audit log is not intact at entry ${seq - 1} (${stream} seq ${seq}): ${problem}: ${message}`,
      { details: { index: seq - 1, seq, problem } },
    );
  try {
    for await (const { seq, msg } of readSequences(jsm, stream)) {
      if (msg === undefined)
        throw bad(
          seq,
          'unreadable',
          `${stream} seq ${seq} is counted by the stream but cannot be read (lost or damaged in the store)`,
        );
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
  return out;
}

/** The stored checkpoints with their sequences. */
async function readCheckpointsLive(
  jsm: JetStreamManager,
  stream: string,
): Promise<{ seq: number; size: number; text: string }[]> {
  const out: { seq: number; size: number; text: string }[] = [];
  try {
    for await (const { seq, msg } of readSequences(jsm, stream)) {
      if (msg === undefined)
        throw new MosaicError(
          ErrorCode.AuditInvalid,
          `${stream} seq ${seq} is counted by the stream but cannot be read (lost or damaged in the store)`,
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

/** Problems about the checkpoints alone: their index is the checkpoint's position. */
const CHECKPOINT_ONLY = new Set([
  'checkpoint-signature',
  'checkpoint-origin',
  'checkpoint-order',
  'fork',
]);

function failure(
  result: {
    index: number;
    problem: string;
    message: string;
    checkpoint?: number;
  },
  /** Where each checkpoint position came from: its stream sequence, or the data dir's file. */
  origins: readonly string[] = [],
): MosaicError {
  const { index, problem, message, checkpoint } = result;
  const where = CHECKPOINT_ONLY.has(problem)
    ? `checkpoint ${index}`
    : `entry ${index} (AUDIT seq ${index + 1})`;
  const from = checkpoint === undefined ? undefined : origins[checkpoint];
  const foreign =
    problem === 'checkpoint-signature' && from !== undefined
      ? ` — ${from} is a foreign message: not a checkpoint signed by this hub key`
      : from !== undefined
        ? ` (checkpoint ${checkpoint} is ${from})`
        : '';
  return new MosaicError(
    ErrorCode.AuditInvalid,
    `the audit log is not intact at ${where}: ${problem}: ${message}${foreign}`,
    { details: { index, problem, ...(checkpoint === undefined ? {} : { checkpoint }) } },
  );
}

interface Coverage {
  reports: number;
  alerts: number;
  /** Entries the auditor reconstructed after a crash (`recovered: true`). */
  recovered: number;
}

/**
 * Every REPORTS message has its `report.accepted` entry (by REPORTS sequence) and every
 * ALERTS message is covered by a disclosure (`alert.disclosed` / `report.retracted`) of
 * the same report naming its recipient.
 */
async function checkCoverage(
  jsm: JetStreamManager,
  entries: readonly AuditLogItem[],
): Promise<Coverage> {
  const collected = new Set<number>();
  const disclosed = new Set<string>();
  let recovered = 0;
  for (const item of entries) {
    const e = decodeEntry(item.data);
    if (e.recovered === true) recovered++;
    if (e.action === 'report.accepted')
      for (const ref of e.refs ?? []) if (ref.stream === Streams.Reports) collected.add(ref.seq);
    if (e.action === 'alert.disclosed' || e.action === 'report.retracted')
      for (const r of e.recipients ?? [])
        disclosed.add(`${r.agency}|${String(e.subject?.issuer)}|${String(e.subject?.reportId)}`);
  }
  let reports = 0;
  let lastReport = 0;
  try {
    for await (const { seq, msg: m } of readSequences(jsm, Streams.Reports)) {
      if (m === undefined)
        throw new MosaicError(
          ErrorCode.AuditInvalid,
          `REPORTS seq ${seq} is counted by the stream but cannot be read (lost or damaged in the store)`,
          { details: { stream: Streams.Reports, seq, problem: 'unreadable' } },
        );
      reports++;
      lastReport = seq;
      if (!collected.has(m.seq))
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
  // REPORTS refuses deletes: a collected report it no longer holds means the stream was replaced.
  const beyond = Math.max(0, ...collected);
  if (beyond > lastReport)
    throw new MosaicError(
      ErrorCode.AuditInvalid,
      `the audit log records the collection of REPORTS seq ${beyond} but REPORTS holds only ${reports} reports (last seq ${lastReport}): reports were removed (the stream was deleted or replaced)`,
      { details: { stream: Streams.Reports, seq: beyond, problem: 'reports-missing' } },
    );
  let alerts = 0;
  for await (const m of readStream(jsm, Streams.Alerts)) {
    alerts++;
    const alert = parseAlertSubject(m.subject);
    if (
      alert === undefined ||
      !disclosed.has(`${alert.recipient}|${alert.issuer}|${alert.reportId}`)
    )
      throw new MosaicError(
        ErrorCode.AuditInvalid,
        `ALERTS seq ${m.seq} (${m.subject}) is covered by no disclosure entry in the audit log`,
        { details: { stream: Streams.Alerts, seq: m.seq } },
      );
  }
  return { reports, alerts, recovered };
}

export const auditVerify = defineCommand({
  path: ['audit', 'verify'],
  summary: 'recompute and check the audit Merkle log, its signed checkpoints and its coverage',
  usage: `Usage: mosaic audit verify --context <operator.json> [--jwks <hub.jwks>]
                           [--from-checkpoint <k>] [--stream <name>] [--checkpoints-stream <name>]
                           [--checkpoint-file <file>]
       mosaic audit verify --export <file> --jwks <hub.jwks>`,
  description: `Recomputes the Merkle log (RFC 9162 hashing) over every AUDIT entry, checks each entry
(schema, the prev hash chain), each checkpoint's signature with the hub key and the
consistency of every checkpoint with the log (a removed, altered, reordered or truncated
entry, or a second history for a signed size, is found). Live, it also checks that every
REPORTS message has its collection entry and every ALERTS message is covered by a
disclosure entry, that REPORTS still holds every collected report, and that every AUDIT
message is the auditor's (its msg id is its leaf hash; otherwise it is named foreign).
A deleted stream, or a sequence a stream counts but cannot return, is named too. Prints a
summary on stdout: entries, checkpoints, reports, alerts, recovered (entries the auditor
reconstructed after a crash), rate. On failure names the first bad entry index (AUDIT
seq = index + 1) and what is wrong.`,
  options: {
    context: string({
      placeholder: '<file>',
      description: "the operator's context file; give it or --export",
    }),
    jwks: string({
      placeholder: '<file>',
      description:
        "the hub's public key (default <data-dir>/hub.jwks beside the context's directory); required with --export",
    }),
    'from-checkpoint': integer({
      min: 0,
      placeholder: '<k>',
      description: 'trust checkpoint k (0-based) and check from there on',
    }),
    export: string({
      placeholder: '<file>',
      description: 'verify an export ("mosaic replay --stream audit --out") offline',
    }),
    stream: string({
      placeholder: '<name>',
      description: 'the audit stream (e.g. a copy)',
      default: Streams.Audit,
    }),
    'checkpoints-stream': string({
      placeholder: '<name>',
      description: 'its checkpoints',
      default: AUDIT_CHECKPOINTS_STREAM,
    }),
    'checkpoint-file': string({
      placeholder: '<file>',
      description:
        "the hub's copy of its latest checkpoint (default <data-dir>/audit/checkpoint when it exists): a log shorter than it, or a deleted AUDIT_CHECKPOINTS, is found",
    }),
  },
  footer: `Examples:
  mosaic audit verify --context .mosaic/contexts/operator.json
  mosaic audit verify --export audit.export --jwks hub.jwks

Exit codes: 0 intact, 1 not intact (ERR_AUDIT_INVALID: the first bad index is named),
2 usage error, 3 file, context or hub unavailable.`,
  positionals: { min: 0, max: 0 },
  async run({ values }, io) {
    const { export: exportFile, context, 'from-checkpoint': fromCheckpoint } = values;
    if ((exportFile === undefined) === (context === undefined))
      throw usageError(auditVerify, 'give --context or --export (see --help)');
    const started = performance.now();
    let entries: AuditLogItem[] = [];
    let checkpoints: string[] = [];
    const origins: string[] = [];
    let coverage: (() => Promise<Coverage>) | undefined;
    let close: (() => Promise<void>) | undefined;
    let live: JetStreamManager | undefined;
    let jwksPath: string;
    if (exportFile !== undefined) {
      if (values.jwks === undefined)
        throw usageError(auditVerify, '--jwks is required with --export (see --help)');
      jwksPath = values.jwks;
      const exported = await readAuditExport(exportFile);
      entries = exported.entries;
      checkpoints = exported.checkpoints.map((c) => c.text);
    } else {
      const ctx = context ?? '';
      jwksPath = values.jwks ?? defaultJwks(ctx);
      const op = await connectOperator(ctx);
      close = () => op.close();
      live = op.jsm;
    }
    // Every read happens inside: the connection is closed whatever fails.
    try {
      if (live !== undefined && context !== undefined) {
        const jsm = live;
        const { stream, 'checkpoints-stream': cpStream } = values;
        entries = await readAuditLive(jsm, stream, stream === Streams.Audit);
        const stored = await readCheckpointsLive(jsm, cpStream);
        checkpoints = stored.map((c) => c.text);
        origins.push(...stored.map((c) => `${cpStream} seq ${c.seq}`));
        // The hub's copy of its latest checkpoint outlives a deleted or replaced stream.
        const file =
          values['checkpoint-file'] ??
          (stream === Streams.Audit ? defaultCheckpointFile(context) : undefined);
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
        coverage = () => checkCoverage(jsm, entries);
      }
      const keys = await readJwks(jwksPath);
      const result = await verifyAuditLog(
        entries,
        checkpoints,
        hubKeysFromJwks(keys),
        fromCheckpoint === undefined ? {} : { fromCheckpoint },
      );
      if (!result.ok) throw failure(result, origins);
      const covered = coverage === undefined ? undefined : await coverage();
      const seconds = (performance.now() - started) / 1000;
      writeLine(
        io.stdout,
        JSON.stringify({
          ok: true,
          entries: entries.length,
          checkpoints: checkpoints.length,
          ...(covered ?? {}),
          seconds: Number(seconds.toFixed(3)),
          entriesPerSecond: Math.round(entries.length / Math.max(seconds, 1e-3)),
        }),
      );
      return ExitCode.Ok;
    } finally {
      await close?.();
    }
  },
});

/** What `mosaic audit prove` prints and `check-proof` reads. */
interface ProofFile {
  index: number;
  size: number;
  leafHash: string;
  /** The entry itself (base64), so the leaf hash can be recomputed from it. */
  entry: string;
  proof: string[];
  checkpoint: string;
}

export const auditProve = defineCommand({
  path: ['audit', 'prove'],
  summary: 'print an inclusion proof of one audit entry against the latest signed checkpoint',
  usage: 'Usage: mosaic audit prove --context <operator.json> <entry-seq> [--out <file>]',
  description: `Prints (JSON) an RFC 9162 inclusion proof of the AUDIT entry with that sequence against
the latest signed checkpoint: {"index","size","leafHash","entry","proof":[…],
"checkpoint"}. Anyone holding the hub's JWKS checks it offline with
"mosaic audit check-proof". The entry must be covered by a checkpoint already (the
auditor signs one every 1000 entries or 10 s).`,
  options: {
    context: operatorContext(),
    out: string({ placeholder: '<file>', description: 'write the proof there instead of stdout' }),
  },
  footer: `Example:
  mosaic audit prove --context .mosaic/contexts/operator.json 1234 > proof.json

Exit codes: 0 printed, 1 the log does not hold the entry below its size (ERR_AUDIT_INVALID),
2 usage error (also: <entry-seq> beyond the log; the message gives its size), 3 context or
hub unavailable, the entry not covered by a checkpoint yet (ERR_UNAVAILABLE: retry in a
few seconds), or --out cannot be written.`,
  positionals: { min: 1, max: 1 },
  async run({ values, positionals }, io) {
    const { context, out } = values;
    const seq = Number(positionals[0]);
    if (!Number.isSafeInteger(seq) || seq < 1)
      throw new MosaicError(
        ErrorCode.Usage,
        'mosaic audit prove: <entry-seq> must be a positive integer',
      );
    if (out !== undefined) await checkOutputPath(out);
    await using op = await connectOperator(context);
    const jsm = op.jsm;
    const size = (await jsm.streams.info(Streams.Audit)).state.last_seq;
    if (seq > size)
      throw new MosaicError(
        ErrorCode.Usage,
        `mosaic audit prove: the audit log holds ${size} entries (seq 1..${size}); there is no entry ${seq}`,
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
    const proof: ProofFile = {
      index: seq - 1,
      size: latest.size,
      leafHash: hex(leafHash(entry)),
      entry: Buffer.from(entry).toString('base64'),
      proof: tree.inclusionProof(seq - 1, latest.size).map(hex),
      checkpoint: latest.text,
    };
    const text = `${JSON.stringify(proof, null, 2)}\n`;
    if (out === undefined) writeChunk(io.stdout, text);
    else
      await writeFile(out, text).catch((cause: unknown) => {
        throw new MosaicError(ErrorCode.Io, `cannot write ${out}: ${(cause as Error).message}`, {
          details: { path: out },
          cause,
        });
      });
    return ExitCode.Ok;
  },
});

export const auditCheckProof = defineCommand({
  path: ['audit', 'check-proof'],
  summary: 'verify an inclusion proof offline with the hub JWKS',
  usage: 'Usage: mosaic audit check-proof --jwks <hub.jwks> <proof.json|->',
  description: `Checks offline a proof printed by "mosaic audit prove": the checkpoint's signature with
the hub key, that the entry hashes to the leaf hash, and that the inclusion proof leads
from the leaf at that index to the checkpoint's root for its tree size (RFC 9162).
Prints {"ok":true,"index","size","action"} on stdout.`,
  options: {
    jwks: string({
      placeholder: '<file>',
      description: "the hub's public key (<data-dir>/hub.jwks)",
      required: true,
    }),
  },
  footer: `Example:
  mosaic audit check-proof --jwks hub.jwks proof.json

Exit codes: 0 valid, 1 invalid proof or checkpoint (ERR_PROOF_INVALID), 2 usage error,
3 file unreadable.`,
  positionals: { min: 1, max: 1 },
  async run({ values, positionals }, io) {
    const jwks = await readJwks(values.jwks);
    const file = positionals[0] ?? '-';
    const bad = (message: string): MosaicError =>
      new MosaicError(ErrorCode.ProofInvalid, `${file}: ${message}`, { details: { file } });
    let proof: ProofFile;
    try {
      proof = JSON.parse(new TextDecoder().decode(await readInput(file, io))) as ProofFile;
    } catch (cause) {
      if (cause instanceof MosaicError) throw cause;
      throw bad('not a proof file (JSON)');
    }
    const shaped =
      typeof proof === 'object' &&
      proof !== null &&
      Number.isSafeInteger(proof.index) &&
      Number.isSafeInteger(proof.size) &&
      typeof proof.leafHash === 'string' &&
      typeof proof.entry === 'string' &&
      typeof proof.checkpoint === 'string' &&
      Array.isArray(proof.proof) &&
      proof.proof.every((h) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h));
    if (!shaped) throw bad('not a proof file: index, size, leafHash, entry, proof, checkpoint');
    let cp: { size: number; root: Uint8Array };
    try {
      cp = verifyCheckpoint(proof.checkpoint, hubKeysFromJwks(jwks));
    } catch (err) {
      if (!(err instanceof MosaicError)) throw err;
      throw bad(`checkpoint refused: ${err.message}`);
    }
    if (cp.size !== proof.size)
      throw bad(`the proof is for size ${proof.size}, the checkpoint signs ${cp.size}`);
    const leaf = leafHash(new Uint8Array(Buffer.from(proof.entry, 'base64')));
    if (hex(leaf) !== proof.leafHash) throw bad('the entry does not hash to the leaf hash');
    const ok = verifyInclusion({
      index: proof.index,
      size: proof.size,
      leafHash: leaf,
      proof: proof.proof.map(unhex),
      root: cp.root,
    });
    if (!ok)
      throw bad(`the inclusion proof of index ${proof.index} does not lead to the signed root`);
    const entry = decodeEntry(new Uint8Array(Buffer.from(proof.entry, 'base64')));
    writeLine(
      io.stdout,
      JSON.stringify({ ok: true, index: proof.index, size: proof.size, action: entry.action }),
    );
    return ExitCode.Ok;
  },
});
