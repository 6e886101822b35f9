import { ErrorCode, MosaicError } from '@mosaic/errors';
import { agencyPermissions } from './permissions.ts';
import {
  Streams,
  agencyInboxPrefix,
  alertsConsumer,
  alertsSubjectFilter,
  ingestSubject,
} from './subjects.ts';

/** Drops the queue group of a subscribe permission (`"<subject> <queue>"`). */
function subjectOf(permission: string): string {
  const space = permission.indexOf(' ');
  return space < 0 ? permission : permission.slice(0, space);
}

function intersectTokens(p: readonly string[], q: readonly string[]): boolean {
  let i = 0;
  for (;;) {
    const a = p[i];
    const b = q[i];
    if (a === undefined || b === undefined) return a === b;
    // `>` matches one or more tokens, so it meets anything that still has a token here.
    if (a === '>' || b === '>') return true;
    if (a !== '*' && b !== '*' && a !== b) return false;
    i++;
  }
}

/**
 * True when at least one subject matches both NATS subject patterns (`*` one token, `>`
 * one or more trailing tokens). A literal subject is a pattern matching only itself.
 *
 * @example
 * ```ts
 * subjectsIntersect('mosaic.ingest.*', 'mosaic.ingest.nl'); // true
 * subjectsIntersect('_INBOX_nl.>', '_INBOX_nl-police.x'); // false
 * ```
 */
export function subjectsIntersect(p: string, q: string): boolean {
  return intersectTokens(subjectOf(p).split('.'), subjectOf(q).split('.'));
}

/** The subjects that belong to one agency alone: its submissions, alerts, consumer, inbox. */
export function agencyPrivateSubjects(agency: string): string[] {
  const consumer = alertsConsumer(agency);
  return [
    ingestSubject(agency),
    alertsSubjectFilter(agency),
    `$JS.API.CONSUMER.INFO.${Streams.Alerts}.${consumer}`,
    `$JS.API.CONSUMER.MSG.NEXT.${Streams.Alerts}.${consumer}`,
    `$JS.API.CONSUMER.CREATE.${Streams.Alerts}.${consumer}`,
    `$JS.API.CONSUMER.CREATE.${Streams.Alerts}.${consumer}.>`,
    `$JS.API.CONSUMER.DURABLE.CREATE.${Streams.Alerts}.${consumer}`,
    `$JS.API.CONSUMER.DELETE.${Streams.Alerts}.${consumer}`,
    `$JS.ACK.${Streams.Alerts}.${consumer}.>`,
    `${agencyInboxPrefix(agency)}.>`,
  ];
}

/**
 * Finds, for every pair of distinct agencies, a permission of one that reaches a private
 * subject of the other. Empty when the agencies are isolated from each other.
 */
export function findIsolationBreaches(
  agencies: readonly string[],
): { agency: string; permission: string; reaches: string; of: string }[] {
  const breaches: { agency: string; permission: string; reaches: string; of: string }[] = [];
  const privates = agencies.map((agency) => ({ agency, subjects: agencyPrivateSubjects(agency) }));
  for (const agency of agencies) {
    const { publish, subscribe } = agencyPermissions(agency);
    const granted = [...publish.allow, ...subscribe.allow];
    for (const other of privates) {
      if (other.agency === agency) continue;
      for (const permission of granted)
        for (const subject of other.subjects)
          if (subjectsIntersect(permission, subject))
            breaches.push({ agency, permission, reaches: subject, of: other.agency });
    }
  }
  return breaches;
}

/** Throws ERR_FEDERATION when one agency's permissions would reach another's subjects. */
export function assertAgencyIsolation(agencies: readonly string[]): void {
  const breaches = findIsolationBreaches(agencies);
  if (breaches.length > 0)
    throw new MosaicError(ErrorCode.Federation, 'agency permissions are not isolated', {
      details: { breaches },
    });
}
