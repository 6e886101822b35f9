import type { FaultRun } from './run.ts';
import { percentile } from './table.ts';

/**
 * Where a repeated fault's cycles spend their time: each cycle marks the moments it reached
 * (ms since the cycle began, e.g. `restarted`, `acked`, `current`), the cycle's end is
 * logged with the mean so far and the time left, and `summary()` gives each mark's p50/max.
 */
export class CycleClock {
  readonly #run: FaultRun;
  readonly #id: string;
  readonly #cycles: number;
  readonly #first = Date.now();
  readonly #marks = new Map<string, number[]>();
  readonly #totals: number[] = [];
  #began = Date.now();

  constructor(run: FaultRun, id: string, cycles: number) {
    this.#run = run;
    this.#id = id;
    this.#cycles = cycles;
  }

  begin(): void {
    this.#began = Date.now();
  }

  /** Records that the cycle reached `what` now; returns ms since the cycle began. */
  mark(what: string): number {
    const ms = Date.now() - this.#began;
    const list = this.#marks.get(what) ?? [];
    list.push(ms);
    this.#marks.set(what, list);
    return ms;
  }

  end(): void {
    const total = Date.now() - this.#began;
    this.#totals.push(total);
    const done = this.#totals.length;
    const mean = (Date.now() - this.#first) / done;
    const marks = [...this.#marks].map(([what, list]) => `${what} ${String(list.at(-1) ?? 0)}`);
    this.#run.log(
      `${this.#id} cycle ${String(done)}/${String(this.#cycles)}: ${String(total)} ms (${marks.join(', ')}); ${(mean / 1000).toFixed(1)} s a cycle so far, ~${String(Math.ceil(((this.#cycles - done) * mean) / 60_000))} min left`,
    );
  }

  /** `cycle p50/max …; <mark> p50/max …` in seconds, for the result's observations. */
  summary(): string {
    const s = (ms: number | undefined): string => ((ms ?? 0) / 1000).toFixed(1);
    const of = (what: string, list: readonly number[]): string =>
      `${what} ${s(percentile(list, 50))}/${s(Math.max(...list))} s`;
    return `per cycle, p50/max since it began: ${[of('cycle', this.#totals), ...[...this.#marks].map(([what, list]) => of(what, list))].join(', ')}`;
  }
}

/**
 * Mean seconds a cycle took in the full long run on a 2-core machine, F1 and F3 on two
 * clusters at once (`npm run faults -- --long`, 25.6 minutes in all, load average 4–16 with
 * other test runs alongside), and what a cluster start plus the invariant check add. See
 * docs/reliability.md, "Long mode".
 */
const MEASURED_CYCLE_S: Readonly<Record<string, number>> = { F1: 6.0, F3: 7.3 };
const CLUSTER_AND_CHECK_S = 90;

/**
 * How long `ids` with `cycles` cycles each will take at the measured rates, each fault on
 * its own cluster at the same time (the long run), in a sentence.
 */
export function estimateLongRun(ids: readonly string[], cycles: number): string {
  const parts = ids.map((id) => ({ id, s: MEASURED_CYCLE_S[id] }));
  const known = parts.filter((p): p is { id: string; s: number } => p.s !== undefined);
  const slowest = Math.max(0, ...known.map((p) => p.s));
  const seconds = slowest * cycles + CLUSTER_AND_CHECK_S;
  const fit = slowest === 0 ? 0 : Math.floor((30 * 60 - CLUSTER_AND_CHECK_S) / slowest);
  return `estimate: ${known.map((p) => `${p.id} ${String(cycles)} × ~${String(p.s)} s`).join(', ')} at the same time + ~${String(CLUSTER_AND_CHECK_S)} s (cluster start, check) ≈ ${String(Math.round(seconds / 60))} min at the rates measured on a 2-core machine${known.length < ids.length ? ' (no rate known for the others)' : ''}; 30 min hold about ${String(fit)} cycles of each`;
}
