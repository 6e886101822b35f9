import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadFederation } from '@mosaic/federation';
import { buildPolicyIndex, route, type RoutableReport } from '@mosaic/policy';
import {
  AlertHeaders,
  ROUTER_CONSUMER,
  ReportHeaders,
  Streams,
  readSequences,
} from '@mosaic/protocol';
import type { JetStreamManager } from '@nats-io/jetstream';

const mosaicBin = fileURLToPath(new URL('../../cli/bin/mosaic.js', import.meta.url));

/** `<issuer>/<reportId>/<recipient>`: the id of an alert (as the SDK hands it over). */
export type AlertId = string;

/** How ALERTS compares with what `route()` entitles. */
export interface AlertComparison {
  /** Alerts `route()` entitles for the reports given. */
  expected: number;
  /** Messages in ALERTS. */
  stored: number;
  /** Entitled but not in ALERTS. */
  missing: AlertId[];
  /** In ALERTS but not entitled (a mis-delivery), or of a report not given. */
  unexpected: AlertId[];
  /** In ALERTS more than once. */
  duplicated: AlertId[];
  /** ALERTS, by alert id, with its sequences. */
  alerts: Map<AlertId, number[]>;
}

/**
 * Waits until the router has acknowledged every stored report. A router that is slow is
 * waited for as long as it makes progress (its backlog shrinks or its ack floor moves), up to
 * `maxMs`; one that makes none for `stallMs` — longer than a redelivery after the router's
 * ack wait (30 s) — fails the wait, naming what it still holds. A number bounds the whole
 * wait instead.
 */
export async function routerIdle(
  jsm: JetStreamManager,
  bound: number | { stallMs?: number; maxMs?: number } = {},
): Promise<void> {
  // A number: the whole wait, progress or not.
  const o = typeof bound === 'number' ? { stallMs: bound, maxMs: bound } : bound;
  const stallMs = o.stallMs ?? 120_000;
  const maxMs = o.maxMs ?? 900_000;
  const start = Date.now();
  let progressAt = start;
  let best: { left: number; floor: number } | undefined;
  let last = 'not read yet';
  while (Date.now() - progressAt < stallMs && Date.now() - start < maxMs) {
    try {
      const info = await jsm.consumers.info(Streams.Reports, ROUTER_CONSUMER);
      const left = info.num_pending + info.num_ack_pending;
      if (left === 0) return;
      const floor = info.ack_floor.stream_seq;
      last = `${String(info.num_pending)} pending, ${String(info.num_ack_pending)} delivered and not acknowledged, ack floor ${String(floor)}`;
      if (best === undefined || left < best.left || floor > best.floor) {
        best = {
          left: Math.min(left, best?.left ?? left),
          floor: Math.max(floor, best?.floor ?? floor),
        };
        progressAt = Date.now();
      }
    } catch (err) {
      // The consumer's leader is moving: ask again.
      if (!(err instanceof Error)) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const why =
    Date.now() - start >= maxMs
      ? `within ${String(maxMs / 1000)} s`
      : `: no progress for ${String(stallMs / 1000)} s`;
  throw new Error(`the router did not route every report ${why} (${last})`);
}

/**
 * Compares ALERTS with `route()`: every alert the federation's rules entitle for `reports`
 * (report id → the report as sent), at `at`, must be stored exactly once, and nothing else.
 */
export async function compareAlerts(
  jsm: JetStreamManager,
  federationFile: string,
  reports: ReadonlyMap<string, RoutableReport>,
  at: Date = new Date(),
): Promise<AlertComparison> {
  const alerts = new Map<AlertId, number[]>();
  let stored = 0;
  for await (const { seq, msg } of readSequences(jsm, Streams.Alerts, { leader: true })) {
    if (msg === undefined) continue;
    stored++;
    const h = (name: string): string => msg.header.get(name);
    const id = `${h(AlertHeaders.Issuer)}/${h(AlertHeaders.ReportId)}/${h(AlertHeaders.Recipient)}`;
    alerts.set(id, [...(alerts.get(id) ?? []), seq]);
  }
  const index = buildPolicyIndex(await loadFederation({ path: federationFile }));
  const expected = new Set<AlertId>();
  for (const [reportId, report] of reports)
    for (const r of route(report, index, at).recipients)
      expected.add(`${report.issuer}/${reportId}/${r.agency}`);
  return {
    expected: expected.size,
    stored,
    missing: [...expected].filter((id) => !alerts.has(id)).sort(),
    unexpected: [...alerts.keys()].filter((id) => !expected.has(id)).sort(),
    duplicated: [...alerts].filter(([, seqs]) => seqs.length > 1).map(([id]) => id),
    alerts,
  };
}

/**
 * REPORTS by msg id (`<issuer>/<reportId>`), and the sequences it counts but cannot return,
 * as its leader answers (not whichever replica answers a direct get).
 */
export async function readReports(
  jsm: JetStreamManager,
): Promise<{ byId: Map<string, number[]>; holes: number[] }> {
  const byId = new Map<string, number[]>();
  const holes: number[] = [];
  for await (const { seq, msg } of readSequences(jsm, Streams.Reports, { leader: true })) {
    if (msg === undefined) {
      holes.push(seq);
      continue;
    }
    const id = msg.header.get(ReportHeaders.MsgId);
    byId.set(id, [...(byId.get(id) ?? []), seq]);
  }
  return { byId, holes };
}

/** What `mosaic audit verify` answered. */
export interface AuditVerdict {
  ok: boolean;
  exitCode: number;
  /** Its stdout summary (intact) or its error line (not intact). */
  output: string;
}

/** Runs `mosaic audit verify` (the CLI, as an operator would) with the operator's context. */
export function auditVerify(dataDir: string, timeoutMs = 180_000): Promise<AuditVerdict> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [mosaicBin, 'audit', 'verify', '--context', join(dataDir, 'contexts', 'operator.json')],
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const exitCode = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        resolve({
          ok: exitCode === 0,
          exitCode,
          output: (exitCode === 0 ? stdout : `${stderr}${stdout}`).trim().slice(-4_000),
        });
      },
    );
  });
}

