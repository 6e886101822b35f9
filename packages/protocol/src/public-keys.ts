import { ErrorCode, MosaicError } from '@mosaic/errors';
import { parseKid, staticKeyLookup, type KeyRecord } from '@mosaic/signing';
import { keyRecordFor, type Federation } from '@mosaic/federation';

/**
 * The part of a `@nats-io/kv` bucket `syncPublicKeys` uses (structural, like `RegistryKv`):
 * `new Kvm(nc).create(PUBLIC_KEYS_BUCKET)` satisfies it.
 */
export interface PublicKeysKv {
  put(key: string, value: string): Promise<number>;
  get(key: string): Promise<{ operation: string; string(): string } | null>;
  delete(key: string): Promise<void>;
  keys(filter?: string): Promise<AsyncIterable<string>>;
}

/**
 * The entry of a key in the public-keys bucket: `<agency>.<keyId>`, or undefined when `kid`
 * is not of the form `<agency>/<keyId>` (such a kid resolves to nothing).
 */
export function publicKeyEntry(kid: string): string | undefined {
  const parts = parseKid(kid);
  return parts === undefined ? undefined : `${parts.agency}.${parts.keyId}`;
}

/**
 * Parses and checks an entry of the public-keys bucket: the key record JSON, whose kid must
 * be the one looked up. Throws ERR_KEY_FILE when it is not a usable public key record.
 */
export function parsePublicKeyRecord(kid: string, text: string): KeyRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    throw new MosaicError(ErrorCode.KeyFile, `public key entry ${kid} is not JSON`, {
      details: { kid },
      cause: err,
    });
  }
  const [record] = staticKeyLookup([value as KeyRecord]).records;
  if (record?.kid !== kid)
    throw new MosaicError(ErrorCode.KeyFile, `public key entry ${kid} holds another key`, {
      details: { kid, holds: record?.kid },
    });
  return record;
}

/**
 * Makes the public-keys bucket follow the registry: every key of `federation` with its
 * validity and revocation times, and every key the registry no longer holds — an agency
 * removed with `mosaic agency remove` — kept as **retired**: revoked at `now` unless it was
 * revoked before. What such a key signed while its agency was a member stays verifiable
 * (`acceptRevokedBefore` the stored time); nothing signed later is. Unchanged entries are
 * not rewritten, so calling it on every registry change costs reads only. An entry that is
 * not a key record (nothing the hub wrote) is deleted. Returns the entries written,
 * retired and deleted by this call.
 *
 * @example
 * ```ts
 * const kv = await new Kvm(operatorNc).create(PUBLIC_KEYS_BUCKET, { history: 4 });
 * await syncPublicKeys(kv, federation);
 * ```
 */
export async function syncPublicKeys(
  kv: PublicKeysKv,
  federation: Federation,
  now: Date = new Date(),
): Promise<{ written: string[]; retired: string[]; deleted: string[] }> {
  const wanted = new Map<string, string>();
  for (const agency of federation.agencies)
    for (const key of agency.keys) {
      const record = keyRecordFor(agency, key.keyId);
      if (record !== undefined) wanted.set(`${agency.id}.${key.keyId}`, JSON.stringify(record));
    }
  const written: string[] = [];
  for (const [entry, value] of wanted) {
    const current = await kv.get(entry);
    if (current?.operation === 'PUT' && current.string() === value) continue;
    await kv.put(entry, value);
    written.push(entry);
  }
  const retired: string[] = [];
  const deleted: string[] = [];
  for await (const entry of await kv.keys()) {
    if (wanted.has(entry)) continue;
    const current = await kv.get(entry);
    if (current?.operation !== 'PUT') continue;
    const dot = entry.indexOf('.');
    let record: KeyRecord;
    try {
      record = parsePublicKeyRecord(
        `${entry.slice(0, dot)}/${entry.slice(dot + 1)}`,
        current.string(),
      );
    } catch (err) {
      if (!(err instanceof MosaicError)) throw err;
      // Not a key record the hub wrote: nobody can verify with it, so it goes.
      await kv.delete(entry);
      deleted.push(entry);
      continue;
    }
    if (record.revokedAt !== undefined) continue;
    await kv.put(entry, JSON.stringify({ ...record, revokedAt: now.toISOString() }));
    retired.push(entry);
  }
  return { written, retired, deleted };
}
