import { ErrorCode, MosaicError } from '@mosaic/errors';

const DAY_MS = 86_400_000;

export interface QuotaLedgerOptions {
  /** Evaluations an agency may ask for per UTC day. */
  perDay: number;
  /** Per-agency quotas that replace `perDay`. */
  perAgency?: Readonly<Record<string, number>>;
  /** The clock, in milliseconds since the epoch (injected so days can be tested). */
  now: () => number;
}

function assertCount(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new MosaicError(ErrorCode.Usage, `${what} must be a non-negative integer`, {
      details: { [what]: value },
    });
}

/**
 * Per-agency count of selector evaluations in the current UTC day, in memory. The key
 * service charges a batch before evaluating it, so a refused batch costs no scalar
 * multiplication; a batch that is then refused as malformed stays charged, so probing with
 * garbage is not free.
 *
 * @example
 * ```ts
 * const ledger = new QuotaLedger({ perDay: 10_000, now: Date.now });
 * const answer = ledger.run('nl-police', blinded.length, () => evaluateBatch(sk, blinded, ctx));
 * ```
 */
export class QuotaLedger {
  readonly #perDay: number;
  readonly #perAgency: ReadonlyMap<string, number>;
  readonly #now: () => number;
  #day = Number.NaN;
  #used = new Map<string, number>();

  constructor(options: QuotaLedgerOptions) {
    assertCount(options.perDay, 'perDay');
    const perAgency = new Map(Object.entries(options.perAgency ?? {}));
    for (const quota of perAgency.values()) assertCount(quota, 'perAgency');
    this.#perDay = options.perDay;
    this.#perAgency = perAgency;
    this.#now = options.now;
  }

  /** The agency's quota per day. */
  quota(agency: string): number {
    return this.#perAgency.get(agency) ?? this.#perDay;
  }

  /** Evaluations the agency has used today. */
  used(agency: string): number {
    this.#rollOver();
    return this.#used.get(agency) ?? 0;
  }

  /**
   * Records `count` evaluations for the agency, or throws ERR_QUOTA_EXCEEDED and records
   * nothing when they would take it over its quota for the day.
   */
  charge(agency: string, count: number): void {
    assertCount(count, 'count');
    const used = this.used(agency);
    const quota = this.quota(agency);
    if (used + count > quota)
      throw new MosaicError(
        ErrorCode.QuotaExceeded,
        `${agency} would exceed its daily quota of ${quota} selector evaluations`,
        {
          details: {
            agency,
            quota,
            used,
            requested: count,
            resetsAt: new Date((this.#day + 1) * DAY_MS).toISOString(),
          },
        },
      );
    this.#used.set(agency, used + count);
  }

  /** Charges `count` evaluations, then runs `evaluate`; refused, it never runs it. */
  run<T>(agency: string, count: number, evaluate: () => T): T {
    this.charge(agency, count);
    return evaluate();
  }

  #rollOver(): void {
    const day = Math.floor(this.#now() / DAY_MS);
    if (day === this.#day) return;
    this.#day = day;
    this.#used = new Map();
  }
}
