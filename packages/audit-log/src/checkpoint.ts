import { ErrorCode, MosaicError } from '@mosaic/errors';
import { decodeBase64, encodeBase64 } from './base64.ts';
import { HASH_SIZE, isHash } from './hash.ts';
import { assertNoteText, checkpointError, parseNote, type NoteSignature } from './note.ts';

/** What a checkpoint commits to: the log's origin, its tree size and its root hash. */
export interface Checkpoint {
  origin: string;
  size: number;
  root: Uint8Array;
}

/** A parsed (not verified) checkpoint: its fields, extension lines, signed body, signatures. */
export interface ParsedCheckpoint extends Checkpoint {
  extensions: string[];
  body: string;
  signatures: NoteSignature[];
}

const SIZE_PATTERN = /^(?:0|[1-9][0-9]{0,15})$/;

function assertOrigin(origin: unknown): asserts origin is string {
  if (
    typeof origin !== 'string' ||
    origin.length === 0 ||
    origin.length > 256 ||
    /[\n]/.test(origin)
  )
    throw checkpointError('the origin must be one non-empty line of at most 256 characters');
}

/**
 * The C2SP tlog-checkpoint body: `<origin>\n<size>\n<base64 root>\n` (plus any extension
 * lines), the text a hub key signs.
 *
 * @example
 * ```ts
 * formatCheckpoint({ origin: 'mosaic-hub', size: 2, root }); // 'mosaic-hub\n2\nq1w2…=\n'
 * ```
 */
export function formatCheckpoint(
  checkpoint: Checkpoint & { extensions?: readonly string[] },
): string {
  const { origin, size, root } = checkpoint;
  assertOrigin(origin);
  if (!Number.isSafeInteger(size) || size < 0)
    throw checkpointError(`the tree size ${String(size)} is not a non-negative integer`);
  if (!isHash(root)) throw checkpointError(`the root must be a ${HASH_SIZE}-byte hash`);
  const extensions = checkpoint.extensions ?? [];
  for (const line of extensions)
    if (line.length === 0 || line.includes('\n'))
      throw checkpointError('an extension line must be one non-empty line');
  const text = [origin, String(size), encodeBase64(root), ...extensions].join('\n') + '\n';
  assertNoteText(text);
  return text;
}

/** Parses a checkpoint body (no signatures). */
export function parseCheckpointBody(body: string): Omit<ParsedCheckpoint, 'signatures'> {
  assertNoteText(body);
  const lines = body.slice(0, -1).split('\n');
  const [origin, size, root, ...extensions] = lines;
  assertOrigin(origin);
  if (size === undefined || !SIZE_PATTERN.test(size) || !Number.isSafeInteger(Number(size)))
    throw checkpointError('the second line is not a tree size in decimal', { line: size });
  const rootBytes = root === undefined ? undefined : decodeBase64(root);
  if (rootBytes?.length !== HASH_SIZE)
    throw checkpointError('the third line is not a base64 SHA-256 root hash', { line: root });
  if (extensions.some((line) => line.length === 0))
    throw checkpointError('the checkpoint has an empty line inside its body');
  return { origin, size: Number(size), root: rootBytes, extensions, body };
}

/**
 * Parses a checkpoint — a signed note or a bare body — WITHOUT verifying any signature.
 * Use {@link verifyCheckpoint} for anything you rely on. Throws ERR_CHECKPOINT.
 *
 * @example
 * ```ts
 * parseCheckpoint(text).size; // e.g. 1000
 * ```
 */
export function parseCheckpoint(text: string): ParsedCheckpoint {
  if (typeof text !== 'string')
    throw new MosaicError(ErrorCode.Checkpoint, 'a checkpoint must be a string');
  if (!text.includes('\n\n')) return { ...parseCheckpointBody(text), signatures: [] };
  const note = parseNote(text);
  return { ...parseCheckpointBody(note.text), signatures: note.signatures };
}
