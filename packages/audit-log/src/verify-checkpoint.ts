import { parseCheckpointBody, type Checkpoint } from './checkpoint.ts';
import { publicKeyObject, rawPublicKey, type HubPublicKey } from './hub-key.ts';
import { checkpointError, verifyNote, type NoteVerifier } from './note.ts';

/** Options of {@link verifyCheckpoint}. */
export interface VerifyCheckpointOptions {
  /** Refuse a checkpoint of another log. */
  origin?: string;
}

/** Prepared verifier keys, so a long run of checkpoints imports each key once. */
export function noteVerifiers(keys: readonly HubPublicKey[]): NoteVerifier[] {
  return keys.map((k) => ({
    name: k.name,
    publicKey: rawPublicKey(k.name, k.publicJwk),
    key: publicKeyObject(k.name, k.publicJwk),
  }));
}

export function verifyCheckpointWith(
  text: string,
  verifiers: readonly NoteVerifier[],
  options: VerifyCheckpointOptions = {},
): Checkpoint {
  const note = verifyNote(text, verifiers);
  const { origin, size, root } = parseCheckpointBody(note.text);
  if (options.origin !== undefined && origin !== options.origin)
    throw checkpointError(`the checkpoint is for origin ${JSON.stringify(origin)}`, { origin });
  return { origin, size, root };
}

/**
 * Verifies a signed checkpoint against trusted hub keys and returns what it commits to.
 * Throws ERR_CHECKPOINT when the note is malformed, no signature is by a known key, or a
 * known key's signature is invalid.
 *
 * @example
 * ```ts
 * const { size, root } = verifyCheckpoint(text, hubKeysFromJwks(jwks));
 * ```
 */
export function verifyCheckpoint(
  text: string,
  keys: readonly HubPublicKey[],
  options: VerifyCheckpointOptions = {},
): Checkpoint {
  return verifyCheckpointWith(text, noteVerifiers(keys), options);
}
