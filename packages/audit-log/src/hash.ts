import { createHash } from 'node:crypto';
import { ErrorCode, MosaicError } from '@mosaic/errors';

/** Bytes in a SHA-256 hash, the only hash of the log. */
export const HASH_SIZE = 32;

const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = new Uint8Array([0x01]);

/** SHA-256 of the concatenated parts, as a plain Uint8Array (not a pooled Buffer). */
export function sha256(...parts: readonly Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const part of parts) h.update(part);
  return new Uint8Array(h.digest());
}

/** MTH({}) of RFC 9162 §2.1.1: the hash of the empty string. */
export const EMPTY_ROOT: Uint8Array = sha256();

/**
 * The RFC 9162 leaf hash, `SHA-256(0x00 || data)`. The leaf of an audit entry is the
 * hash of its exact stored bytes.
 *
 * @example
 * ```ts
 * const leaf = leafHash(encodeEntry(entry));
 * ```
 */
export function leafHash(data: Uint8Array): Uint8Array {
  return sha256(LEAF_PREFIX, data);
}

/** The RFC 9162 interior node hash, `SHA-256(0x01 || left || right)`. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(NODE_PREFIX, left, right);
}

/** Constant-shape comparison of two byte strings (lengths are public). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

export function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === HASH_SIZE;
}

export function assertHash(value: unknown, what: string): asserts value is Uint8Array {
  if (!isHash(value))
    throw new MosaicError(ErrorCode.AuditProof, `${what} must be a ${HASH_SIZE}-byte SHA-256 hash`);
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
