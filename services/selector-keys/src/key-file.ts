import { readFile, stat, writeFile } from 'node:fs/promises';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import {
  blind,
  canonicalSelector,
  evaluateBatch,
  finalize,
  generateOprfKeyPair,
} from '@mosaic/selectors';
import { z } from 'zod';

/** The key service's OPRF key of one epoch. The secret never leaves the service. */
export interface SelectorKey {
  epoch: number;
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

const bytes32 = z
  .string()
  .regex(/^[A-Za-z0-9_-]{43}$/)
  .transform((s) => new Uint8Array(Buffer.from(s, 'base64url')));

const keyFileSchema = z.strictObject({
  v: z.literal(1),
  epoch: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  secretKey: bytes32,
  publicKey: bytes32,
});

function corrupt(path: string, problem: string, cause?: unknown): MosaicError {
  return new MosaicError(ErrorCode.HubDataDir, `${path}: ${problem}`, {
    details: { path },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** True when the key pair evaluates and proves consistently (a round trip on a fixed selector). */
function consistent(key: SelectorKey): boolean {
  const context = { kind: 'domain', epoch: key.epoch } as const;
  const pending = blind([canonicalSelector('domain', 'example.org')], key.publicKey, context);
  try {
    finalize(pending, evaluateBatch(key.secretKey, pending.blinded, context));
    return true;
  } catch (err) {
    if (err instanceof MosaicError && err.code === ErrorCode.OprfProof) return false;
    throw err;
  }
}

/**
 * The selector OPRF key of the hub in `path` (mode 0600, in the hub data dir), made at the
 * first start under epoch 1. A file readable by group or others, malformed, or whose
 * public key is not its secret key's is refused (ERR_HUB_DATA_DIR): the service must
 * never prove evaluations under a key clients do not expect.
 *
 * @example
 * ```ts
 * const key = await loadOrCreateSelectorKey(join(dataDir, 'selector-key.json'));
 * ```
 */
export async function loadOrCreateSelectorKey(path: string): Promise<SelectorKey> {
  const fresh = generateOprfKeyPair();
  const text = `${JSON.stringify({
    v: 1,
    epoch: 1,
    secretKey: Buffer.from(fresh.secretKey).toString('base64url'),
    publicKey: Buffer.from(fresh.publicKey).toString('base64url'),
  })}\n`;
  try {
    await writeFile(path, text, { mode: 0o600, flag: 'wx' });
    return { epoch: 1, ...fresh };
  } catch (err) {
    if (!(err instanceof Error && 'code' in err && err.code === 'EEXIST'))
      throw corrupt(path, 'cannot be created', err);
  }
  return readSelectorKey(path);
}

/** Reads an existing key file; see {@link loadOrCreateSelectorKey}. */
export async function readSelectorKey(path: string): Promise<SelectorKey> {
  let mode: number;
  let raw: string;
  try {
    mode = (await stat(path)).mode;
    raw = await readFile(path, 'utf8');
  } catch (err) {
    throw corrupt(path, 'cannot be read', err);
  }
  if ((mode & 0o077) !== 0) throw corrupt(path, 'is readable by others than its owner (chmod 600)');
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    throw corrupt(path, 'is not JSON', err);
  }
  const parsed = keyFileSchema.safeParse(value);
  if (!parsed.success) throw corrupt(path, 'is not a selector key file written by the hub');
  const key = parsed.data;
  if (!consistent(key)) throw corrupt(path, 'holds a public key that is not its secret key’s');
  return key;
}
