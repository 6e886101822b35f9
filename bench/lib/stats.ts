import type { HoldingsCheckResult, KeyServiceResult } from './holdings.ts';
import type { OprfRates } from './oprf.ts';
import type { ProfileSummary } from './profile.ts';
import type { IndexLookupResult } from './selector-index.ts';
import { formatTraffic, type Traffic } from './traffic.ts';

/**
 * The pure parts of the benchmark harness: percentiles, the limit and ratio computation,
 * the result file's shape and the printed table. No I/O, so `test/bench.test.ts` covers it.
 */

/** The `q`-quantile (0–1) of `sorted` (ascending), nearest-rank; NaN when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** p50/p95/p99/max of unsorted samples (milliseconds), rounded to 0.01. */
export function percentiles(samples: readonly number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const r = (n: number): number => Math.round(n * 100) / 100;
  return {
    count: sorted.length,
    p50: r(quantile(sorted, 0.5)),
    p95: r(quantile(sorted, 0.95)),
    p99: r(quantile(sorted, 0.99)),
    max: r(sorted.at(-1) ?? Number.NaN),
  };
}

export interface LimitInputs {
  /** Raw JetStream publishes per second (same client, payload, in-flight window). */
  rawWritesPerSec: number;
  /** JetStream messages stored per accepted report (REPORTS + ALERTS + AUDIT). */
  writesPerReport: number;
  /** Ed25519 verifications per second on one core. */
  verifyPerSecOneCore: number;
  cores: number;
}

export interface Limit {
  /** Reports per second the storage allows: raw writes ÷ writes per report. */
  storage: number;
  /** Reports per second signature verification allows: one-core rate × cores. */
  verify: number;
  /** The smaller of the two. */
  reportsPerSec: number;
  boundBy: 'storage' | 'verify';
}

/** limit = min(raw write rate ÷ writes per report, verify rate × cores). */
export function computeLimit(i: LimitInputs): Limit {
  const storage = i.writesPerReport > 0 ? i.rawWritesPerSec / i.writesPerReport : Infinity;
  const verify = i.verifyPerSecOneCore * i.cores;
  return storage <= verify
    ? { storage, verify, reportsPerSec: storage, boundBy: 'storage' }
    : { storage, verify, reportsPerSec: verify, boundBy: 'verify' };
}

/** `measured ÷ limit`, 0 when the limit is not positive. */
export function ratio(measured: number, limit: number): number {
  return limit > 0 && Number.isFinite(limit) ? measured / limit : 0;
}

/**
 * A count given on the command line (`--index-tokens=1e6`): a positive safe integer, in
 * any notation `Number` reads; `fallback` when not given.
 */
export function parseCount(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 1)
    throw new Error(`--${name} must be a positive integer, not ${JSON.stringify(value)}`);
  return n;
}

/** Messages per second over a measured span. */
export function rate(count: number, ms: number): number {
  return ms > 0 ? (count * 1000) / ms : 0;
}

export type FsyncMode = 'default' | 'always';

/**
 * The end-to-end runs `--fsync` asks for, in the order given: `default`, `always`, `both`
 * (default then always, when not given) or a comma-separated list of modes run back to back
 * (`default,always,always,default`), so the two can be compared in both orders on a machine
 * whose load drifts. The first run of a mode is labelled by the mode (its files:
 * `data-default`, `hub-default.log`), a later one by the mode and its place among that mode's
 * runs (`default-2`).
 */
export function parseFsyncRuns(value: string | undefined): { fsync: FsyncMode; label: string }[] {
  const modes = value === undefined || value === 'both' ? ['default', 'always'] : value.split(',');
  const seen = new Map<FsyncMode, number>();
  return modes.map((m) => {
    const fsync = m.trim();
    if (fsync !== 'default' && fsync !== 'always')
      throw new Error(
        `--fsync must be default, always, both or a comma-separated list of default and always, not ${JSON.stringify(value)}`,
      );
    const n = (seen.get(fsync) ?? 0) + 1;
    seen.set(fsync, n);
    return { fsync, label: n === 1 ? fsync : `${fsync}-${String(n)}` };
  });
}

export interface RawPublishResult {
  fsync: FsyncMode;
  messages: number;
  payloadBytes: number;
  inFlight: number;
  perSec: number;
  /**
   * µs of nats-server CPU (user + system) per stored message over the timed phase. Absent in
   * results written before it was measured.
   */
  serverCpuUsPerWrite?: number;
}

