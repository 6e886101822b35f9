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

  /** Writes `entry` in the background until it is stored (or `stop` gives up). */
  add(entry: Entry, fields: Record<string, unknown>): void {
    const task = this.#write(entry, fields).finally(() => {
      this.#pending.delete(task);
    });
    this.#pending.add(task);
  }

  async #write(entry: Entry, fields: Record<string, unknown>): Promise<void> {
    let wait = this.#firstDelayMs;
    for (let attempt = 1; ; attempt++) {
      await this.#sleep(wait);
      try {
        const { seq } = await this.#audit.record(entry);
        this.#log.warn(
          { ...fields, action: entry.action, auditSeq: seq, attempt },
          'audit entry written after all',
        );
        return;
      } catch (err) {
        if (Date.now() >= this.#deadline) {
          this.#log.error(
            { ...fields, action: entry.action, err, attempt },
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

  /** Keeps trying for at most `graceMs` more, then gives up on what is left. */
  async stop(graceMs = 10_000): Promise<void> {
    this.#deadline = Date.now() + graceMs;
    // Sleepers retry right away: the stop is no time to wait for a backoff.
    for (const wake of [...this.#sleepers]) wake();
    await Promise.all([...this.#pending]);
  }
}