/**
 * Whether `mosaic audit verify` failed naming exactly the sequences `seqs` of `stream` as
 * counted but not returned by the stream leader (`REPORTS seq 37 is …`, `AUDIT seqs 66-67, 70
 * are …`).
 */
export function namesExactly(
  verdict: AuditVerdict,
  stream: string,
  seqs: ReadonlySet<number>,
): boolean {
  if (verdict.ok) return false;
  const named = new RegExp(
    `${stream} seqs? ([\\d, -]+) (?:is|are) counted by the stream but its leader cannot return`,
  ).exec(verdict.output);
  if (named === null) return false;
  // Runs: `30`, `73-107`, `5, 9-12`.
  const listed = (named[1] ?? '').split(',').flatMap((run) => {
    const [from = NaN, to = from] = run.trim().split('-').map(Number);
    return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
  });
  return (
    listed.length === seqs.size &&
    new Set(listed).size === seqs.size &&
    listed.every((n) => seqs.has(n))
  );
}

/** A submission as the checker sees it. */
export interface CheckedSubmission {
  reportId: string;
  issuer: string;
  report: RoutableReport;
  /** Set when the hub answered `ok: true`. */
  ackedSeq?: number;
}

/** Everything the one checker found; `ok` when every invariant held. */
export interface InvariantReport {
  ok: boolean;
  /** Submissions answered `ok: true`. */
  acked: number;
  /** Acknowledged but not in REPORTS (those the fault destroyed included). */
  lost: string[];
  /** Of `lost`: acknowledged at a REPORTS sequence the fault destroyed, named by verify. */
  destroyed: string[];
  /** In REPORTS more than once. */
  duplicatedReports: string[];
  /** In REPORTS but never submitted by the load. */
  foreignReports: string[];
  /** Sequences REPORTS counts but cannot return. */
  reportHoles: number[];
  alerts: Omit<AlertComparison, 'alerts'>;
  /** Alerts in ALERTS that their recipient's subscriber was never handed. */
  undelivered: AlertId[];
  /** Alerts a subscriber was handed that ALERTS does not hold. */
  deliveredNotStored: AlertId[];
  audit: AuditVerdict;
  /** Processes that ended without being the fault's target. */
  crashed: string[];
  /** One line per broken invariant. */
  violations: string[];
  /** ms spent waiting for the router, reading the streams, for deliveries, in audit verify. */
  timings: { routerIdle: number; streams: number; deliveries: number; auditVerify: number };
}

