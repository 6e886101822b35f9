/** Tasks run under a limit; see `limit`. */
export interface Limit<K> {
  /** Most tasks running at once. */
  readonly max: number;
  /** Tasks running now. */
  readonly size: number;
  /**
   * Resolves once fewer than `max` tasks run. A consumer loop awaits it before it takes the
   * next message, so a busy instance leaves messages with the broker (or another instance).
   */
  free(): Promise<void>;
  /**
   * Runs `task` under `key`; resolves when it is done, never rejects (see `onError`). Does
   * not wait for room: call `free()` first.
   */
  run(key: K, task: () => Promise<void>): Promise<void>;
  /** The running task of `key`, to wait for it. */
  running(key: K): Promise<void> | undefined;
  /** Resolves once every task started so far is done. */
  idle(): Promise<void>;
}

export interface LimitOptions {
  /**
   * Called with what a task threw. A task is expected to settle its own failures (answer,
   * nak); this is the last word on one that did not, so it never becomes an unhandled
   * rejection.
   */
  onError: (err: unknown) => void;
}

/**
 * At most `max` (at least 1) tasks at a time, keyed so that a task can wait for another one
 * it depends on.
 *
 * @example
 * ```ts
 * const tasks = limit<number>(64, { onError: (err) => log.error({ err }, 'handler failed') });
 * for await (const msg of messages) {
 *   await tasks.free();
 *   void tasks.run(msg.seq, () => handle(msg));
 * }
 * await tasks.idle();
 * ```
 */
export function limit<K>(max: number, options: LimitOptions): Limit<K> {
  const bound = Math.max(1, Math.floor(max));
  const all = new Set<Promise<void>>();
  // A key seen again while its first task runs (a redelivery) names the later task.
  const byKey = new Map<K, Promise<void>>();
  return {
    max: bound,
    get size() {
      return all.size;
    },
    async free() {
      while (all.size >= bound) await Promise.race(all);
    },
    run(key, task) {
      // Started after it is registered, so even a task that throws at once is counted and let go.
      const running: Promise<void> = Promise.resolve()
        .then(task)
        .catch((err: unknown) => {
          options.onError(err);
        })
        .finally(() => {
          all.delete(running);
          if (byKey.get(key) === running) byKey.delete(key);
        });
      all.add(running);
      byKey.set(key, running);
      return running;
    },
    running: (key) => byKey.get(key),
    async idle() {
      while (all.size > 0) await Promise.all(all);
    },
  };
}
