import { compareVersions, httpGet } from '@mosaic/nats-server';
import { AUDIT_CHECKPOINTS_STREAM, streamConfigs } from '@mosaic/protocol';
import type { JetStreamManager } from '@nats-io/jetstream';

/** Why a service process is not ready. */
export const NotReady = {
  /** A server's monitoring endpoint did not answer `/varz`. */
  ServerUnreachable: 'server-unreachable',
  /** A server does not fsync every write (`jetstream { sync_interval: always }`). */
  SyncNotAlways: 'sync-not-always',
  /** A server is older than the supported minimum. */
  ServerTooOld: 'server-too-old',
  /** A stream has fewer replicas than configured. */
  TooFewReplicas: 'too-few-replicas',
  /** A hub stream does not exist (yet). */
  StreamMissing: 'stream-missing',
  /**
   * A service of this process cannot do its work: the auditor refuses appends on a damaged
   * log, or the router holds reports it cannot index (the selector key service unreachable).
   */
  ServiceUnhealthy: 'service-unhealthy',
} as const;
export type NotReady = (typeof NotReady)[keyof typeof NotReady];

export interface ReadinessProblem {
  cause: NotReady;
  /** The monitoring URL, stream or service the problem is about. */
  subject: string;
  detail: string;
}

interface Varz {
  version?: string;
  jetstream?: { config?: { sync_always?: boolean } };
}

/** A service of the process that says whether it can do its work (the auditor, the router). */
export interface ReadinessService {
  name: string;
  health(): { ok: true } | { ok: false; problem: string; reason: string };
}

/** What readiness checks: the servers' monitoring endpoints and the hub streams. */
export interface ReadinessTarget {
  monitoring: readonly string[];
  jsm: JetStreamManager;
  replicas: number;
  minServerVersion: string;
  /** The services this process runs that report their health. */
  services?: readonly ReadinessService[];
}

/**
 * Everything that keeps a service process from being ready, or none: every server answers
 * `/varz`, fsyncs every write (`sync_always`, so an acknowledged report survives a power
 * loss of a majority) and is at least `minServerVersion`, and every hub stream has at least
 * the configured replicas, and every service of the process that reports its health is healthy.
 */
export async function readinessProblems(t: ReadinessTarget): Promise<ReadinessProblem[]> {
  const problems: ReadinessProblem[] = [];
  for (const base of t.monitoring) {
    const url = new URL('/varz', base).href;
    const answer = await httpGet(url);
    if (answer?.status !== 200) {
      problems.push({
        cause: NotReady.ServerUnreachable,
        subject: base,
        detail: answer === undefined ? 'no answer' : `HTTP ${String(answer.status)}`,
      });
      continue;
    }
    const varz = JSON.parse(answer.body) as Varz;
    if (varz.jetstream?.config?.sync_always !== true)
      problems.push({
        cause: NotReady.SyncNotAlways,
        subject: base,
        detail: 'jetstream sync_interval is not "always"',
      });
    const version = varz.version ?? '0.0.0';
    if (compareVersions(version, t.minServerVersion) < 0)
      problems.push({
        cause: NotReady.ServerTooOld,
        subject: base,
        detail: `nats-server ${version} is older than ${t.minServerVersion}`,
      });
  }
  for (const service of t.services ?? []) {
    const health = service.health();
    if (health.ok) continue;
    // Where the problem lies, when the service says more (the auditor: stream and seq).
    const where = Object.entries(health).filter(([k]) => !['ok', 'problem', 'reason'].includes(k));
    problems.push({
      cause: NotReady.ServiceUnhealthy,
      subject: service.name,
      detail: `${health.problem}: ${health.reason}${where.length === 0 ? '' : ` ${JSON.stringify(Object.fromEntries(where))}`}`,
    });
  }
  const names = [
    ...Object.values(streamConfigs(t.replicas)).map((c) => c.name),
    AUDIT_CHECKPOINTS_STREAM,
  ];
  for (const name of names) {
    let replicas: number;
    try {
      replicas = (await t.jsm.streams.info(name)).config.num_replicas;
    } catch (err) {
      problems.push({
        cause: NotReady.StreamMissing,
        subject: name,
        detail: err instanceof Error ? err.message : String(err),
      });
      continue;
    }
    if (replicas < t.replicas)
      problems.push({
        cause: NotReady.TooFewReplicas,
        subject: name,
        detail: `${String(replicas)} replicas, ${String(t.replicas)} configured`,
      });
  }
  return problems;
}
