import { ErrorCode, MosaicError } from '@mosaic/errors';
import { Streams } from '@mosaic/protocol';
import { jetstreamManager } from '@nats-io/jetstream';
import type { FaultCluster } from './cluster.ts';
import type { FaultSizes } from './faults.ts';
import type { Load } from './load.ts';

// What every fault injector shares: the run it acts on and the bounded waits it uses.

export const delay = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 120_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new MosaicError(
        ErrorCode.TestChild,
        `${what}: not within ${String(timeoutMs / 1000)} s`,
      );
    await delay(everyMs);
  }
}

/** How long one stream info of `replicasCurrent` waits for its answer before it is asked again. */
const PROBE_TIMEOUT_MS = 1_000;

/** ms from `t0` until a submission started at or after it is acknowledged. */
export function recovery(load: Load, t0: number): Promise<number> {
  return until(
    'a new submission acknowledged after the fault',
    () => {
      let first: number | undefined;
      for (const s of load.submissions.values())
        if (s.startedAt >= t0 && s.acked !== undefined)
          first = Math.min(first ?? Number.POSITIVE_INFINITY, s.acked.at);
      return Promise.resolve(first === undefined ? undefined : first - t0);
    },
    300_000,
    50,
  );
}

/**
 * Waits until every replica of REPORTS, ALERTS and AUDIT is current (a restarted node caught
 * up). Each stream info is asked with a short timeout: while a stream elects a leader nobody
 * answers it, and a request waiting the hub connection's 10 s would hold the check that long
 * after the stream is back.
 */
export async function replicasCurrent(cluster: FaultCluster): Promise<void> {
  const jsm = await jetstreamManager((await cluster.hub()).nc, {
    timeout: PROBE_TIMEOUT_MS,
    checkAPI: false,
  });
  await until(
    'every stream replica current',
    async () => {
      for (const name of [Streams.Reports, Streams.Alerts, Streams.Audit]) {
        try {
          const info = await jsm.streams.info(name);
          const replicas = info.cluster?.replicas ?? [];
          if (info.cluster?.leader === undefined || replicas.length < 2) return undefined;
          if (replicas.some((r) => !r.current || (r.offline ?? false))) return undefined;
        } catch (err) {
          if (!(err instanceof Error)) throw err;
          return undefined;
        }
      }
      return true;
    },
    180_000,
    100,
  );
}

export async function untilAcked(load: Load, n: number): Promise<void> {
  await until(`${String(n)} reports acknowledged`, () =>
    Promise.resolve(load.acked().length >= n ? true : undefined),
  );
}

export function ackRate(load: Load, from: number, to: number): number {
  const n = load
    .acked()
    .filter((s) => (s.acked?.at ?? 0) >= from && (s.acked?.at ?? 0) < to).length;
  return Math.round((n / Math.max((to - from) / 1000, 1e-3)) * 10) / 10;
}

export async function readyz(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(new URL('/readyz', url));
  return { status: res.status, body: await res.text() };
}

export interface FaultRun {
  cluster: FaultCluster;
  load: Load;
  sizes: FaultSizes;
  recoveryMs: number[];
  observations: string[];
  /** Processes the fault targets: their ends are not crashes. */
  targets: Set<string>;
  log: (line: string) => void;
}

/**
 * What a fault did. `destroyedReports`, `destroyedAudit`: sequences it destroyed on purpose
 * (a damaged store), which the check then expects `mosaic audit verify` to name, exactly.
 */
export type Injector = (run: FaultRun) => Promise<{
  cycles: number;
  did: string;
  destroyedReports?: number[];
  destroyedAudit?: number[];
}>;

export const pick = <T>(items: readonly T[]): T => {
  const item = items[Math.floor(Math.random() * items.length)];
  if (item === undefined) throw new MosaicError(ErrorCode.Internal, 'nothing to pick from');
  return item;
};
