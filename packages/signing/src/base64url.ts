const ALPHABET = /^[A-Za-z0-9_-]*$/;
const DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * True when `text` is the one canonical unpadded base64url encoding of some bytes: only the
 * alphabet, no length that leaves a lone character, and zero padding bits in the last
 * character. The same verdict as decoding and re-encoding, without either.
 */
export function isCanonicalBase64url(text: string): boolean {
  if (!ALPHABET.test(text)) return false;
  const tail = text.length % 4;
  if (tail === 0) return true;
  if (tail === 1) return false;
  // The last character carries 2 (tail 2) or 4 (tail 3) bits beyond the last whole byte.
  const unused = tail === 2 ? 0x0f : 0x03;
  return (DIGITS.indexOf(text.charAt(text.length - 1)) & unused) === 0;
}

/**
 * Decodes unpadded base64url, or returns `undefined` unless the text is the one canonical
 * encoding of its bytes. Refusing non-zero padding bits leaves a JWS exactly one spelling, so
 * a flipped low bit cannot produce a second, equally "valid" token.
 */
export function decodeBase64url(text: string): Uint8Array | undefined {
  if (!isCanonicalBase64url(text)) return undefined;
  return decodeCheckedBase64url(text);
}

/** Decodes text that `isCanonicalBase64url` already passed (no check of its own). */
export function decodeCheckedBase64url(text: string): Uint8Array {
  const bytes = Buffer.from(text, 'base64url');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
