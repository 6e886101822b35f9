import { ErrorCode, MosaicError, isMosaicError } from '@mosaic/errors';
import {
  HUB_API_PREFIX,
  PUBLIC_KEYS_BUCKET,
  parsePublicKeyRecord,
  publicKeyEntry,
} from '@mosaic/protocol';
import type { KeyLookup, KeyRecord } from '@mosaic/signing';
import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';

/** Options of `keysFromHub`. */
export interface KeysFromHubOptions {
  /**
   * How long a key found stays cached, in ms; default 5 000. A revocation reaches the
   * subscriber at most this late (and alerts stored before it still verify).
   */
  cacheMs?: number;
  /**
   * How long to keep looking for a kid the bucket does not hold yet, in ms; default 2 000.
   * The hub projects a new key right after the registry changes, so an alert signed with a
   * key rotated a moment ago may arrive first.
   */
  missWaitMs?: number;
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The public keys the hub projects from its registry (bucket `mosaic-keys`, one entry per
 * key with its validity and revocation), read over the agency's own connection: agencies
 * may read single entries there but not the registry, and cannot write. Each record is
 * checked (public key, kid) before use. Throws ERR_UNAVAILABLE when the bucket cannot be
 * read, ERR_KEY_FILE when an entry is not a usable key record.
 *
 * Trusting it means trusting the hub to distribute the right keys; an agency that does not
 * pins keys instead with `readPublicKeyFile(jwks)` from `@mosaic/signing`.
 *
 * @example
 * ```ts
 * await using agency = await connectAgency({ context });
 * const keys = keysFromHub(agency);
 * await agency.subscribe(handle, { keys }); // the default
 * ```
 */
export function keysFromHub(
  client: { readonly connection: NatsConnection },
  options: KeysFromHubOptions = {},
): KeyLookup {
  const cacheMs = options.cacheMs ?? 5_000;
  const missWaitMs = options.missWaitMs ?? 2_000;
  let bucket: Promise<KV> | undefined;
  const cache = new Map<string, { record: KeyRecord; until: number }>();

  const read = async (entry: string): Promise<{ operation: string; string(): string } | null> => {
    try {
      bucket ??= new Kvm(jetstream(client.connection, { apiPrefix: HUB_API_PREFIX })).open(
        PUBLIC_KEYS_BUCKET,
        { allow_direct: true },
      );
      return await (await bucket).get(entry);
    } catch (err) {
      throw new MosaicError(
        ErrorCode.Unavailable,
        `cannot read the hub's public keys (${PUBLIC_KEYS_BUCKET}): ${err instanceof Error ? err.message : String(err)}`,
        { details: { bucket: PUBLIC_KEYS_BUCKET, entry }, cause: err },
      );
    }
  };

  return {
    async resolve(kid) {
      const entry = publicKeyEntry(kid);
      if (entry === undefined) return undefined;
      const cached = cache.get(kid);
      if (cached !== undefined && cached.until > Date.now()) return cached.record;
      const deadline = Date.now() + missWaitMs;
      for (;;) {
        const found = await read(entry);
        if (found !== null && found.operation === 'PUT') {
          let record: KeyRecord;
          try {
            record = parsePublicKeyRecord(kid, found.string());
          } catch (err) {
            if (!isMosaicError(err)) throw err;
            throw new MosaicError(ErrorCode.KeyFile, `the hub's key record ${kid} is unusable`, {
              details: { kid },
              cause: err,
            });
          }
          cache.set(kid, { record, until: Date.now() + cacheMs });
          return record;
        }
        // A deleted key is gone for good; a missing one may be on its way.
        if (found !== null || Date.now() >= deadline) return undefined;
        await delay(Math.min(200, Math.max(0, deadline - Date.now())));
      }
    },
  };
}
