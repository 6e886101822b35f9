const ALPHABET = /^[A-Za-z0-9_-]*$/;

/**
 * Decodes unpadded base64url, or returns `undefined` unless the text is the one canonical
 * encoding of its bytes. Refusing non-zero padding bits leaves a JWS exactly one spelling, so
 * a flipped low bit cannot produce a second, equally "valid" token.
 */
export function decodeBase64url(text: string): Uint8Array | undefined {
  if (!ALPHABET.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) return undefined;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
