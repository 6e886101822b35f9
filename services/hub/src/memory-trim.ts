/**
 * Gives the memory a hub process has freed back to the operating system.
 *
 * glibc's `malloc` keeps what a process frees and returns to the system only a free block at
 * the top of its heap. A hub's start-up frees tens of MB that later, longer-lived allocations
 * pin in the middle of the heap, so a hub holds ~30 MB it no longer uses from the moment it is
 * ready (measured: docs/performance.md, "Freed memory given back"). glibc's `malloc_trim(0)`
 * releases every whole free page of every arena; node does not call it, so the hub does,
 * through `koffi` (a foreign-function interface with prebuilt binaries): once when asked to
 * start and then every `intervalMs`. A call walks every free block and blocks the event loop
 * while it does: ~12–20 ms in a hub under the bench's load, well under 1 % of its time at one
 * call per 10 s.
 *
 * `koffi` is an optional dependency: where there is no glibc (`musl`, macOS, Windows), `koffi`
 * has no binary for the platform, or it was not installed (`npm ci --omit=optional`), this
 * does nothing and says why in `via` and `reason`: the hub then holds that memory, as it
 * always did. It changes how much memory the process holds, never what it does.
 */
import { createRequire } from 'node:module';
import type * as Koffi from 'koffi';

/** How often a running hub gives freed memory back: 10 s, so a burst's garbage does not linger. */
export const MEMORY_TRIM_INTERVAL_MS = 10_000;

export interface MemoryTrim {
  /** `'malloc_trim'` when glibc's was found and called; `'unavailable'` otherwise. */
  readonly via: 'malloc_trim' | 'unavailable';
  /** Why not, when `via` is `'unavailable'`. */
  readonly reason?: string;
  /** Gives freed memory back now; true when glibc released some. */
  trimNow(): boolean;
  /** Stops the periodic trim (the timer never keeps the process alive either way). */
  stop(): void;
}

type Trim = (pad: number) => number;

let found: { trim: Trim } | { reason: string } | undefined;

/** glibc's `malloc_trim`, looked up once per process. */
function mallocTrim(): { trim: Trim } | { reason: string } {
  if (found !== undefined) return found;
  if (process.platform !== 'linux') return (found = { reason: `no glibc on ${process.platform}` });
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof Koffi;
    // The process's own symbols: glibc's malloc_trim when node runs on glibc, none on musl.
    const trim = koffi.load(null).func('int malloc_trim(size_t pad)') as Trim;
    found = { trim };
  } catch (err) {
    found = { reason: (err as Error).message };
  }
  return found;
}

/**
 * Trims now and every `intervalMs` (default {@link MEMORY_TRIM_INTERVAL_MS}; 0: only now)
 * until `stop()`.
 */
export function startMemoryTrim(options: { intervalMs?: number } = {}): MemoryTrim {
  const lookup = mallocTrim();
  if (!('trim' in lookup))
    return { via: 'unavailable', reason: lookup.reason, trimNow: () => false, stop: () => {} };
  const trimNow = (): boolean => {
    try {
      return lookup.trim(0) === 1;
    } catch {
      // Memory not given back is all a failed call can cost: never the hub itself.
      return false;
    }
  };
  trimNow();
  const intervalMs = options.intervalMs ?? MEMORY_TRIM_INTERVAL_MS;
  const timer = intervalMs > 0 ? setInterval(trimNow, intervalMs).unref() : undefined;
  return {
    via: 'malloc_trim',
    trimNow,
    stop: () => {
      clearInterval(timer);
    },
  };
}

/**
 * What a hub process does once its services are up: {@link startMemoryTrim}, stopped by the
 * process's `cleanup` steps. Returns the ready log line's fields: `memoryTrim`, and
 * `memoryTrimReason` when it is unavailable.
 */
export function trimMemoryWhileUp(cleanup: (() => Promise<void>)[]): {
  memoryTrim: MemoryTrim['via'];
  memoryTrimReason?: string;
} {
  const trim = startMemoryTrim();
  cleanup.push(() => {
    trim.stop();
    return Promise.resolve();
  });
  return {
    memoryTrim: trim.via,
    ...(trim.reason === undefined ? {} : { memoryTrimReason: trim.reason }),
  };
}
