import { ErrorCode, MosaicError } from '@mosaic/errors';
import type { KeyRecord } from '@mosaic/signing';
import { readRegistry, type RegistryKv } from './registry.ts';
import { staticRegistryView, type Federation, type RegistryView } from '@mosaic/federation';

/**
 * The part of a `@nats-io/kv` bucket `watchRegistry` uses (structural, like `RegistryKv`):
 * `kv.watch()` yields every current entry, then every change.
 */
export interface WatchableRegistryKv extends RegistryKv {
  watch(): Promise<AsyncIterable<{ revision: number }> & { stop(): void }>;
  status(): Promise<{ streamInfo: { state: { last_seq: number } } }>;
}

/** A registry view that follows the KV registry. Dispose it to stop watching. */
export interface LiveRegistryView extends RegistryView, AsyncDisposable {
  /** Resolves after the first load; rejects (ERR_REGISTRY) when the registry is unusable. */
  readonly ready: Promise<void>;
  /** The highest bucket revision whose change the view has applied (0 before the first). */
  revision(): number;
  /** The error of the last reload that failed, cleared by the next one that succeeds. */
  lastError(): unknown;
  /** Stops watching; the view keeps answering with what it had. */
  close(): Promise<void>;
}

/** Options of `watchRegistry`. */
export interface WatchRegistryOptions {
  /**
   * Called, one call at a time, after each applied change with the new federation and
   * the revision it includes. An error thrown here is reported through `onError`.
   */
  onChange?: (federation: Federation, revision: number) => void | Promise<void>;
  /** A reload or `onChange` failed; the view keeps the last good federation. */
  onError?: (err: unknown) => void;
  /**
   * An entry was left out of the view (not JSON, unknown, or invalid: `readRegistry`'s
   * `onInvalidEntry`), at every reload that sees it. Default: reported through `onError`.
   */
  onInvalidEntry?: (key: string, error: MosaicError) => void;
}

/**
 * A `RegistryView` over the live KV registry: it reads the registry once (`ready`), then
 * on every KV update reads it again and swaps in a fresh `staticRegistryView`, so a key
 * revoked or an agency added applies to the next lookup without a restart. Updates that
 * arrive while a reload runs are coalesced into one more reload. An entry that is not JSON,
 * unknown or invalid is left out and reported (`onInvalidEntry`); a registry that fails to
 * read as a whole (no valid `meta`) is reported (`onError`, `lastError()`) and the previous
 * view is kept.
 *
 * @example
 * ```ts
 * await using view = watchRegistry(await new Kvm(js).open(REGISTRY_BUCKET));
 * await view.ready;
 * const ingest = await startIngest({ nc, registry: view });
 * ```
 */
export function watchRegistry(
  kv: WatchableRegistryKv,
  options: WatchRegistryOptions = {},
): LiveRegistryView {
  let current: RegistryView | undefined;
  let applied = 0;
  let wanted = 0;
  let failure: unknown;
  let reloading: Promise<void> | undefined;
  let closed = false;
  let watcher: { stop(): void } | undefined;

  const view = (): RegistryView => {
    if (current === undefined)
      throw new MosaicError(ErrorCode.Registry, 'the registry view is not loaded yet');
    return current;
  };

  // One bad entry (whoever wrote it) is left out and reported; it never freezes the view.
  const invalidEntry = (key: string, error: MosaicError): void => {
    if (options.onInvalidEntry === undefined) options.onError?.(error);
    else options.onInvalidEntry(key, error);
  };

  const load = async (): Promise<void> => {
    while (applied < wanted || current === undefined) {
      const target = wanted;
      const federation = await readRegistry(kv, { onInvalidEntry: invalidEntry });
      current = staticRegistryView(federation);
      applied = Math.max(applied, target);
      failure = undefined;
      await options.onChange?.(federation, target);
    }
  };

  const reload = (): Promise<void> => {
    reloading ??= load().finally(() => {
      reloading = undefined;
    });
    return reloading;
  };

  const report = (err: unknown): void => {
    failure = err;
    options.onError?.(err);
  };

  const ready = (async () => {
    const iterator = await kv.watch();
    watcher = iterator;
    if (closed) iterator.stop();
    // Everything up to the bucket's last revision is in the first read.
    wanted = (await kv.status()).streamInfo.state.last_seq;
    await reload();
    void (async () => {
      for await (const entry of iterator) {
        wanted = Math.max(wanted, entry.revision);
        // The watch first replays what the initial read already saw.
        if (entry.revision <= applied) continue;
        // Wait for this reload, so that a failure is reported and retried on the next change.
        await reload().catch(report);
      }
    })().catch(report);
  })();

  return {
    ready,
    federation: () => view().federation(),
    agency: (id) => view().agency(id),
    group: (id) => view().group(id),
    resolve: (kid): Promise<KeyRecord | undefined> => view().resolve(kid),
    revision: () => applied,
    lastError: () => failure,
    close() {
      closed = true;
      watcher?.stop();
      return Promise.resolve();
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}