export interface CheckInvariantsOptions {
  jsm: JetStreamManager;
  dataDir: string;
  federationFile: string;
  submissions: Iterable<CheckedSubmission>;
  /** Alert ids each subscriber (by agency) was handed. */
  received: ReadonlyMap<string, ReadonlyMap<AlertId, number>>;
  /** Names of processes that ended without being the fault's target. */
  crashed: readonly string[];
  /**
   * Subscriptions that ended with an error (`<agency>: <error>`) instead of riding the
   * fault out within their reconnect timeout, as `subscribe` promises.
   */
  subscriptionsEnded?: readonly string[];
  /**
   * The audit entries the fault destroyed on purpose, when `audit verify` may name them: the
   * check passes when verify fails naming exactly these (its message), else it must pass.
   */
  auditDestroyed?: (verdict: AuditVerdict) => boolean;
  /**
   * REPORTS sequences the fault destroyed on purpose (a damaged store). REPORTS may count
   * exactly these without returning them, and the reports acknowledged at them are lost
   * (`destroyed`, still counted in `lost`) — detected, not a violation, when `mosaic audit
   * verify` fails naming exactly these sequences and nothing else is wrong.
   */
  destroyedReports?: readonly number[];
  /** AUDIT sequences the fault destroyed on purpose, which verify must name exactly too. */
  destroyedAudit?: readonly number[];
  /** How long subscribers may take to be handed every stored alert. Default 120 s. */
  deliveryTimeoutMs?: number;
}

const sample = (ids: readonly string[]): string =>
  `${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ` … (${String(ids.length)})` : ''}`;

/**
 * The invariant checker every fault ends with: every report answered `ok: true` is in
 * REPORTS exactly once; ALERTS holds exactly the alerts `route()` entitles for the stored
 * reports, each once, and each subscriber was handed each of its alerts; `mosaic audit
 * verify` passes (or fails naming exactly what the fault destroyed); no process other than
 * the target crashed. Waits (bounded) for the router and the subscribers to catch up first.
 */
