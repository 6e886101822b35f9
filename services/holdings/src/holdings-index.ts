import type { HoldingRecord } from '@mosaic/protocol';

/**
 * The holdings bucket in memory: token → holder → record, and holder → tokens. Loaded once
 * from the bucket at start, then changed only together with the bucket by the one holdings
 * service that writes it, so a check sees every registration answered before it.
 */
export class HoldingsIndex {
  readonly #byToken = new Map<string, Map<string, HoldingRecord>>();
  readonly #byHolder = new Map<string, Map<string, HoldingRecord>>();

  /** Holdings in the index. */
  get size(): number {
    let n = 0;
    for (const tokens of this.#byHolder.values()) n += tokens.size;
    return n;
  }

  set(holder: string, token: string, record: HoldingRecord): void {
    const holders = this.#byToken.get(token) ?? new Map<string, HoldingRecord>();
    holders.set(holder, record);
    this.#byToken.set(token, holders);
    const tokens = this.#byHolder.get(holder) ?? new Map<string, HoldingRecord>();
    tokens.set(token, record);
    this.#byHolder.set(holder, tokens);
  }

  delete(holder: string, token: string): boolean {
    const holders = this.#byToken.get(token);
    if (holders?.delete(holder) !== true) return false;
    if (holders.size === 0) this.#byToken.delete(token);
    const tokens = this.#byHolder.get(holder);
    tokens?.delete(token);
    if (tokens?.size === 0) this.#byHolder.delete(holder);
    return true;
  }

  /** The record of one holding, or undefined. */
  get(holder: string, token: string): HoldingRecord | undefined {
    return this.#byToken.get(token)?.get(holder);
  }

  /** Every holder of a token with its record. */
  holdersOf(token: string): ReadonlyMap<string, HoldingRecord> {
    return this.#byToken.get(token) ?? new Map<string, HoldingRecord>();
  }

  /** The tokens one holder has registered. */
  tokensOf(holder: string): string[] {
    return [...(this.#byHolder.get(holder)?.keys() ?? [])];
  }
}
