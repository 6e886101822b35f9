import { z } from 'zod';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import type { Checkpoint } from './checkpoint.ts';
import { decodeEntry } from './decode-entry.ts';
import { leafHash, toHex } from './hash.ts';
import { hubKeysFromJwks } from './hub-key.ts';
import type { MerkleLog } from './merkle-log.ts';
import { verifyCheckpoint } from './verify-checkpoint.ts';
import { verifyInclusion } from './verify-inclusion.ts';

/**
 * An inclusion proof file (`mosaic audit prove` writes it, `mosaic audit check-proof` reads
 * it): entry `index` (AUDIT seq - 1) of the log of `size` entries, its exact bytes, the RFC
 * 9162 audit path as lower-case hex, and the signed checkpoint of that size.
 */
export const proofFileSchema = z.object({
  index: z.number().int(),
  size: z.number().int(),
  /** Lower-case hex leaf hash of the entry. */
  leafHash: z.string(),
  /** The entry itself (base64), so the leaf hash can be recomputed from it. */
  entry: z.string(),
  proof: z.array(z.string().regex(/^[0-9a-f]{64}$/)),
  /** The signed checkpoint (C2SP signed note) the proof leads to. */
  checkpoint: z.string(),
});

/** What {@link proofFileSchema} accepts. */
export type ProofFile = z.infer<typeof proofFileSchema>;

const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const fromBase64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

function proofError(source: string, message: string): MosaicError {
  return new MosaicError(ErrorCode.ProofInvalid, `${source}: ${message}`, {
    details: { file: source },
  });
}

/**
 * The proof of entry `index` of `tree` against `checkpoint`, whose size the tree must hold.
 *
 * @example
 * ```ts
 * const proof = proveInclusion(tree, seq - 1, entryBytes, latestCheckpoint);
 * ```
 */
export function proveInclusion(
  tree: MerkleLog,
  index: number,
  entry: Uint8Array,
  checkpoint: { size: number; text: string },
): ProofFile {
  return {
    index,
    size: checkpoint.size,
    leafHash: toHex(leafHash(entry)),
    entry: Buffer.from(entry).toString('base64'),
    proof: tree.inclusionProof(index, checkpoint.size).map(toHex),
    checkpoint: checkpoint.text,
  };
}

/**
 * Reads a proof file's bytes (JSON, {@link proofFileSchema}). Throws ERR_PROOF_INVALID
 * naming `source` (the file name, or `-`).
 */
export function parseProofFile(bytes: Uint8Array, source: string): ProofFile {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    if (!(cause instanceof SyntaxError)) throw cause;
    throw proofError(source, 'not a proof file (JSON)');
  }
  const parsed = proofFileSchema.safeParse(value);
  if (!parsed.success)
    throw proofError(source, 'not a proof file: index, size, leafHash, entry, proof, checkpoint');
  return parsed.data;
}

/**
 * Checks a proof offline with the hub's JWKS: the checkpoint's signature, its size, that
 * the entry hashes to the leaf hash and that the audit path leads from that leaf to the
 * signed root. Resolves with what it proves; throws ERR_PROOF_INVALID naming `source`.
 *
 * @example
 * ```ts
 * const { index, action } = checkProofFile(parseProofFile(bytes, 'proof.json'), jwks, 'proof.json');
 * ```
 */
export function checkProofFile(
  proof: ProofFile,
  jwks: unknown,
  source: string,
): { index: number; size: number; action: string } {
  let cp: Checkpoint;
  try {
    cp = verifyCheckpoint(proof.checkpoint, hubKeysFromJwks(jwks));
  } catch (err) {
    if (!(err instanceof MosaicError)) throw err;
    throw proofError(source, `checkpoint refused: ${err.message}`);
  }
  if (cp.size !== proof.size)
    throw proofError(
      source,
      `the proof is for size ${proof.size}, the checkpoint signs ${cp.size}`,
    );
  const leaf = leafHash(fromBase64(proof.entry));
  if (toHex(leaf) !== proof.leafHash)
    throw proofError(source, 'the entry does not hash to the leaf hash');
  const ok = verifyInclusion({
    index: proof.index,
    size: proof.size,
    leafHash: leaf,
    proof: proof.proof.map(unhex),
    root: cp.root,
  });
  if (!ok)
    throw proofError(
      source,
      `the inclusion proof of index ${proof.index} does not lead to the signed root`,
    );
  const entry = decodeEntry(fromBase64(proof.entry));
  return { index: proof.index, size: proof.size, action: entry.action };
}
