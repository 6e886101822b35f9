import type { Logger } from '@mosaic/log';
import type { AuditClient } from '@mosaic/protocol';

type Entry = Parameters<AuditClient['record']>[0];

/**
 * Audit entries of decisions already stored (a report in REPORTS, a rejection in
 * REJECTIONS) whose write failed because the auditor or AUDIT could not be reached. The
 * agency is answered ERR_UNAVAILABLE at once, as before; the entry is written again in the
 * background (1 s, 2 s, … at most `maxDelayMs` apart) until it is stored. Without it, a
 * stored report whose agency stopped retrying had no collection entry until the auditor's
 * next start reconciled it, and `mosaic audit verify` failed meanwhile. An agency's retry
 * that is audited first adds its own entry (`details.duplicate`), as any retry does.
 */
export class AuditBacklog {
  readonly #audit: AuditClient;
  readonly #log: Logger;
  readonly #firstDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #pending = new Set<Promise<void>>();
  readonly #sleepers = new Set<() => void>();
  /** Keys of owed entries another path has written since (`settled`). */
  readonly #settled = new Set<string>();
  #deadline = Number.POSITIVE_INFINITY;

  constructor(
    audit: AuditClient,
    log: Logger,
    o: { firstDelayMs?: number; maxDelayMs?: number } = {},
  ) {
    this.#audit = audit;
    this.#log = log;
    this.#firstDelayMs = o.firstDelayMs ?? 1_000;
    this.#maxDelayMs = o.maxDelayMs ?? 10_000;
  }

  /** Entries not written yet. */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * Writes `entry` in the background until it is stored (or `stop` gives up). A function
   * is asked first, again after each failure: it gives the entry owed, or undefined when
   * none is (e.g. a report whose append failed is looked up, and audited when stored).
   */
  add(
    entry: Entry | (() => Promise<Entry | undefined>),
    fields: Record<string, unknown>,
    key?: string,
  ): void {
    if (key !== undefined) this.#settled.delete(key);
    const task = this.#write(entry, fields, key).finally(() => {
      this.#pending.delete(task);
      if (key !== undefined) this.#settled.delete(key);
    });
    this.#pending.add(task);
  }

  async #write(
    owed: Entry | (() => Promise<Entry | undefined>),
    fields: Record<string, unknown>,
    key: string | undefined,
  ): Promise<void> {
    let wait = this.#firstDelayMs;
    for (let attempt = 1; ; attempt++) {
      await this.#sleep(wait);
      if (key !== undefined && this.#settled.has(key)) return;
      let entry: Entry | undefined;
      try {
        entry = typeof owed === 'function' ? await owed() : owed;
        if (entry === undefined) return;
        const { seq } = await this.#audit.record(entry);
        this.#log.warn(
          { ...fields, action: entry.action, auditSeq: seq, attempt },
          'audit entry written after all',
        );
        return;
      } catch (err) {
        if (Date.now() >= this.#deadline) {
          this.#log.error(
            { ...fields, action: entry?.action, err, attempt },
            'audit entry not written before the stop: left to the auditor to reconcile at its next start',
          );
          return;
        }
        wait = Math.min(wait * 2, this.#maxDelayMs);
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    const left = this.#deadline - Date.now();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(0, Math.min(ms, left)));
      this.#sleepers.add(wake);
    });
  }

  /**
   * The entry owed under `key` was written another way (the agency's retry was audited):
   * a pending lookup for it stops, so the report does not get a second entry from here.
   */
  settled(key: string): void {
    this.#settled.add(key);
  }

  /** Keeps trying for at most `graceMs` more, then gives up on what is left. */
  async stop(graceMs = 10_000): Promise<void> {
    this.#deadline = Date.now() + graceMs;
    // Sleepers retry right away: the stop is no time to wait for a backoff.
    for (const wake of [...this.#sleepers]) wake();
    await Promise.all([...this.#pending]);
  }
}
