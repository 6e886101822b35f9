import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { parseJson } from '@mosaic/contract';
import { ErrorCode, MosaicError, isMosaicError } from '@mosaic/errors';
import { decodeBase64, encodeBase64 } from './base64.ts';
import { parseCheckpoint } from './checkpoint.ts';
import type { AuditLogItem } from './verify-log.ts';

/**
 * The audit export: NDJSON, one record a line, in log order —
 * `{"type":"export","format":"mosaic-audit-export","version":1}` first, then
 * `{"type":"entry","index":0,"seq":1,"data":"<base64 of the exact stored bytes>"}` lines, each
 * `{"type":"checkpoint","text":"<signed note>"}` right after the entry that completes its size.
 */
export const exportFormat = {
  name: 'mosaic-audit-export',
  version: 1,
  mediaType: 'application/x-ndjson',
} as const;

/** One line of an audit export. */
export type AuditExportRecord =
  | { type: 'export'; format: typeof exportFormat.name; version: typeof exportFormat.version }
  | { type: 'entry'; index: number; seq?: number; data: string }
  | { type: 'checkpoint'; text: string };

/** An export read back: entries in file order (never re-sorted), checkpoints in file order. */
export interface AuditExport {
  entries: AuditLogItem[];
  checkpoints: { text: string }[];
}

/** Largest export line: an entry of 256 KiB in base64 plus its wrapper. */
const MAX_LINE_BYTES = 400_000;
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const recordSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('export'),
    format: z.literal(exportFormat.name),
    version: z.literal(exportFormat.version),
  }),
  z.strictObject({
    type: z.literal('entry'),
    index: count,
    seq: count.min(1).optional(),
    data: z.string(),
  }),
  z.strictObject({ type: z.literal('checkpoint'), text: z.string().max(65_536) }),
]);

function exportError(message: string, line: number, cause?: unknown): MosaicError {
  return new MosaicError(ErrorCode.AuditExport, `line ${line}: ${message}`, {
    details: { line },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** One export line (no newline) for a record. */
export function formatExportLine(record: AuditExportRecord): string {
  return JSON.stringify(record);
}

/**
 * Parses one export line (hardened JSON, strict record schema). Entry data comes back as
 * bytes. Throws ERR_AUDIT_EXPORT naming `lineNumber`.
 */
export function parseExportLine(
  line: string,
  lineNumber = 1,
): { type: 'export' } | ({ type: 'entry' } & AuditLogItem) | { type: 'checkpoint'; text: string } {
  let value: unknown;
  try {
    value = parseJson(line, { maxBytes: MAX_LINE_BYTES });
  } catch (err) {
    if (isMosaicError(err)) throw exportError(`not JSON (${err.code})`, lineNumber, err);
    throw err;
  }
  const parsed = recordSchema.safeParse(value);
  if (!parsed.success) throw exportError('not an export record', lineNumber, parsed.error);
  const record = parsed.data;
  if (record.type !== 'entry') return record;
  const data = decodeBase64(record.data);
  if (data === undefined) throw exportError('entry data is not canonical base64', lineNumber);
  return record.seq === undefined
    ? { type: 'entry', index: record.index, data }
    : { type: 'entry', index: record.index, seq: record.seq, data };
}

/**
 * Reads an audit export file. Lines stay in file order so that {@link verifyAuditLog} sees
 * any reordering. Throws ERR_IO when the file cannot be read, ERR_AUDIT_EXPORT for a bad line.
 *
 * @example
 * ```ts
 * const { entries, checkpoints } = await readAuditExport('audit.ndjson');
 * ```
 */
export async function readAuditExport(path: string): Promise<AuditExport> {
  const out: AuditExport = { entries: [], checkpoints: [] };
  let n = 0;
  try {
    const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
    for await (const line of lines) {
      n++;
      if (line === '') continue;
      const record = parseExportLine(line, n);
      if (record.type === 'export') {
        if (n !== 1) throw exportError('the export header must be the first line', n);
      } else if (record.type === 'checkpoint') out.checkpoints.push({ text: record.text });
      else {
        out.entries.push(
          record.seq === undefined
            ? { index: record.index, data: record.data }
            : { index: record.index, seq: record.seq, data: record.data },
        );
      }
    }
  } catch (err) {
    if (isMosaicError(err)) throw err;
    throw new MosaicError(ErrorCode.Io, `cannot read the audit export ${path}`, {
      details: { path },
      cause: err,
    });
  }
  return out;
}

/** What {@link writeAuditExport} writes: entries in log order (bare bytes get index = position). */
export interface AuditExportInput {
  entries: Iterable<Uint8Array | AuditLogItem> | AsyncIterable<Uint8Array | AuditLogItem>;
  checkpoints: readonly (string | { text: string })[];
}

/**
 * Writes an audit export file: the header, each entry, and each checkpoint after the entry
 * that completes its tree size. Resolves with the counts written. Throws ERR_IO.
 *
 * @example
 * ```ts
 * await writeAuditExport('audit.ndjson', { entries: messages.map((m) => ({ index: m.seq - 1, seq: m.seq, data: m.data })), checkpoints });
 * ```
 */
export async function writeAuditExport(
  path: string,
  input: AuditExportInput,
): Promise<{ entries: number; checkpoints: number }> {
  const pending = input.checkpoints
    .map((c) => (typeof c === 'string' ? c : c.text))
    .map((text) => ({ text, size: parseCheckpoint(text).size }));
  const stream = createWriteStream(path, { flags: 'w', mode: 0o600 });
  const failed = once(stream, 'error').then(([err]: unknown[]) => {
    throw new MosaicError(ErrorCode.Io, `cannot write the audit export ${path}`, {
      details: { path },
      cause: err,
    });
  });
  failed.catch(() => undefined);
  const write = async (record: AuditExportRecord): Promise<void> => {
    if (!stream.write(`${formatExportLine(record)}\n`))
      await Promise.race([once(stream, 'drain'), failed]);
  };
  let entries = 0;
  let written = 0;
  const flushCheckpoints = async (size: number, all: boolean): Promise<void> => {
    while (written < pending.length && (all || (pending[written]?.size ?? 0) <= size)) {
      await write({ type: 'checkpoint', text: (pending[written] as { text: string }).text });
      written++;
    }
  };
  await write({ type: 'export', format: exportFormat.name, version: exportFormat.version });
  await flushCheckpoints(0, false);
  for await (const e of input.entries) {
    const item = e instanceof Uint8Array ? { index: entries, data: e } : e;
    await write({
      type: 'entry',
      index: item.index,
      ...(item.seq === undefined ? {} : { seq: item.seq }),
      data: encodeBase64(item.data),
    });
    entries++;
    await flushCheckpoints(entries, false);
  }
  await flushCheckpoints(entries, true);
  stream.end();
  await Promise.race([once(stream, 'finish'), failed]);
  return { entries, checkpoints: written };
}
