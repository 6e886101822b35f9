import { ErrorCode, MosaicError } from '@mosaic/errors';
import type { Msg } from '@nats-io/transport-node';
import type { AuditRequest } from './client.ts';

/** The header nats-server adds to a request that crosses a service import with `share`. */
export const REQUEST_INFO_HEADER = 'Nats-Request-Info';

/** The requesting account the broker attests, or undefined without the header. */
export function attestedAccount(msg: Msg): string | undefined {
  const info = msg.headers?.get(REQUEST_INFO_HEADER);
  if (info === undefined || info === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(info);
    return typeof parsed === 'object' &&
      parsed !== null &&
      'acc' in parsed &&
      typeof parsed.acc === 'string'
      ? parsed.acc
      : undefined;
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/**
 * Checks who sent an audit request. `mosaic.hub.audit.operator` is the only audit subject
 * exported to another account (the routine operator's): a request on it must carry the
 * broker's attestation that it came from that account. The others are reachable only
 * inside the hub account, where the broker adds no attestation — a request on them that
 * carries one came through an import that must not exist.
 */
export function checkAuditSender(msg: Msg, operatorAccount: string | undefined): void {
  const from = msg.subject.slice(msg.subject.lastIndexOf('.') + 1);
  const account = attestedAccount(msg);
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
