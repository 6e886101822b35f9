import type { ActorKind, AuditAction, AuditEntry } from '@mosaic/audit-log';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import type { NatsConnection } from '@nats-io/transport-node';
import { auditRequestSubject } from './subjects.ts';

/**
 * Who may send audit requests, and what each may record: the actor kinds and actions its
 * audit subject (`mosaic.hub.audit.<sender>`) admits. The auditor refuses anything else
 * (ERR_SENDER_NOT_ATTESTED), so no sender writes an entry in another's name — the operator
 * cannot record a consultation by an agency, ingest no disclosure — and `auditClient(nc, s)`
 * accepts only these at compile time. A new audit action is added to the entry schema's
 * list and to its sender here.
 */
export const AUDIT_SENDERS = {
  ingest: { kinds: ['agency'], actions: ['report.accepted', 'report.rejected'] },
  router: { kinds: ['service'], actions: ['alert.disclosed', 'report.retracted'] },
  'selector-keys': { kinds: ['agency'], actions: ['selectors.evaluated'] },
  holdings: {
    kinds: ['agency'],
    actions: ['holdings.registered', 'holdings.withdrawn', 'holdings.checked', 'holdings.hit'],
  },
  // The HTTP gateway reads alerts for the agency it authenticated: the consultation is the agency's.
  gateway: { kinds: ['agency'], actions: ['alert.consulted'] },
  operator: {
    kinds: ['operator'],
    actions: [
      'operator.replay',
      'operator.export',
      'registry.changed',
      'gateway.token.issued',
      'gateway.token.revoked',
    ],
  },
} as const satisfies Record<
  string,
  { kinds: readonly ActorKind[]; actions: readonly AuditAction[] }
>;

/** A sender of audit requests. */
export type AuditSender = keyof typeof AUDIT_SENDERS;

/** True when `name` (the last token of an audit request subject) is a known sender. */
export function isAuditSender(name: string): name is AuditSender {
  return Object.hasOwn(AUDIT_SENDERS, name);
}

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

/** An audit request `sender` may make: one of its own actions by one of its actor kinds. */
export type AuditRequestOf<S extends AuditSender> = AuditRequest & {
  actor: { kind: (typeof AUDIT_SENDERS)[S]['kinds'][number]; id: string };
  action: (typeof AUDIT_SENDERS)[S]['actions'][number];
};

/** Appends audit entries through the auditor. */
export interface AuditClient<S extends AuditSender = AuditSender> {
  /**
   * Resolves once the entry is stored in AUDIT, with its sequence. Throws ERR_UNAVAILABLE
   * when no auditor answers in time or the auditor could not store it: the caller treats
   * the decision it audits as not taken (or not confirmed) and lets it be retried.
   */
  record(entry: AuditRequestOf<S>): Promise<{ seq: number }>;
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
export function auditClient<S extends AuditSender>(
  nc: NatsConnection,
  from: S,
  options: { timeoutMs?: number } = {},
): AuditClient<S> {
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
