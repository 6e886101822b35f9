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
  readLiveCheckpoints,
  type AuditCoverageSummary,
} from '@mosaic/operator';
import type { JetStreamManager } from '@nats-io/jetstream';
import { requireOption, type Command } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { checkOutputPath, readInput, writeChunk, writeLine } from '../io.ts';

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

export const auditVerify: Command = {
  path: ['audit', 'verify'],
  summary: 'recompute and check the audit Merkle log, its signed checkpoints and its coverage',
  help: `Usage: mosaic audit verify --context <operator.json> [--jwks <hub.jwks>]
                           [--from-checkpoint <k>] [--stream <name>] [--checkpoints-stream <name>]
       mosaic audit verify --export <file> --jwks <hub.jwks>

Recomputes the Merkle log (RFC 9162 hashing) over every AUDIT entry, checks each entry
(schema, the prev hash chain), each checkpoint's signature with the hub key and the
consistency of every checkpoint with the log (a removed, altered, reordered or truncated
entry, or a second history for a signed size, is found). Live, it also checks that every
REPORTS message has its collection entry and every ALERTS message is covered by a
disclosure entry, that REPORTS still holds every collected report, and that every AUDIT
message is the auditor's (its msg id is its leaf hash; otherwise it is named foreign).
A deleted stream, or a sequence a stream counts but cannot return, is named too. Prints a
summary on stdout: entries, checkpoints, reports, alerts, recovered (entries the auditor
reconstructed after a crash), rate. On failure names the first bad entry index (AUDIT
seq = index + 1) and what is wrong.

Options:
  --context <file>            the operator's context file
  --jwks <file>               the hub's public key (default <data-dir>/hub.jwks beside the
                              context's directory); required with --export
  --from-checkpoint <k>       trust checkpoint k (0-based) and check from there on
  --export <file>             verify an export ("mosaic replay --stream audit --out") offline
  --stream <name>             the audit stream (default AUDIT; e.g. a copy)
  --checkpoints-stream <name> its checkpoints (default AUDIT_CHECKPOINTS)
  --checkpoint-file <file>    the hub's copy of its latest checkpoint (default
                              <data-dir>/audit/checkpoint when it exists): a log shorter
                              than it, or a deleted AUDIT_CHECKPOINTS, is found
  -h, --help                  show this help

Examples:
  mosaic audit verify --context .mosaic/contexts/operator.json
  mosaic audit verify --export audit.export --jwks hub.jwks

Exit codes: 0 intact, 1 not intact (ERR_AUDIT_INVALID: the first bad index is named),
2 usage error, 3 file, context or hub unavailable.`,
  options: {
    context: { type: 'string' },
    jwks: { type: 'string' },
    'from-checkpoint': { type: 'string' },
    export: { type: 'string' },
    stream: { type: 'string' },
    'checkpoints-stream': { type: 'string' },
    'checkpoint-file': { type: 'string' },
  },
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const exportFile = args.values['export'] as string | undefined;
    const context = args.values['context'] as string | undefined;
    if ((exportFile === undefined) === (context === undefined))
      throw new MosaicError(
        ErrorCode.Usage,
        'mosaic audit verify: give --context or --export (see --help)',
      );
    const fromValue = args.values['from-checkpoint'] as string | undefined;
    const fromCheckpoint = fromValue === undefined ? undefined : Number(fromValue);
    if (
      fromCheckpoint !== undefined &&
      (!Number.isSafeInteger(fromCheckpoint) || fromCheckpoint < 0)
    )
      throw new MosaicError(
        ErrorCode.Usage,
        'mosaic audit verify: --from-checkpoint must be an index >= 0',
      );
    const started = performance.now();
    let entries: AuditLogItem[] = [];
    let checkpoints: string[] = [];
    const origins: string[] = [];
    let coverage: (() => Promise<AuditCoverageSummary>) | undefined;
    let close: (() => Promise<void>) | undefined;
    let live: JetStreamManager | undefined;
    let jwksPath: string;
    if (exportFile !== undefined) {
      jwksPath = requireOption(args, 'jwks', this);
      const exported = await readAuditExport(exportFile);
      entries = exported.entries;
      checkpoints = exported.checkpoints.map((c) => c.text);
    } else {
      const ctx = context ?? '';
      jwksPath = (args.values['jwks'] as string | undefined) ?? defaultJwks(ctx);
      const op = await connectOperator(ctx);
      close = () => op.close();
      live = op.jsm;
    }
    // Every read happens inside: the connection is closed whatever fails.
    try {
      if (live !== undefined && context !== undefined) {
        const jsm = live;
        const stream = (args.values['stream'] as string | undefined) ?? Streams.Audit;
        const cpStream =
          (args.values['checkpoints-stream'] as string | undefined) ?? AUDIT_CHECKPOINTS_STREAM;
        entries = await readAuditEntries(jsm, stream);
        // The hub's copy of its latest checkpoint outlives a deleted or replaced stream.
        const file =
          (args.values['checkpoint-file'] as string | undefined) ??
          (stream === Streams.Audit ? defaultCheckpointFile(context) : undefined);
        const read = await readLiveCheckpoints(jsm, {
          stream: cpStream,
          ...(file === undefined ? {} : { checkpointFile: file }),
        });
        checkpoints = read.checkpoints;
        origins.push(...read.origins);
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
};

export const auditProve: Command = {
  path: ['audit', 'prove'],
  summary: 'print an inclusion proof of one audit entry against the latest signed checkpoint',
  help: `Usage: mosaic audit prove --context <operator.json> <entry-seq> [--out <file>]

Prints (JSON) an RFC 9162 inclusion proof of the AUDIT entry with that sequence against
the latest signed checkpoint: {"index","size","leafHash","entry","proof":[…],
"checkpoint"}. Anyone holding the hub's JWKS checks it offline with
"mosaic audit check-proof". The entry must be covered by a checkpoint already (the
auditor signs one every 1000 entries or 10 s).

Options:
  --context <file>  the operator's context file
  --out <file>      write the proof there instead of stdout
  -h, --help        show this help

Example:
  mosaic audit prove --context .mosaic/contexts/operator.json 1234 > proof.json

Exit codes: 0 printed, 1 the log does not hold the entry below its size (ERR_AUDIT_INVALID),
2 usage error (also: <entry-seq> beyond the log; the message gives its size), 3 context or
hub unavailable, the entry not covered by a checkpoint yet (ERR_UNAVAILABLE: retry in a
few seconds), or --out cannot be written.`,
  options: { context: { type: 'string' }, out: { type: 'string' } },
  positionals: { min: 1, max: 1 },
  async run(args, io) {
    const context = requireOption(args, 'context', this);
    const seq = Number(args.positionals[0]);
    if (!Number.isSafeInteger(seq) || seq < 1)
      throw new MosaicError(
        ErrorCode.Usage,
        'mosaic audit prove: <entry-seq> must be a positive integer',
      );
    const out = args.values['out'] as string | undefined;
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
};

export const auditCheckProof: Command = {
  path: ['audit', 'check-proof'],
  summary: 'verify an inclusion proof offline with the hub JWKS',
  help: `Usage: mosaic audit check-proof --jwks <hub.jwks> <proof.json|->

Checks offline a proof printed by "mosaic audit prove": the checkpoint's signature with
the hub key, that the entry hashes to the leaf hash, and that the inclusion proof leads
from the leaf at that index to the checkpoint's root for its tree size (RFC 9162).
Prints {"ok":true,"index","size","action"} on stdout.

Options:
  --jwks <file>  the hub's public key (<data-dir>/hub.jwks)
  -h, --help     show this help

Example:
  mosaic audit check-proof --jwks hub.jwks proof.json

Exit codes: 0 valid, 1 invalid proof or checkpoint (ERR_PROOF_INVALID), 2 usage error,
3 file unreadable.`,
  options: { jwks: { type: 'string' } },
  positionals: { min: 1, max: 1 },
  async run(args, io) {
    const jwks = await readJwks(requireOption(args, 'jwks', this));
    const file = args.positionals[0] ?? '-';
    const proof = checkProofFile(parseProofFile(await readInput(file, io), file), jwks, file);
    writeLine(io.stdout, JSON.stringify({ ok: true, ...proof }));
    return ExitCode.Ok;
  },
};
