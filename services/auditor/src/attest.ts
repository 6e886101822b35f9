import { ACTOR_KINDS, AUDIT_ACTIONS } from '@mosaic/audit-log';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { AUDIT_SENDERS, attestedAccount, isAuditSender } from '@mosaic/protocol';
import type { Msg } from '@nats-io/transport-node';
import type { AuditRequest } from '@mosaic/protocol';

/**
 * Checks who sent an audit request. `mosaic.hub.audit.operator` is the only audit subject
 * exported to another account (the routine operator's): a request on it must carry the
 * broker's attestation that it came from that account. The others are reachable only
 * inside the hub account, where the broker adds no attestation — a request on them that
 * carries one came through an import that must not exist.
 */
export function checkAuditSender(msg: Msg, operatorAccount: string | undefined): void {
  const from = msg.subject.slice(msg.subject.lastIndexOf('.') + 1);
  const account = attestedAccount(msg.headers);
  const ok =
    from === 'operator'
      ? operatorAccount === undefined || account === operatorAccount
      : account === undefined;
  if (!ok)
    throw new MosaicError(
      ErrorCode.SenderNotAttested,
      `audit request on ${msg.subject} not attested as sent by the ${from} identity`,
      { details: { subject: msg.subject, attestedAccount: account ?? null } },
    );
}

/**
 * Refuses (ERR_SENDER_NOT_ATTESTED) an audit request whose actor kind or action its sender
 * may not record (`AUDIT_SENDERS`). `from` is the last token of the request subject.
 */
export function checkAuditContent(
  from: string,
  request: { actor?: { kind?: unknown }; action?: unknown },
): void {
  const admitted: { kinds: readonly string[]; actions: readonly string[] } | undefined =
    isAuditSender(from) ? AUDIT_SENDERS[from] : undefined;
  const kind = request.actor?.kind;
  const action = request.action;
  // What is no audit entry at all is the entry schema's to name (ERR_AUDIT_ENTRY).
  if (
    !(ACTOR_KINDS as readonly unknown[]).includes(kind) ||
    !(AUDIT_ACTIONS as readonly unknown[]).includes(action)
  )
    return;
  if (
    admitted === undefined ||
    typeof kind !== 'string' ||
    typeof action !== 'string' ||
    !admitted.kinds.includes(kind) ||
    !admitted.actions.includes(action)
  )
    throw new MosaicError(
      ErrorCode.SenderNotAttested,
      `the ${from} identity may not record ${String(action)} by a ${String(kind)}`,
      { details: { from, action: String(action), actorKind: String(kind) } },
    );
}

/**
 * What `reconcile` recovers, by action: the actor kind it writes each with. The only entries
 * a restarting auditor may hand a serving one (on `mosaic.hub.audit.auditor`).
 */
const RECOVERABLE: Readonly<Record<string, string>> = {
  'report.accepted': 'agency',
  'holdings.hit': 'agency',
  'alert.disclosed': 'service',
  'report.retracted': 'service',
};

/**
 * Refuses (ERR_SENDER_NOT_ATTESTED) an entry handed over by a restarting auditor unless it is
 * marked `recovered: true` and is one of the entries the reconciliation writes, by the actor
 * kind it writes it with. Anything else the auditor identity sends there is refused.
 */
export function checkRecovered(request: {
  recovered?: unknown;
  actor?: { kind?: unknown };
  action?: unknown;
}): void {
  const { recovered, action } = request;
  const kind = request.actor?.kind;
  if (
    recovered !== true ||
    typeof action !== 'string' ||
    !Object.hasOwn(RECOVERABLE, action) ||
    RECOVERABLE[action] !== kind
  )
    throw new MosaicError(
      ErrorCode.SenderNotAttested,
      `the auditor identity may hand over only recovered collection and disclosure entries, not ${String(action)} by a ${String(kind)}${recovered === true ? '' : ' without recovered: true'}`,
      { details: { from: 'auditor', action: String(action), actorKind: String(kind) } },
    );
}

/** The part of a JetStream API audit advisory (`$JS.EVENT.ADVISORY.API`) the auditor reads. */
interface ApiAdvisory {
  type?: string;
  subject?: string;
  request?: string;
  response?: string;
  client?: { acc?: string; user?: string; name_tag?: string; name?: string; host?: string };
}

const MAX_RECORDED = 2_048;

/**
 * The audit entry for a JetStream API call of the break-glass identity, or undefined when the
 * advisory is about another identity. `adminUser` is the break-glass user's public key.
 */
export function breakGlassEntry(data: Uint8Array, adminUser: string): AuditRequest | undefined {
  let advisory: ApiAdvisory;
  try {
    advisory = JSON.parse(new TextDecoder().decode(data)) as ApiAdvisory;
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
  if (advisory.client?.user !== adminUser || advisory.subject === undefined) return undefined;
  return {
    actor: { kind: 'admin', id: advisory.client.name_tag ?? 'mosaic-admin' },
    action: 'admin.api',
    details: {
      subject: advisory.subject,
      request: (advisory.request ?? '').slice(0, MAX_RECORDED),
      response: (advisory.response ?? '').slice(0, MAX_RECORDED),
      ...(advisory.client.host === undefined ? {} : { host: advisory.client.host }),
    },
  };
}
