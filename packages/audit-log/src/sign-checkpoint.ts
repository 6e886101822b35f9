import { parseCheckpointBody } from './checkpoint.ts';
import { assertKeyName, privateKeyObject, rawPublicKey, type HubSigningKey } from './hub-key.ts';
import { signatureLine } from './note.ts';

/**
 * Signs a checkpoint body (from {@link formatCheckpoint}) with the hub's Ed25519 key and
 * returns the C2SP signed note: the body, a blank line, `— <name> <base64(key id || sig)>`.
 * Throws ERR_CHECKPOINT for a malformed body or key name, ERR_KEY_FILE for a bad key.
 *
 * @example
 * ```ts
 * const signed = signCheckpoint(formatCheckpoint({ origin: key.name, size: log.size, root: log.root() }), key);
 * ```
 */
export function signCheckpoint(checkpoint: string, key: HubSigningKey): string {
  const { body } = parseCheckpointBody(checkpoint);
  assertKeyName(key.name);
  const privateKey = privateKeyObject(key.name, key.privateJwk);
  const publicKey = rawPublicKey(key.name, key.privateJwk);
  return `${body}\n${signatureLine(body, key.name, privateKey, publicKey)}`;
}
