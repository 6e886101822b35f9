import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  auditFailureError,
  checkProofFile,
  hubKeysFromJwks,
  parseProofFile,
  readAuditExport,
  verifyAuditLog,
  type AuditLogItem,
} from '@mosaic/audit-log';
import { AUDIT_CHECKPOINTS_STREAM, Streams } from '@mosaic/protocol';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import {
  checkAuditCoverage,
  connectOperator,
  proveAuditEntry,
  readAuditEntries,
  notReturned,
  readLiveCheckpoints,
  unreadableReports,
  type AuditCoverageSummary,
} from '@mosaic/operator';
import type { JetStreamManager } from '@nats-io/jetstream';
import { defineCommand, usageError } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { checkOutputPath, readInput, writeChunk, writeLine } from '../io.ts';
import { integer, operatorContext, string } from '../options.ts';

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

/**
 * AUDIT entries its leader cannot return stop the check before the coverage of REPORTS;
 * what the same damage did to REPORTS is named with them, so the error says all that the
 * store lost. Any other error is returned as it is.
 */
async function withUnreadableReports(jsm: JetStreamManager, err: unknown): Promise<unknown> {
  if (!(err instanceof MosaicError)) return err;
  const details = err.details as { problem?: string } | undefined;
  if (details?.problem !== 'unreadable') return err;
  const holes = await unreadableReports(jsm).catch(() => []);
  if (holes.length === 0) return err;
  return new MosaicError(err.code, `${err.message}; and ${notReturned(Streams.Reports, holes)}`, {
    details: { ...(err.details as object), reportsSeqs: holes },
    cause: err,
  });
}

/** `<data-dir>/hub.jwks` next to `<data-dir>/contexts/operator.json`. */
function defaultJwks(context: string): string {
  return join(dirname(dirname(context)), 'hub.jwks');
}

/** `<data-dir>/audit/checkpoint`: the hub's own copy of its latest signed checkpoint. */
function defaultCheckpointFile(context: string): string {
  return join(dirname(dirname(context)), 'audit', 'checkpoint');
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
Every stream is read through its leader (message gets, not direct gets that any replica
answers), so the verdict does not depend on which replica answered. A deleted stream, or
a sequence a stream counts but its leader cannot return, is named too. Prints a
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
    let coverage: (() => Promise<AuditCoverageSummary>) | undefined;
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
        // The checkpoints before the entries: on a live hub the auditor goes on appending and
        // signing, and a checkpoint read after the entries could sign entries written after
        // they were read (a log that only grows, reported as truncated). Read first, every
        // checkpoint signs a size the entries read next must reach.
        // The hub's copy of its latest checkpoint outlives a deleted or replaced stream.
        const file =
          values['checkpoint-file'] ??
          (stream === Streams.Audit ? defaultCheckpointFile(context) : undefined);
        const read = await readLiveCheckpoints(jsm, {
          stream: cpStream,
          ...(file === undefined ? {} : { checkpointFile: file }),
        });
        checkpoints = read.checkpoints;
        origins.push(...read.origins);
        entries = await readAuditEntries(jsm, stream).catch(async (err: unknown) => {
          throw stream === Streams.Audit ? await withUnreadableReports(jsm, err) : err;
        });
        coverage = () => checkAuditCoverage(jsm, entries);
      }
      const keys = await readJwks(jwksPath);
      const result = await verifyAuditLog(
        entries,
        checkpoints,
        hubKeysFromJwks(keys),
        fromCheckpoint === undefined ? {} : { fromCheckpoint },
      );
      if (!result.ok) throw auditFailureError(result, origins);
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
    const proof = await proveAuditEntry(op.jsm, seq);
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
    const proof = checkProofFile(parseProofFile(await readInput(file, io), file), jwks, file);
    writeLine(io.stdout, JSON.stringify({ ok: true, ...proof }));
    return ExitCode.Ok;
  },
});