export interface VerifyResult {
  /** `crypto.verify` of a ~1 KB JWS signing input (the physical limit). */
  cryptoOneCore: number;
  cryptoAllCores: number;
  /**
   * `crypto.sign` of the same signing input on one core. Absent in results written before it
   * was measured.
   */
  cryptoSignOneCore?: number;
  /**
   * The process's CPU µs per `crypto.sign` and per `crypto.verify` in those one-core loops:
   * unlike the rates, not stretched by other processes on a shared machine. Absent in results
   * written before they were measured.
   */
  cpuUsPerSign?: number;
  cpuUsPerVerify?: number;
  /** `verifyReport` of @mosaic/signing (header, key, signature, schema): what the hub pays. */
  verifyReportOneCore: number;
  verifyReportAllCores: number;
  workers: number;
}

export interface EndToEndResult {
  fsync: FsyncMode;
  publishers: number;
  recipientsPerReport: number;
  inFlight: number;
  reports: number;
  /** Sustained accepted reports per second, publish start to last alert consumed. */
  reportsPerSec: number;
  /**
   * CPU µs per report in the sustained phase: the bench process (publishers and the three
   * subscribers, which verify every alert), the hub child (ingest + router), its nats-server.
   */
  cpuUsPerReport: { bench: number; hub: number; natsServer: number };
  /** Cores busy on average over the sustained phase (the three processes together). */
  busyCores: number;
  /** Publisher-side: replies per second. */
  acceptedPerSec: number;
  alertsConsumed: number;
  /** Per alert: publish → the subscriber's handler has it (verified), at the offered load. */
  latency: Percentiles & {
    offeredPerSec: number;
    achievedPerSec: number;
    /**
     * Where the time goes: per report, publish → ingest's reply (stored in REPORTS and
     * audited); per alert, publish → ALERTS stored it (its stream timestamp, ms: ingest and
     * the router) and stored → handler (delivery and the SDK's verification). Absent from
     * results written before it was measured.
     */
    split?: { toAccepted: Percentiles; toStored: Percentiles; storedToHandler: Percentiles };
    /**
     * How late the hub's event loop ran over the same phase (ms; every service of a
     * single-process hub shares it): what synchronous work makes every other hop wait.
     */
    hubEventLoopDelay?: { p50: number; p99: number; max: number };
  };
  streams: Record<string, number>;
  writesPerReport: number;
  /**
   * NATS messages per report in the sustained phase, from nats-server's `/connz`: published
   * (`in`) and delivered (`out`), in all and by connection role (single-node hub only).
   */
  natsMessagesPerReport?: Traffic;
  hubPeakRssMb: number;
  /** Where the single hub process's memory is, once ready and at its peak (absent for a cluster and older results). */
  hubMemory?: HubMemory;
  natsServerPeakRssMb: number;
  limit: Limit;
  ratio: number;
}

