/** A forward cursor over a sync or async iterable, with look-ahead for failure analysis. */
export class Cursor<T> {
  readonly #it: Iterator<T> | AsyncIterator<T>;
  readonly #ahead: T[] = [];
  #done = false;

  constructor(source: Iterable<T> | AsyncIterable<T>) {
    this.#it =
      Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
  }

  async #pull(): Promise<T | undefined> {
    if (this.#done) return undefined;
    const r = await this.#it.next();
    if (r.done === true) {
      this.#done = true;
      return undefined;
    }
    return r.value;
  }

  async next(): Promise<T | undefined> {
    return this.#ahead.length > 0 ? this.#ahead.shift() : this.#pull();
  }

  /** The item `k` places ahead (0 = the next one), read into memory if needed. */
  async peek(k = 0): Promise<T | undefined> {
    while (this.#ahead.length <= k) {
      const item = await this.#pull();
      if (item === undefined) return undefined;
      this.#ahead.push(item);
    }
    return this.#ahead[k];
  }
}
