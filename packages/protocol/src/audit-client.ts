import type { AuditEntry } from '@mosaic/audit-log';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { auditRequestSubject, type HubService } from './subjects.ts';
import type { NatsConnection } from '@nats-io/transport-node';

/**
 * What a hub service asks the auditor to append: an audit entry (typed from the entry
 * schema, so a misspelt action or actor kind does not compile) without `v`, `time`, `prev`
 * and `recovered`, which the auditor alone sets (it alone orders the log and reconciles it).
 */
export type AuditRequest = Omit<
  AuditEntry,
  'v' | 'time' | 'prev' | 'recovered' | 'recipients' | 'details'
> & {
  /** Each recipient's reason is any JSON value (the auditor checks it is one). */
  recipients?: { agency: string; reason?: unknown }[];
  /** Any JSON object (the auditor checks it is one). */
  details?: Record<string, unknown>;
};

/** The auditor's answer: the entry's AUDIT sequence (its log index is `seq - 1`). */
export type AuditReply = { ok: true; seq: number } | { ok: false; code: string; message: string };

/** Appends audit entries through the auditor. */
export interface AuditClient {
  /**
   * Resolves once the entry is stored in AUDIT, with its sequence. Throws ERR_UNAVAILABLE
   * when no auditor answers in time or the auditor could not store it: the caller treats
   * the decision it audits as not taken (or not confirmed) and lets it be retried.
   */
  record(entry: AuditRequest): Promise<{ seq: number }>;
}

/**
 * A client sending audit requests on `mosaic.hub.audit.<from>` (the only audit subject the
 * broker lets that identity publish to); replies come into its own inbox.
 *
 * @example
 * ```ts
 * const audit = auditClient(nc, 'ingest');
 * await audit.record({ actor: { kind: 'agency', id: 'nl-police' }, action: 'report.accepted', … });
 * ```
 */
export function auditClient(
  nc: NatsConnection,
  from: HubService | 'operator',
  options: { timeoutMs?: number } = {},
): AuditClient {
  const subject = auditRequestSubject(from);
  const timeout = options.timeoutMs ?? 10_000;
  return {
    async record(entry) {
      let reply: AuditReply;
      try {
        const msg = await nc.request(subject, JSON.stringify(entry), { timeout });
        reply = msg.json<AuditReply>();
      } catch (err) {
        throw new MosaicError(
          ErrorCode.Unavailable,
          `the audit entry was not written: ${(err as Error).message}`,
          { details: { operation: 'audit', action: entry.action }, cause: err },
        );
      }
      if (!reply.ok) {
        const known = (Object.values(ErrorCode) as string[]).includes(reply.code);
        throw new MosaicError(
          known ? (reply.code as ErrorCode) : ErrorCode.Internal,
          `the auditor refused the entry: ${reply.message}`,
          { details: { operation: 'audit', action: entry.action, code: reply.code } },
        );
      }
      return { seq: reply.seq };
    },
  };
}