export async function checkInvariants(o: CheckInvariantsOptions): Promise<InvariantReport> {
  const violations: string[] = [];
  const submitted = new Map<string, CheckedSubmission>();
  for (const s of o.submissions) submitted.set(`${s.issuer}/${s.reportId}`, s);

  let mark = Date.now();
  const lap = (): number => {
    const now = Date.now();
    const ms = now - mark;
    mark = now;
    return ms;
  };
  await routerIdle(o.jsm);
  const timings = { routerIdle: lap(), streams: 0, deliveries: 0, auditVerify: 0 };
  const { byId, holes } = await readReports(o.jsm);
  const acked = [...submitted.values()].filter((s) => s.ackedSeq !== undefined);
  const destroyedSeqs = new Set(o.destroyedReports ?? []);
  const lostSubmissions = acked.filter((s) => !byId.has(`${s.issuer}/${s.reportId}`));
  const lost = lostSubmissions.map((s) => s.reportId);
  const destroyed = lostSubmissions
    .filter((s) => s.ackedSeq !== undefined && destroyedSeqs.has(s.ackedSeq))
    .map((s) => s.reportId);
  const unexplained = lost.filter((id) => !destroyed.includes(id));
  const duplicatedReports = [...byId].filter(([, seqs]) => seqs.length > 1).map(([id]) => id);
  const foreignReports = [...byId.keys()].filter((id) => !submitted.has(id));
  if (unexplained.length > 0)
    violations.push(`acknowledged but not in REPORTS: ${sample(unexplained)}`);
  if (duplicatedReports.length > 0)
    violations.push(`in REPORTS more than once: ${sample(duplicatedReports)}`);
  if (foreignReports.length > 0)
    violations.push(`in REPORTS but never submitted: ${sample(foreignReports)}`);

  // The stored reports are routed, acknowledged or not (a reply lost in a failover), and so
  // were those the fault destroyed after they were stored.
  const stored = new Map<string, RoutableReport>();
  for (const id of byId.keys()) {
    const s = submitted.get(id);
    if (s !== undefined) stored.set(s.reportId, s.report);
  }
  for (const s of lostSubmissions)
    if (destroyed.includes(s.reportId)) stored.set(s.reportId, s.report);
  const comparison = await compareAlerts(o.jsm, o.federationFile, stored);
  const { alerts, ...alertFigures } = comparison;
  if (comparison.missing.length > 0)
    violations.push(`entitled alerts not in ALERTS: ${sample(comparison.missing)}`);
  if (comparison.unexpected.length > 0)
    violations.push(`alerts route() does not entitle: ${sample(comparison.unexpected)}`);
  if (comparison.duplicated.length > 0)
    violations.push(`alerts in ALERTS more than once: ${sample(comparison.duplicated)}`);

  timings.streams = lap();
  const recipientOf = (id: AlertId): string => id.slice(id.lastIndexOf('/') + 1);
  const undeliveredNow = (): AlertId[] =>
    [...alerts.keys()].filter((id) => o.received.get(recipientOf(id))?.has(id) !== true);
  const deadline = Date.now() + (o.deliveryTimeoutMs ?? 120_000);
  while (undeliveredNow().length > 0 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 200));
  const undelivered = undeliveredNow();
  if (undelivered.length > 0)
    violations.push(`alerts their subscriber was never handed: ${sample(undelivered)}`);
  const deliveredNotStored = [...o.received.values()]
    .flatMap((m) => [...m.keys()])
    .filter((id) => !alerts.has(id));
  if (deliveredNotStored.length > 0)
    violations.push(`handed to a subscriber but not in ALERTS: ${sample(deliveredNotStored)}`);

  timings.deliveries = lap();
  const audit = await auditVerify(o.dataDir);
  timings.auditVerify = lap();
  const destroyedAudit = new Set(o.destroyedAudit ?? []);
  const namesDestroyed =
    destroyedSeqs.size + destroyedAudit.size === 0
      ? undefined
      : (v: AuditVerdict) =>
          (destroyedSeqs.size === 0 || namesExactly(v, Streams.Reports, destroyedSeqs)) &&
          (destroyedAudit.size === 0 || namesExactly(v, Streams.Audit, destroyedAudit));
  const auditDestroyed = o.auditDestroyed ?? namesDestroyed;
  const auditAccepted = audit.ok ? auditDestroyed === undefined : auditDestroyed?.(audit) === true;
  if (!auditAccepted)
    violations.push(
      audit.ok
        ? 'mosaic audit verify passed although the fault destroyed audit entries'
        : `mosaic audit verify failed (${String(audit.exitCode)}): ${audit.output}`,
    );
  if (o.crashed.length > 0)
    violations.push(`processes that were not the target ended: ${o.crashed.join(', ')}`);
  const ended = o.subscriptionsEnded ?? [];
  if (ended.length > 0)
    violations.push(`subscriptions that ended instead of riding the fault out: ${sample(ended)}`);
  if (destroyedSeqs.size > 0) {
    const same =
      holes.length === destroyedSeqs.size && holes.every((seq) => destroyedSeqs.has(seq));
    if (!same)
      violations.push(
        `REPORTS cannot return ${holes.length === 0 ? 'nothing' : sample(holes.map(String))}, the fault destroyed ${sample([...destroyedSeqs].map(String))}`,
      );
  } else if (holes.length > 0 && o.auditDestroyed === undefined)
    violations.push(`REPORTS counts sequences it cannot return: ${sample(holes.map(String))}`);

  return {
    ok: violations.length === 0,
    acked: acked.length,
    lost,
    destroyed,
    duplicatedReports,
    foreignReports,
    reportHoles: holes,
    alerts: alertFigures,
    undelivered,
    deliveredNotStored,
    audit,
    crashed: [...o.crashed],
    violations,
    timings,
  };
}