/** `process.memoryUsage()` of the hub process, in MB. */
export interface HubMemorySample {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** The hub process's memory once it was ready (no load yet) and at the highest RSS sampled under load. */
export interface HubMemory {
  atStart: HubMemorySample;
  atPeak: HubMemorySample;
}

/** One sample as `RSS r MB: heap u of t, external e, the rest x` (MB; the rest: RSS less heap and external). */
function formatMemory(m: HubMemorySample): string {
  return `RSS ${fmt(m.rss)} MB: heap ${fmt(m.heapUsed)} of ${fmt(m.heapTotal)}, external ${fmt(m.external)}, the rest ${fmt(m.rss - m.heapTotal - m.external)}`;
}

export interface PolicyScalingRow {
  /** `random`: interest grows with the federation; `fixed-interest`: 10 interested + bystanders. */
  scenario: 'random' | 'fixed-interest';
  agencies: number;
  rules: number;
  usPerReport: number;
  usPerReportExplain: number;
  evaluatedPerReport: number;
  recipientsPerReport: number;
}

export interface ReplayResult {
  reports: number;
  storeSeconds: number;
  /** `verifyReport` over every stored report, reading REPORTS in order, one core. */
  verifyOneCorePerSec: number;
  /** The same, verification spread over worker threads. */
  verifyAllCoresPerSec: number;
  workers: number;
  /** Replay rate ÷ the Ed25519 (`crypto.verify`) rate of the same cores, under Limits. */
  ratioOneCore: number;
  ratioAllCores: number;
  /** Replay rate ÷ the in-memory `verifyReport` rate of the same cores: the cost of reading. */
  ratioVsVerifyReportOneCore: number;
  ratioVsVerifyReportAllCores: number;
  /**
   * `mosaic replay --stream reports --verify` over the same number of reports stored in a
   * hub's REPORTS, with `--workers` verifying threads (0: the main thread), judged against
   * the Ed25519 rate of the cores those threads use.
   */
  cli:
    | {
        reports: number;
        perSec: number;
        wallSeconds: number;
        workers: number;
        coresUsed: number;
        /** perSec ÷ (Ed25519 rate per core with every core busy × coresUsed). */
        ratioCoresUsed: number;
        ratioOneCore: number;
        ratioVsVerifyReportOneCore: number;
      }
    | { skipped: string };
  /** `mosaic audit verify` over the AUDIT stream of the fsync-default end-to-end run. */
  audit:
    | { entries: number; checkpoints: number; perSec: number; wallSeconds: number }
    | { skipped: string };
}

/** The hub on a local cluster next to the single node, both fsync always, in one run. */
export interface ClusterBenchResult {
  nodes: number;
  replicas: number;
  /** One hub process around one nats-server (`sync_interval: always`). */
  singleNode: EndToEndResult;
  /**
   * `mosaic dev --cluster`: R3 streams, every node fsyncs, ingest, router and auditor each a
   * process (their CPU and RSS summed as the hub's; the limit is the single node's).
   */
  cluster: EndToEndResult;
  /** `addAgency` (what `mosaic agency add` does) → first successful connection, per node. */
  agencyAdd: { node: string; ms: number }[];
}

/** STIX export, HTTP next to NATS publish, and TAXII paging, in one run. */
export interface InteropResult {
  /** `reportsToBundle`, offline, bundles of 50 reports like the examples. */
  stixExport: { reports: number; objects: number; objectsPerSec: number };
  /** The same number of signed reports over NATS request/reply and over `POST /v1/reports`. */
  publish: { reports: number; concurrency: number; natsPerSec: number; httpPerSec: number };
  /** One agency's whole collection paged through over HTTP, once per `limit`. */
  taxii: {
    agency: string;
    alerts: number;
    objects: number;
    pages: number;
    pageLimit: number;
    objectsPerSec: number;
  }[];
}

/** Selector correlation: curve arithmetic, the key service, holdings checks, the index. */
export interface CorrelationResult {
  /** `evaluateBatch` and `crypto_scalarmult_ristretto255` in this process, one core, back to back. */
  oprf: OprfRates;
  /** The same evaluations asked of the real key service over NATS (a `startHub` hub). */
  keyService: KeyServiceResult;
  /** `checkSelectors` of 1,000 selectors against 1,000 registered holdings, same hub. */
  holdingsCheck: HoldingsCheckResult;
  /** The router's lookup in a SELECTOR_INDEX of `tokens` entries. */
  index: IndexLookupResult;
}

export interface BenchResult {
  schema: 'mosaic-bench/1';
  startedAt: string;
  durationSec: number;
  mode: 'quick' | 'full';
  /** The tree measured: its commit and how many files differed from it. */
  source: { commit: string; uncommittedFiles: number };
  /** How the end-to-end hub child ran (absent in results written before it was compiled). */
  hubChild?: 'compiled' | 'source';
  /**
   * Whether the end-to-end and profile stages' hub child indexed selectors (false with
   * `--no-correlation`); absent when neither stage ran, and in results written before
   * that could be turned off.
   */
  hubIndexedSelectors?: boolean;
  machine: {
    cores: number;
    cpuModel: string;
    memoryGb: number;
    node: string;
    natsServer: string;
    natsClient: string;
    otherLoad: string;
  };
  limits: { publish: RawPublishResult[]; verify: VerifyResult };
  endToEnd: EndToEndResult[];
  policy: PolicyScalingRow[];
  /** null when not run. */
  replay: ReplayResult | null;
  /** CPU profile of the hub child during a separate (shorter) end-to-end run. */
  profile: (ProfileSummary & { fsync: FsyncMode; reportsPerSec: number }) | null;
  /** Absent in results written before the cluster stage; null when not run. */
  cluster?: ClusterBenchResult | null;
  /** Absent in results written before the interop stage; null when not run. */
  interop?: InteropResult | null;
  /** Absent in results written before the correlation stage; null when not run. */
  correlation?: CorrelationResult | null;
  targets: TargetCheck[];
}

export interface TargetCheck {
  name: string;
  target: string;
  measured: string;
  met: boolean;
}

/**
 * `mosaic replay --verify` at `perSec` with `--workers` threads on a machine of `cores`,
 * against Ed25519 on the cores it can use: its main thread (which reads, and verifies when
 * `--workers` is 0) and its workers. `verifyReport` checks signatures with node:crypto on the
 * calling thread, so libuv's thread pool adds none. The rate per core is the pool's with
 * every core busy (`cryptoAllCores ÷ workers`), as it is while the replay runs.
 */
export function replayOnCores(
  perSec: number,
  workers: number,
  cores: number,
  verify: VerifyResult,
): { coresUsed: number; ratioCoresUsed: number } {
  const coresUsed = Math.min(cores, 1 + workers);
  const perCore = verify.cryptoAllCores / verify.workers;
  return { coresUsed, ratioCoresUsed: perSec / (perCore * coresUsed) };
}

/** The least CPU a report can cost, in µs, and its parts, each measured raw in the same run. */
export interface CpuFloor {
  /** One Ed25519 signature (`crypto.sign`, one core). */
  sign: number;
  /** `1 + recipients` Ed25519 verifications (`crypto.verify`, one core): the hub's and each recipient's. */
  verifications: number;
  /** nats-server CPU of `1 + recipients` raw stored messages (same fsync): the report and each alert. */
  writes: number;
  /** The sum. */
  total: number;
}

/**
 * The CPU floor of one end-to-end run: `sign + (1 + R) × verify + (1 + R) × write`, R its
 * recipients per report, each the CPU µs of one operation measured raw: `crypto.sign` and
 * `crypto.verify` in the one-core loops (1e6 ÷ their rate per CPU second), nats-server per
 * message of the raw publish of the run's fsync mode. CPU time, not wall time, like the
 * CPU per report it is compared with. Null when the result lacks a figure it needs (results
 * written before they were measured, or a limits stage that did not run).
 */
export function cpuFloor(
  e: Pick<EndToEndResult, 'fsync' | 'recipientsPerReport'>,
  limits: BenchResult['limits'],
): CpuFloor | null {
  const sign = limits.verify.cpuUsPerSign ?? Number.NaN;
  const verify = limits.verify.cpuUsPerVerify ?? Number.NaN;
  const write = limits.publish.find((p) => p.fsync === e.fsync)?.serverCpuUsPerWrite ?? Number.NaN;
  const positive = (n: number): boolean => Number.isFinite(n) && n > 0;
  if (!positive(sign) || !positive(verify) || !(write >= 0 && Number.isFinite(write))) return null;
  const copies = 1 + e.recipientsPerReport;
  const verifications = copies * verify;
  const writes = copies * write;
  return { sign, verifications, writes, total: sign + verifications + writes };
}

/** CPU µs per report of an end-to-end run, over all its processes. */
export function cpuPerReport(e: Pick<EndToEndResult, 'cpuUsPerReport'>): number {
  return e.cpuUsPerReport.bench + e.cpuUsPerReport.hub + e.cpuUsPerReport.natsServer;
}

/** The performance targets, judged against a result (never asserted by a test). */
export function checkTargets(r: Omit<BenchResult, 'targets'>): TargetCheck[] {
  const out: TargetCheck[] = [];
  const pct = (x: number): string => `${(x * 100).toFixed(0)} %`;
  // What the hub must reach: half the storage limit with the default fsync, where the
  // storage is fast; 80 % of it with fsync always, where the storage is the bound.
  const ratioTarget = (fsync: FsyncMode): number => (fsync === 'always' ? 0.8 : 0.5);
  // A run whose hub indexed no selectors says so in each of its targets' names.
  const mode = (fsync: FsyncMode): string =>
    `fsync ${fsync}${r.hubIndexedSelectors === false ? ', correlation off' : ''}`;
  for (const e of r.endToEnd)
    out.push({
      name: `end-to-end ÷ limit (${mode(e.fsync)})`,
      target: `≥ ${pct(ratioTarget(e.fsync))}`,
      measured: pct(e.ratio),
      met: e.ratio >= ratioTarget(e.fsync),
    });
  const runs: { name: string; e: EndToEndResult }[] = [
    ...r.endToEnd.map((e) => ({ name: mode(e.fsync), e })),
    ...(r.cluster === undefined || r.cluster === null
      ? []
      : [{ name: '3-node cluster', e: r.cluster.cluster }]),
  ];
  for (const { name, e } of runs)
    out.push({
      name: `p99 publish→alert at half load (${name})`,
      target: '≤ 25 ms',
      measured: `${e.latency.p99} ms`,
      met: e.latency.p99 <= 25,
    });
  for (const e of r.endToEnd) {
    const floor = cpuFloor(e, r.limits);
    if (floor === null) continue;
    const times = cpuPerReport(e) / floor.total;
    out.push({
      name: `CPU per report ÷ floor (${mode(e.fsync)})`,
      target: '≤ 2×',
      measured: `${times.toFixed(2)}×`,
      met: times <= 2,
    });
  }
  const def = r.endToEnd.find((e) => e.fsync === 'default');
  if (def !== undefined)
    out.push({
      name: `hub peak RSS under load (${mode('default')})`,
      target: '≤ 150 MB',
      measured: `${def.hubPeakRssMb.toFixed(0)} MB`,
      met: def.hubPeakRssMb <= 150,
    });
  for (const scenario of ['random', 'fixed-interest'] as const) {
    const small = r.policy.find((p) => p.scenario === scenario && p.agencies === 10);
    const large = r.policy.find((p) => p.scenario === scenario && p.agencies === 1000);
    if (small === undefined || large === undefined) continue;
    const growth = large.usPerReport / small.usPerReport;
    out.push({
      name: `routing cost 1,000 agencies ÷ 10 (${scenario})`,
      target: '≤ 1.25×',
      measured: `${growth.toFixed(2)}×`,
      met: growth <= 1.25,
    });
  }
  if (r.replay !== null) {
    const cli = r.replay.cli;
    const viaCli = !('skipped' in cli);
    const measured = viaCli ? cli.ratioCoresUsed : r.replay.ratioAllCores;
    out.push({
      name: viaCli
        ? `mosaic replay --verify ÷ Ed25519 rate of the ${cli.coresUsed} core${cli.coresUsed === 1 ? '' : 's'} it verifies on`
        : `replay --verify (bench loop) ÷ Ed25519 rate of its ${r.replay.workers} workers`,
      target: '≥ 80 %',
      measured: pct(measured),
      met: measured >= 0.8,
    });
  }
  return out;
}

const RESULT_KEYS = [
  'schema',
  'startedAt',
  'durationSec',
  'mode',
  'source',
  'machine',
  'limits',
  'endToEnd',
  'policy',
  'replay',
  'profile',
  'targets',
] as const;

/** Problems with a parsed result file's shape; empty when it is a `mosaic-bench/1` result. */
export function resultProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return ['not an object'];
  const o = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of RESULT_KEYS) if (!(key in o)) problems.push(`missing ${key}`);
  if (o['schema'] !== 'mosaic-bench/1') problems.push('schema is not mosaic-bench/1');
  if (!Array.isArray(o['endToEnd'])) problems.push('endToEnd is not an array');
  if (!Array.isArray(o['policy'])) problems.push('policy is not an array');
  if (!Array.isArray(o['targets'])) problems.push('targets is not an array');
  if ('hubIndexedSelectors' in o && typeof o['hubIndexedSelectors'] !== 'boolean')
    problems.push('hubIndexedSelectors is not a boolean');
  const limits = o['limits'] as { publish?: unknown } | undefined;
  if (!Array.isArray(limits?.publish)) problems.push('limits.publish is not an array');
  return problems;
}

