import { ErrorCode, MosaicError } from '@mosaic/errors';
import {
  agencyImports,
  agencyStreamImports,
  operatorImports,
  type ServiceImport,
  type StreamImport,
} from './accounts.ts';
import { agencyPermissions, agencySubscribe, operatorPermissions } from './permissions.ts';
import {
  AUDIT_CHECKPOINTS_SUBJECT,
  INGEST_WILDCARD,
  PUBLIC_KEYS_BUCKET,
  PUBLIC_KEYS_STREAM,
  StreamSubjects,
  Streams,
  ackSubjects,
  agencyInboxPrefix,
  alertsConsumer,
  alertsSubjectFilter,
  auditRequestSubject,
  flowControlSubjects,
  leafAlertsConsumer,
  leafCheckConsumer,
  leafDeliverSubject,
  hubApiSubject,
  ingestSubject,
  SELECTOR_EVALUATE_WILDCARD,
  HUB_SELECTOR_EVALUATE_SUBJECT,
  SELECTOR_INDEX_SUBJECTS,
  selectorEvaluateSubject,
  HOLDINGS_BUCKET,
  HOLDINGS_WILDCARD,
  holdingsSubject,
} from '@mosaic/protocol';

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

function coversTokens(p: readonly string[], q: readonly string[]): boolean {
  for (let i = 0; ; i++) {
    const a = p[i];
    const b = q[i];
    if (a === '>') return b !== undefined;
    if (a === undefined || b === undefined) return a === b;
    if (b === '>') return false;
    if (a !== '*' && a !== b) return false;
  }
}

/** True when every subject matching `q` also matches `p`. */
export function subjectCovers(p: string, q: string): boolean {
  return coversTokens(p.split('.'), q.split('.'));
}

/** The hub-side subjects that belong to one agency alone: submissions, alerts, consumer. */
function agencyPrivateSubjects(agency: string): string[] {
  const consumer = alertsConsumer(agency);
  return [
    ingestSubject(agency),
    selectorEvaluateSubject(agency),
    holdingsSubject(agency),
    alertsSubjectFilter(agency),
    hubApiSubject('CONSUMER', 'INFO', Streams.Alerts, consumer),
    hubApiSubject('CONSUMER', 'MSG', 'NEXT', Streams.Alerts, consumer),
    hubApiSubject('CONSUMER', 'CREATE', Streams.Alerts, consumer),
    hubApiSubject('CONSUMER', 'CREATE', Streams.Alerts, consumer, '>'),
    hubApiSubject('CONSUMER', 'DURABLE', 'CREATE', Streams.Alerts, consumer),
    hubApiSubject('CONSUMER', 'DELETE', Streams.Alerts, consumer),
    ackSubjects(Streams.Alerts, consumer),
    ...leafConsumerSubjects(agency),
    hubApiSubject('CONSUMER', 'CREATE', Streams.Alerts, leafAlertsConsumer(agency), '>'),
    hubApiSubject('CONSUMER', 'CREATE', Streams.Alerts, leafCheckConsumer(agency), '>'),
    leafDeliverSubject(agency),
    `${agencyInboxPrefix(agency)}.>`,
  ];
}

/** The hub subjects of an agency's leaf consumer and leaf check consumer. */
function leafConsumerSubjects(agency: string): string[] {
  const leaf = leafAlertsConsumer(agency);
  const check = leafCheckConsumer(agency);
  return [
    hubApiSubject('CONSUMER', 'INFO', Streams.Alerts, leaf),
    hubApiSubject('CONSUMER', 'RESET', Streams.Alerts, leaf),
    flowControlSubjects(Streams.Alerts, leaf),
    hubApiSubject('CONSUMER', 'INFO', Streams.Alerts, check),
    hubApiSubject('CONSUMER', 'MSG', 'NEXT', Streams.Alerts, check),
    hubApiSubject('CONSUMER', 'RESET', Streams.Alerts, check),
  ];
}

/** What an agency's account may import: exactly its own services and the public keys. */
function agencyAllowedImports(agency: string): string[] {
  const consumer = alertsConsumer(agency);
  return [
    ingestSubject(agency),
    hubApiSubject('CONSUMER', 'INFO', Streams.Alerts, consumer),
    hubApiSubject('CONSUMER', 'MSG', 'NEXT', Streams.Alerts, consumer),
    ackSubjects(Streams.Alerts, consumer),
    ...leafConsumerSubjects(agency),
    hubApiSubject('STREAM', 'MSG', 'GET', PUBLIC_KEYS_STREAM),
    hubApiSubject('DIRECT', 'GET', PUBLIC_KEYS_STREAM),
    hubApiSubject('DIRECT', 'GET', PUBLIC_KEYS_STREAM, '>'),
    selectorEvaluateSubject(agency),
    holdingsSubject(agency),
  ];
}

/** A way in which one account could reach what is not its own. */
export interface IsolationBreach {
  account: string;
  /** `import`: the account imports it; `permission`: a user may publish or subscribe it. */
  via: 'import' | 'permission';
  subject: string;
  reaches: string;
  /** The agency whose subject it reaches, or `hub`. */
  of: string;
}

