import { sign, verify, type KeyObject } from 'node:crypto';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { decodeBase64, encodeBase64 } from './base64.ts';
import { equalBytes, sha256 } from './hash.ts';
import { isKeyName } from './hub-key.ts';

/** C2SP signed-note limits: a checkpoint note is tiny; refuse anything that is not. */
const MAX_NOTE_BYTES = 65_536;
const MAX_NOTE_SIGNATURES = 100;

/** The signature algorithm byte of Ed25519 in C2SP signed-note key ids. */
const ED25519_TYPE = 0x01;
const SIGNATURE_DASH = '\u2014 ';

/** One signature line of a note, unverified. */
export interface NoteSignature {
  name: string;
  keyId: Uint8Array;
  signature: Uint8Array;
}

export interface ParsedNote {
  /** The signed text, ending in a newline. */
  text: string;
  signatures: NoteSignature[];
}

export function checkpointError(message: string, details?: unknown): MosaicError {
  return new MosaicError(ErrorCode.Checkpoint, message, details === undefined ? {} : { details });
}

/**
 * The C2SP signed-note key id of an Ed25519 key: the first 4 bytes of
 * SHA-256(name || 0x0A || 0x01 || 32-byte public key).
 */
export function noteKeyId(name: string, publicKey: Uint8Array): Uint8Array {
  const enc = new TextEncoder();
  return sha256(enc.encode(name), new Uint8Array([0x0a, ED25519_TYPE]), publicKey).slice(0, 4);
}

/** Text a note may carry: no control characters but the newline (C2SP signed-note). */
// eslint-disable-next-line no-control-regex
const FORBIDDEN_TEXT = /[\u0000-\u0009\u000b-\u001f\u007f]/;

export function assertNoteText(text: string): void {
  if (!text.endsWith('\n')) throw checkpointError('the note text does not end with a newline');
  if (FORBIDDEN_TEXT.test(text)) throw checkpointError('the note holds a control character');
  if (Buffer.from(text, 'utf8').toString('utf8') !== text)
    throw checkpointError('the note is not well-formed Unicode');
}

/** Splits a signed note into its text and signature lines (nothing is verified here). */
export function parseNote(note: string): ParsedNote {
  if (typeof note !== 'string') throw checkpointError('a signed note must be a string');
  if (Buffer.byteLength(note, 'utf8') > MAX_NOTE_BYTES)
    throw checkpointError(`the note is larger than ${MAX_NOTE_BYTES} bytes`);
  assertNoteText(note);
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw checkpointError('the note has no signature block (blank line)');
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES)
    throw checkpointError(`the note has more than ${MAX_NOTE_SIGNATURES} signatures`);
  const signatures = lines.map((line, i) => {
    const fields = line.startsWith(SIGNATURE_DASH) ? line.slice(2).split(' ') : [];
    const [name, b64] = fields;
    const bytes = fields.length === 2 && b64 !== undefined ? decodeBase64(b64) : undefined;
    if (!isKeyName(name) || bytes === undefined || bytes.length < 5)
      throw checkpointError(`signature line ${i + 1} is not '— <key name> <base64>'`, { line });
    return { name, keyId: bytes.slice(0, 4), signature: bytes.slice(4) };
  });
  return { text, signatures };
}

/** The signature line for `text` by an Ed25519 key. */
export function signatureLine(
  text: string,
  name: string,
  privateKey: KeyObject,
  publicKey: Uint8Array,
): string {
  const signature = sign(null, new TextEncoder().encode(text), privateKey);
  const blob = new Uint8Array(4 + signature.length);
  blob.set(noteKeyId(name, publicKey), 0);
  blob.set(signature, 4);
  return `${SIGNATURE_DASH}${name} ${encodeBase64(blob)}\n`;
}

/** A verifier key of a note: its name, raw public key and key object. */
export interface NoteVerifier {
  name: string;
  publicKey: Uint8Array;
  key: KeyObject;
}

/**
 * Verifies a signed note: at least one signature by a known key (same name and key id)
 * must verify, and no signature by a known key may fail. Returns the note's text.
 */
export function verifyNote(note: string, verifiers: readonly NoteVerifier[]): ParsedNote {
  const parsed = parseNote(note);
  const data = new TextEncoder().encode(parsed.text);
  let verified = 0;
  for (const sig of parsed.signatures) {
    for (const v of verifiers) {
      if (v.name !== sig.name || !equalBytes(noteKeyId(v.name, v.publicKey), sig.keyId)) continue;
      if (sig.signature.length !== 64 || !verify(null, data, v.key, sig.signature))
        throw checkpointError(`the signature by key ${sig.name} does not verify`, {
          name: sig.name,
        });
      verified++;
    }
  }
  if (verified === 0)
    throw checkpointError('the note has no signature by a known key', {
      names: parsed.signatures.map((s) => s.name),
    });
  return parsed;
}