/** `bench/results/<timestamp>.json`: an ISO time without characters file systems dislike. */
export function resultFileName(startedAt: Date): string {
  return `${startedAt
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replaceAll(':', '-')}.json`;
}

const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n)
    ? n.toLocaleString('en-GB', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '—';

/** One row per figure: `what`, `value`, `note`. */
function tableRows(r: BenchResult): [string, string, string][] {
  const rows: [string, string, string][] = [];
  for (const p of r.limits.publish)
    rows.push([
      `raw JetStream publish, fsync ${p.fsync}`,
      `${fmt(p.perSec)} msg/s`,
      `${p.payloadBytes} B, ${p.inFlight} in flight, ${fmt(p.messages)} msgs${p.serverCpuUsPerWrite === undefined ? '' : `; nats-server ${fmt(p.serverCpuUsPerWrite, 1)} µs CPU per msg`}`,
    ]);
  const v = r.limits.verify;
  const cpuNote = (us: number | undefined): string =>
    us === undefined ? '' : `${fmt(us, 1)} µs CPU each`;
  if (v.cryptoSignOneCore !== undefined)
    rows.push([
      'Ed25519 sign (crypto.sign), 1 core',
      `${fmt(v.cryptoSignOneCore)} /s`,
      cpuNote(v.cpuUsPerSign),
    ]);
  rows.push([
    'Ed25519 verify (crypto.verify), 1 core',
    `${fmt(v.cryptoOneCore)} /s`,
    cpuNote(v.cpuUsPerVerify),
  ]);
  rows.push([
    `Ed25519 verify (crypto.verify), ${v.workers} workers`,
    `${fmt(v.cryptoAllCores)} /s`,
    '',
  ]);
  rows.push(['verifyReport (@mosaic/signing), 1 core', `${fmt(v.verifyReportOneCore)} /s`, '']);
  rows.push([
    `verifyReport, ${v.workers} workers`,
    `${fmt(v.verifyReportAllCores)} /s`,
    'header + key + signature + schema',
  ]);
  for (const e of r.endToEnd) {
    const tag = `e2e fsync ${e.fsync}`;
    rows.push([
      `${tag}: sustained`,
      `${fmt(e.reportsPerSec)} reports/s`,
      `${e.publishers} publishers, ${e.inFlight} in flight, ${e.recipientsPerReport} recipients, ${fmt(e.reports)} reports${r.hubIndexedSelectors === false ? '; correlation off: the hub indexed no selectors' : ''}`,
    ]);
    rows.push([
      `${tag}: CPU per report`,
      `${fmt(cpuPerReport(e))} µs`,
      `hub ${fmt(e.cpuUsPerReport.hub)}, nats-server ${fmt(e.cpuUsPerReport.natsServer)}, publishers+subscribers ${fmt(e.cpuUsPerReport.bench)}; ${fmt(e.busyCores, 2)} cores busy`,
    ]);
    const floor = cpuFloor(e, r.limits);
    if (floor !== null)
      rows.push([
        `${tag}: CPU floor per report`,
        `${fmt(floor.total)} µs`,
        `sign ${fmt(floor.sign, 1)}, ${1 + e.recipientsPerReport} verifications ${fmt(floor.verifications, 1)}, nats-server for ${1 + e.recipientsPerReport} writes ${fmt(floor.writes, 1)}; CPU per report ${fmt(cpuPerReport(e) / floor.total, 2)}× it`,
      ]);
    rows.push([
      `${tag}: publish→alert p50/p95/p99`,
      `${fmt(e.latency.p50, 1)} / ${fmt(e.latency.p95, 1)} / ${fmt(e.latency.p99, 1)} ms`,
      `offered ${fmt(e.latency.offeredPerSec)}/s (achieved ${fmt(e.latency.achievedPerSec)}/s), ${fmt(e.latency.count)} alerts, max ${fmt(e.latency.max, 1)} ms`,
    ]);
    const split = e.latency.split;
    if (split !== undefined)
      rows.push([
        `${tag}: publish→ingest reply / →alert stored / →handler, p50 (p99)`,
        [split.toAccepted, split.toStored, split.storedToHandler]
          .map((x) => `${fmt(x.p50, 1)} (${fmt(x.p99, 1)})`)
          .join(' / ') + ' ms',
        'the last: from ALERTS storing the alert to the handler',
      ]);
    const loop = e.latency.hubEventLoopDelay;
    if (loop !== undefined)
      rows.push([
        `${tag}: hub event-loop delay p50/p99/max`,
        `${fmt(loop.p50, 1)} / ${fmt(loop.p99, 1)} / ${fmt(loop.max, 1)} ms`,
        'over the latency phase; every service of the hub process waits for it',
      ]);
    rows.push([
      `${tag}: JetStream writes per report`,
      fmt(e.writesPerReport, 2),
      Object.entries(e.streams)
        .map(([s, n]) => `${s} ${fmt(n)}`)
        .join(', '),
    ]);
    if (e.natsMessagesPerReport !== undefined)
      rows.push([
        `${tag}: NATS messages per report`,
        `${fmt(e.natsMessagesPerReport.total.in, 1)} in / ${fmt(e.natsMessagesPerReport.total.out, 1)} out`,
        formatTraffic(e.natsMessagesPerReport),
      ]);
    rows.push([
      `${tag}: peak RSS`,
      `hub ${fmt(e.hubPeakRssMb)} MB`,
      `nats-server ${fmt(e.natsServerPeakRssMb)} MB${r.hubChild === undefined ? '' : `; the hub ${r.hubChild === 'compiled' ? 'compiled' : 'from source (tsx)'}`}`,
    ]);
    if (e.hubMemory !== undefined)
      rows.push([
        `${tag}: hub memory, ready → peak`,
        `${fmt(e.hubMemory.atStart.rss)} → ${fmt(e.hubMemory.atPeak.rss)} MB`,
        `ready ${formatMemory(e.hubMemory.atStart)}; peak ${formatMemory(e.hubMemory.atPeak)}`,
      ]);
    rows.push([
      `${tag}: limit`,
      `${fmt(e.limit.reportsPerSec)} reports/s`,
      `storage ${fmt(e.limit.storage)}, verify ${fmt(e.limit.verify)} → bound by ${e.limit.boundBy}`,
    ]);
    rows.push([`${tag}: end-to-end ÷ limit`, `${(e.ratio * 100).toFixed(1)} %`, '']);
  }
  if (r.cluster !== undefined && r.cluster !== null) {
    const c = r.cluster;
    for (const [tag, e] of [
      ['single node, fsync always', c.singleNode],
      [`${String(c.nodes)} nodes R${String(c.replicas)}, fsync always`, c.cluster],
    ] as const) {
      rows.push([
        `cluster stage, ${tag}: sustained`,
        `${fmt(e.reportsPerSec)} reports/s`,
        `${e.publishers} publishers, ${e.inFlight} in flight, ${e.recipientsPerReport} recipients, ${fmt(e.reports)} reports`,
      ]);
      rows.push([
        `cluster stage, ${tag}: publish→alert p50/p95/p99`,
        `${fmt(e.latency.p50, 1)} / ${fmt(e.latency.p95, 1)} / ${fmt(e.latency.p99, 1)} ms`,
        `offered ${fmt(e.latency.offeredPerSec)}/s, ${fmt(e.latency.count)} alerts, max ${fmt(e.latency.max, 1)} ms`,
      ]);
      rows.push([
        `cluster stage, ${tag}: CPU per report`,
        `${fmt(cpuPerReport(e))} µs`,
        `hub ${fmt(e.cpuUsPerReport.hub)}, nats-server ${fmt(e.cpuUsPerReport.natsServer)}, publishers+subscribers ${fmt(e.cpuUsPerReport.bench)}`,
      ]);
    }
    for (const a of c.agencyAdd)
      rows.push([`cluster stage: agency add → connected via ${a.node}`, `${fmt(a.ms)} ms`, '']);
  }
  if (r.interop !== undefined && r.interop !== null) {
    const x = r.interop;
    rows.push([
      'interop: STIX export (reportsToBundle)',
      `${fmt(x.stixExport.objectsPerSec)} objects/s`,
      `${fmt(x.stixExport.reports)} reports, ${fmt(x.stixExport.objects)} objects`,
    ]);
    rows.push([
      'interop: publish over NATS / over HTTP',
      `${fmt(x.publish.natsPerSec)} / ${fmt(x.publish.httpPerSec)} reports/s`,
      `${fmt(x.publish.reports)} each, ${fmt(x.publish.concurrency)} in flight, one mosaic dev`,
    ]);
    for (const t of x.taxii)
      rows.push([
        `interop: TAXII paged to a client, limit ${fmt(t.pageLimit)}`,
        `${fmt(t.objectsPerSec)} objects/s`,
        `${fmt(t.objects)} objects of ${fmt(t.alerts)} alerts (${t.agency}), ${fmt(t.pages)} pages`,
      ]);
  }
  if (r.correlation !== undefined && r.correlation !== null) {
    const c = r.correlation;
    rows.push([
      'correlation: ristretto255 scalar multiplication, 1 core',
      `${fmt(c.oprf.scalarMultiplicationsPerSecond)} /s`,
      'libsodium crypto_scalarmult_ristretto255, same run',
    ]);
    rows.push([
      `correlation: key-service evaluations in process, 1 core`,
      `${fmt(c.oprf.evaluationsPerSecond)} /s`,
      `evaluateBatch, batches of ${fmt(c.oprf.batch)} with their proof; ${fmt(c.oprf.evaluationsPerMultiplication, 2)} per multiplication`,
    ]);
    rows.push([
      'correlation: key-service evaluations over NATS',
      `${fmt(c.keyService.evaluationsPerSecond)} /s`,
      `batches of ${fmt(c.keyService.batch)}, one at a time, ${fmt(c.keyService.batches)} batches; hub and asker share this process`,
    ]);
    const h = c.holdingsCheck;
    rows.push([
      `correlation: check ${fmt(h.selectors)} selectors`,
      `${h.checkMs.map((ms) => fmt(ms)).join(' / ')} ms`,
      `one SDK call per round, ${fmt(h.hitsLastRound)} hits; register ${fmt(h.registerMs)} ms`,
    ]);
    const x = c.index;
    for (const [what, p] of [
      ['present', x.present],
      ['absent', x.absent],
    ] as const)
      rows.push([
        `correlation: index lookup, ${fmt(x.tokens)} tokens, ${what}`,
        `${fmt(p.p50, 2)} / ${fmt(p.p99, 2)} ms`,
        `p50 / p99 of ${fmt(p.count)} lookups, max ${fmt(p.max, 2)} ms, ${fmt(p.entriesFound)} entries found`,
      ]);
    rows.push([
      `correlation: index of ${fmt(x.tokens)} tokens on disk`,
      `${fmt(x.diskBytes / 2 ** 20)} MiB`,
      `${fmt(x.streamBytes / 2 ** 20)} MiB of messages; filled at ${fmt(x.fill.perSec)} publishes/s in ${fmt(x.fill.seconds)} s`,
    ]);
  }
  for (const p of r.policy)
    rows.push([
      `route(), ${p.scenario}, ${fmt(p.agencies)} agencies × ${p.rules / p.agencies} rules`,
      `${fmt(p.usPerReport, 1)} µs/report`,
      `explain ${fmt(p.usPerReportExplain, 1)} µs, ${fmt(p.evaluatedPerReport, 1)} evaluated, ${fmt(p.recipientsPerReport, 1)} recipients`,
    ]);
  if (r.replay !== null) {
    const x = r.replay;
    rows.push([
      `replay --verify, ${fmt(x.reports)} reports, 1 core`,
      `${fmt(x.verifyOneCorePerSec)} reports/s`,
      `${(x.ratioOneCore * 100).toFixed(0)} % of Ed25519 1 core, ${(x.ratioVsVerifyReportOneCore * 100).toFixed(0)} % of verifyReport 1 core; stored in ${fmt(x.storeSeconds, 1)} s`,
    ]);
    rows.push([
      `replay --verify, ${x.workers} workers`,
      `${fmt(x.verifyAllCoresPerSec)} reports/s`,
      `${(x.ratioAllCores * 100).toFixed(0)} % of Ed25519 ${x.workers} workers, ${(x.ratioVsVerifyReportAllCores * 100).toFixed(0)} % of verifyReport ${x.workers} workers`,
    ]);
    const c = x.cli;
    rows.push(
      'skipped' in c
        ? ['mosaic replay --stream reports --verify', '—', c.skipped]
        : [
            `mosaic replay --stream reports --verify, ${fmt(c.reports)} reports`,
            `${fmt(c.perSec)} reports/s`,
            `--workers ${c.workers}: ${(c.ratioCoresUsed * 100).toFixed(0)} % of Ed25519 on ${c.coresUsed} core${c.coresUsed === 1 ? '' : 's'}, ${(c.ratioOneCore * 100).toFixed(0)} % of 1 core; ${fmt(c.wallSeconds, 1)} s with start-up`,
          ],
    );
    const a = x.audit;
    rows.push(
      'skipped' in a
        ? ['mosaic audit verify', '—', a.skipped]
        : [
            `mosaic audit verify, ${fmt(a.entries)} entries`,
            `${fmt(a.perSec)} entries/s`,
            `${fmt(a.checkpoints)} checkpoints; ${fmt(a.wallSeconds, 1)} s with start-up`,
          ],
    );
  }
  if (r.profile !== null) {
    rows.push([
      `hub CPU profile (fsync ${r.profile.fsync})`,
      `${fmt(r.profile.totalMs)} ms`,
      `idle ${r.profile.idlePct.toFixed(0)} %, ${fmt(r.profile.reportsPerSec)} reports/s while profiled`,
    ]);
    for (const pkg of r.profile.byPackage.slice(0, 10))
      rows.push([`  package ${pkg.name}`, `${pkg.selfPct.toFixed(1)} %`, '']);
    for (const f of r.profile.top.slice(0, 12))
      rows.push([`  ${f.fn}`, `${f.selfPct.toFixed(1)} %`, f.where]);
  }
  for (const t of r.targets)
    rows.push([`target: ${t.name}`, t.measured, `${t.target} ${t.met ? 'met' : 'MISSED'}`]);
  return rows;
}

/** The printed table. */
export function renderTable(r: BenchResult): string {
  const rows = tableRows(r);
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  return rows.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`.trimEnd()).join('\n');
}

/** The same rows as a Markdown table (for docs/performance.md). */
export function renderMarkdown(r: BenchResult): string {
  const cell = (s: string): string => s.trim().replaceAll('|', '\\|');
  return [
    '| what | value | note |',
    '| --- | ---: | --- |',
    ...tableRows(r).map(([a, b, c]) => `| ${cell(a)} | ${cell(b)} | ${cell(c)} |`),
  ].join('\n');
}