/**
 * The isolation model of the broker accounts. A message that a client of account X sends,
 * and every answer the broker or a service publishes to a reply subject X chose, is
 * delivered inside X; it leaves X only through X's imports. So the subjects X can make
 * appear outside X — as a message or as a reply — are exactly its imports' hub subjects,
 * whatever its users' permissions say. The model checks, for every agency:
 * - every import is one of its own services or a read of the public keys;
 * - no import reaches another agency's subjects;
 * - its users may publish only on import subjects and subscribe only to its own inbox, so
 *   the permission and the account say the same thing;
 * - it imports as a stream only its own leaf consumer's deliveries, which the hub
 *   publishes (the consumer is the router's, its deliver subject fixed), and which only
 *   carry its own alerts.
 * Empty when the agencies are isolated from each other and from the hub.
 */
export function findIsolationBreaches(
  agencies: readonly string[],
  importsOf: (agency: string) => ServiceImport[] = agencyImports,
  streamImportsOf: (agency: string) => StreamImport[] = agencyStreamImports,
): IsolationBreach[] {
  const breaches: IsolationBreach[] = [];
  for (const agency of agencies) {
    const account = `agency:${agency}`;
    for (const i of streamImportsOf(agency))
      if (i.subject !== leafDeliverSubject(agency))
        breaches.push({
          account,
          via: 'import',
          subject: i.subject,
          reaches: i.subject,
          of: 'hub',
        });
    const imports = importsOf(agency);
    const allowed = agencyAllowedImports(agency);
    for (const i of imports) {
      if (!allowed.includes(i.subject))
        breaches.push({
          account,
          via: 'import',
          subject: i.subject,
          reaches: i.subject,
          of: 'hub',
        });
      for (const other of agencies) {
        if (other === agency) continue;
        for (const subject of agencyPrivateSubjects(other))
          if (subjectsIntersect(i.subject, subject))
            breaches.push({
              account,
              via: 'import',
              subject: i.subject,
              reaches: subject,
              of: other,
            });
      }
    }
    const { publish, subscribe } = agencyPermissions(agency);
    for (const subject of publish.allow)
      if (!imports.some((i) => subjectCovers(i.localSubject, subject)))
        breaches.push({ account, via: 'permission', subject, reaches: subject, of: agency });
    const own = agencySubscribe(agency);
    for (const subject of subscribe.allow)
      if (!own.some((mine) => subjectCovers(mine, subjectOf(subject))))
        breaches.push({ account, via: 'permission', subject, reaches: subject, of: agency });
  }
  return breaches;
}

/** Administration and stream subjects the routine operator must never reach. */
function operatorForbiddenSubjects(): string[] {
  return [
    ...Object.values(StreamSubjects),
    AUDIT_CHECKPOINTS_SUBJECT,
    `$KV.${PUBLIC_KEYS_BUCKET}.>`,
    INGEST_WILDCARD,
    SELECTOR_EVALUATE_WILDCARD,
    HOLDINGS_WILDCARD,
    `$KV.${HOLDINGS_BUCKET}.>`,
    auditRequestSubject('holdings'),
    HUB_SELECTOR_EVALUATE_SUBJECT,
    SELECTOR_INDEX_SUBJECTS,
    auditRequestSubject('ingest'),
    auditRequestSubject('router'),
    auditRequestSubject('selector-keys'),
    auditRequestSubject('auditor'),
    hubApiSubject('STREAM', 'CREATE', '>'),
    hubApiSubject('STREAM', 'UPDATE', '>'),
    hubApiSubject('STREAM', 'DELETE', '>'),
    hubApiSubject('STREAM', 'PURGE', '>'),
    hubApiSubject('STREAM', 'MSG', 'DELETE', '>'),
    hubApiSubject('STREAM', 'RESTORE', '>'),
    hubApiSubject('STREAM', 'SNAPSHOT', '>'),
    hubApiSubject('STREAM', 'LEADER', '>'),
    hubApiSubject('STREAM', 'PEER', '>'),
    hubApiSubject('CONSUMER', 'CREATE', '>'),
    hubApiSubject('CONSUMER', 'DURABLE', '>'),
    hubApiSubject('CONSUMER', 'DELETE', '>'),
    hubApiSubject('CONSUMER', 'MSG', 'NEXT', '>'),
    '$JS.ACK.>',
    '$SYS.>',
  ];
}

/**
 * The same model for the routine operator's account: none of its imports reaches a stream's
 * subjects, stream administration, consumer creation (a push consumer would deliver stream
 * contents to any hub subject) or another service.
 */
export function findOperatorBreaches(
  imports: readonly ServiceImport[] = operatorImports(),
): IsolationBreach[] {
  const breaches: IsolationBreach[] = [];
  for (const i of imports)
    for (const subject of operatorForbiddenSubjects())
      if (subjectsIntersect(i.subject, subject))
        breaches.push({
          account: 'operator',
          via: 'import',
          subject: i.subject,
          reaches: subject,
          of: 'hub',
        });
  for (const subject of operatorPermissions().publish.allow)
    if (!imports.some((i) => subjectCovers(i.localSubject, subject)))
      breaches.push({
        account: 'operator',
        via: 'permission',
        subject,
        reaches: subject,
        of: 'operator',
      });
  return breaches;
}

/** Throws ERR_FEDERATION when an agency's account or permissions reach beyond its own. */
export function assertAgencyIsolation(agencies: readonly string[]): void {
  const breaches = [...findIsolationBreaches(agencies), ...findOperatorBreaches()];
  if (breaches.length > 0)
    throw new MosaicError(ErrorCode.Federation, 'broker accounts are not isolated', {
      details: { breaches },
    });
}
