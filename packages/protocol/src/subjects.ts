/**
 * Every subject, stream, consumer and bucket name the broker permissions are built from,
 * in one place so that the permission table and the services cannot drift apart.
 * Agency ids are validated subject tokens (lower-case DNS labels) before they get here.
 */

/** The JetStream streams of the hub. */
export const Streams = {
  Reports: 'REPORTS',
  Rejections: 'REJECTIONS',
  Alerts: 'ALERTS',
  Audit: 'AUDIT',
} as const;
export type Stream = (typeof Streams)[keyof typeof Streams];

/** Subjects each stream captures. */
export const StreamSubjects = {
  [Streams.Reports]: 'mosaic.reports.>',
  [Streams.Rejections]: 'mosaic.rejections.>',
  [Streams.Alerts]: 'mosaic.alerts.>',
  [Streams.Audit]: 'mosaic.audit',
} as const satisfies Record<Stream, string>;

/** The KV bucket holding the federation registry, and the stream behind it. */
export const REGISTRY_BUCKET = 'mosaic-registry';
export const REGISTRY_STREAM = `KV_${REGISTRY_BUCKET}`;

/** Durable consumer of the router on REPORTS. */
export const ROUTER_CONSUMER = 'router';

/** Queue groups of the horizontally scaled services. */
export const QueueGroups = {
  Ingest: 'ingest',
  Auditor: 'auditor',
  SelectorKeys: 'selector-keys',
  Holdings: 'holdings',
} as const;

/** The hub services, each with its own NATS identity. */
export const HubServices = {
  Ingest: 'ingest',
  Router: 'router',
  Auditor: 'auditor',
  /** Holds the selector OPRF key and evaluates blinded selectors (`@mosaic/selector-keys`). */
  SelectorKeys: 'selector-keys',
  /** Keeps agencies' private holdings (tokens only) and answers hit/no-hit checks (`@mosaic/holdings`). */
  Holdings: 'holdings',
} as const;
export type HubService = (typeof HubServices)[keyof typeof HubServices];

/** Subject on which an agency submits reports (request/reply). */
export function ingestSubject(agency: string): string {
  return `mosaic.ingest.${agency}`;
}

/** Wildcard the ingest service listens on. */
export const INGEST_WILDCARD = 'mosaic.ingest.*';

/**
 * The agency of an ingest subject (`mosaic.ingest.<agency>`), or undefined for any other
 * subject. A message reaching the ingest subscription need not carry an ingest subject: a
 * JetStream delivery keeps the stored message's own subject (`mosaic.alerts.…`) when the
 * broker hands it to whichever subject the pull request named as its reply.
 *
 * @example
 * ```ts
 * agencyOfIngestSubject('mosaic.ingest.nl-police'); // 'nl-police'
 * agencyOfIngestSubject('mosaic.alerts.nl-police.report.de-bka.42'); // undefined
 * ```
 */
export function agencyOfIngestSubject(subject: string): string | undefined {
  const tokens = subject.split('.');
  const agency = tokens[2];
  return tokens.length === 3 && tokens[0] === 'mosaic' && tokens[1] === 'ingest' && agency !== ''
    ? agency
    : undefined;
}

/**
 * Subject on which an agency asks the selector key service for its public key and for
 * evaluations of blinded selectors (request/reply, attested like ingest). The hub's own
 * router asks on `HUB_SELECTOR_EVALUATE_SUBJECT` instead, never on an agency's subject.
 */
export function selectorEvaluateSubject(agency: string): string {
  return `mosaic.selectors.evaluate.${agency}`;
}

/** Wildcard the selector key service listens on. */
export const SELECTOR_EVALUATE_WILDCARD = 'mosaic.selectors.evaluate.*';

/**
 * Subject on which the hub's router, and nobody else, asks the selector key service to
 * evaluate the blinded selectors of the stored reports it routes. It lies inside the hub
 * account: no agency account imports it, and only the router identity may publish to it.
 */
export const HUB_SELECTOR_EVALUATE_SUBJECT = 'mosaic.hub.selectors.evaluate';

/**
 * The selector index: one message per (token, stored report) on `mosaic.index.<token>`,
 * written and read by the router alone (each report's entries before any of its alerts).
 * Only tokens and report identities, never a selector.
 */
export const SELECTOR_INDEX_STREAM = 'SELECTOR_INDEX';
export const SELECTOR_INDEX_SUBJECTS = 'mosaic.index.>';

/** The index subject of one token (unpadded base64url: a valid subject token). */
export function selectorIndexSubject(token: string): string {
  return `mosaic.index.${token}`;
}

/**
 * The agency of a selector evaluation subject, or undefined for any other subject.
 *
 * @example
 * ```ts
 * agencyOfSelectorEvaluateSubject('mosaic.selectors.evaluate.nl-police'); // 'nl-police'
 * ```
 */
export function agencyOfSelectorEvaluateSubject(subject: string): string | undefined {
  const tokens = subject.split('.');
  const agency = tokens[3];
  return tokens.length === 4 &&
    tokens[0] === 'mosaic' &&
    tokens[1] === 'selectors' &&
    tokens[2] === 'evaluate' &&
    agency !== ''
    ? agency
    : undefined;
}

/**
 * Subject on which an agency registers, withdraws and checks private holdings (request/reply,
 * attested like ingest): only selector tokens and the agency's own references travel on it.
 */
export function holdingsSubject(agency: string): string {
  return `mosaic.holdings.${agency}`;
}

/** Wildcard the holdings service listens on. */
export const HOLDINGS_WILDCARD = 'mosaic.holdings.*';

/**
 * The agency of a holdings subject, or undefined for any other subject.
 *
 * @example
 * ```ts
 * agencyOfHoldingsSubject('mosaic.holdings.nl-police'); // 'nl-police'
 * ```
 */
export function agencyOfHoldingsSubject(subject: string): string | undefined {
  const tokens = subject.split('.');
  const agency = tokens[2];
  return tokens.length === 3 && tokens[0] === 'mosaic' && tokens[1] === 'holdings' && agency !== ''
    ? agency
    : undefined;
}

/**
 * The KV bucket of private holdings, one entry `<holder>.<token>` per registered selector
 * token holding its `HoldingRecord` (the holder's own reference, kind, epoch; never a
 * selector). Only the holdings service writes and reads it; agencies import nothing of it.
 */
export const HOLDINGS_BUCKET = 'mosaic-holdings';
export const HOLDINGS_STREAM = `KV_${HOLDINGS_BUCKET}`;

/** Subjects of an agency's alerts in ALERTS (`mosaic.alerts.<agency>.<kind>`). */
export function alertsSubjectFilter(agency: string): string {
  return `mosaic.alerts.${agency}.>`;
}

/** Name of the durable pull consumer through which an agency reads its alerts. */
export function alertsConsumer(agency: string): string {
  return `alerts-${agency}`;
}

/**
 * Inbox prefix of an agency's connection (`connect({ inboxPrefix })`). Agency ids are lower
 * case, so these never collide with the upper-case prefixes of hub identities.
 */
export function agencyInboxPrefix(agency: string): string {
  return `_INBOX_${agency}`;
}

/** Inbox prefix of a hub service or the operator. */
export function hubInboxPrefix(
  name: HubService | 'operator' | 'hub' | 'admin' | 'system' | 'gateway',
): string {
  return `_INBOX_HUB_${name.toUpperCase()}`;
}

/**
 * Where hub services hand audit events to the auditor (request/reply, queue group
 * `auditor`); the auditor alone appends to AUDIT. Only `mosaic.hub.audit.operator` is
 * exported, to the operator's account; the others are reachable inside the hub account only.
 * On `mosaic.hub.audit.auditor` a restarting auditor hands the entries its reconciliation
 * recovered to one that serves (only the auditor identity may publish there).
 */
export function auditRequestSubject(
  from: 'ingest' | 'router' | 'operator' | 'selector-keys' | 'gateway' | 'holdings' | 'auditor',
): string {
  return `mosaic.hub.audit.${from}`;
}
export const AUDIT_REQUEST_WILDCARD = 'mosaic.hub.audit.*';

/**
 * The auditor's signed checkpoints of the AUDIT Merkle log (C2SP checkpoint text, one per
 * message), kept apart from AUDIT so that the log's leaves are audit entries only.
 */
export const AUDIT_CHECKPOINTS_STREAM = 'AUDIT_CHECKPOINTS';
export const AUDIT_CHECKPOINTS_SUBJECT = 'mosaic.checkpoints';

/** Subjects of the NATS service API (`$SRV.PING|INFO|STATS[.<name>[.<id>]]`). */
export const SERVICE_API_PREFIX = '$SRV';

/** The name a hub service has in the NATS service API, e.g. `mosaic-ingest`. */
export function serviceApiName(service: HubService | 'gateway'): string {
  return `mosaic-${service}`;
}

/**
 * Prefix under which agencies and the operator reach the hub's JetStream API from their own
 * accounts (`jetstream(nc, { apiPrefix: HUB_API_PREFIX })`). Each account imports only the
 * hub API subjects it needs, mapped under this prefix; its own `$JS.API` is not the hub's.
 */
export const HUB_API_PREFIX = '$MOSAIC.API';

/** A hub JetStream API subject (`$JS.API.<tokens>`), as the hub account sees it. */
export function hubApiSubject(...tokens: string[]): string {
  return ['$JS', 'API', ...tokens].join('.');
}

/** The same API subject as an importing account publishes it (under HUB_API_PREFIX). */
export function importedApiSubject(...tokens: string[]): string {
  return [HUB_API_PREFIX, ...tokens].join('.');
}

/** Ack subjects of the deliveries of one consumer (`$JS.ACK.<stream>.<consumer>.…`). */
export function ackSubjects(stream: string, consumer: string): string {
  return `$JS.ACK.${stream}.${consumer}.>`;
}

/**
 * Prefix of the reply subjects the broker substitutes when a request crosses from an
 * importing account into the hub account: the answer to `_R_.…` goes back to the requester's
 * own reply subject inside the requester's own account, and nowhere else.
 */
export const RESPONSE_PREFIX = '_R_';

/**
 * True when `reply` is a reply subject the broker made for a request that came through a
 * service import (`_R_.<token>…`). Hub services answer only such subjects: a request from
 * another account always carries one, and whatever the requester chose as its own reply
 * subject stays inside its own account.
 *
 * @example
 * ```ts
 * isImportedReplySubject('_R_.qlQFvq.lidIS3'); // true
 * isImportedReplySubject('mosaic.audit'); // false
 * ```
 */
export function isImportedReplySubject(reply: string | undefined): reply is string {
  if (reply === undefined) return false;
  const tokens = reply.split('.');
  return (
    tokens.length >= 2 &&
    tokens[0] === RESPONSE_PREFIX &&
    tokens.every((token) => token !== '' && token !== '*' && token !== '>' && !/\s/.test(token))
  );
}

/**
 * The configuration of an agency's alerts consumer. Its filter is what confines the
 * agency to its own alerts (the broker checks who may pull, not what the consumer holds),
 * so every component creates it from here.
 */
export function alertsConsumerConfig(agency: string): {
  durable_name: string;
  filter_subject: string;
  ack_policy: 'explicit';
  deliver_policy: 'all';
  sample_freq: string;
} {
  return {
    durable_name: alertsConsumer(agency),
    filter_subject: alertsSubjectFilter(agency),
    ack_policy: 'explicit',
    deliver_policy: 'all',
    // Every ack is sampled: the auditor turns each one into an alert.consulted entry.
    sample_freq: '100%',
  };
}

/**
 * The KV bucket projecting the registry's public keys, one entry `<agency>.<keyId>` per key
 * (`syncPublicKeys`). Agencies may read it — the registry itself they may not, it holds
 * other agencies' rules — so they can verify alerts end to end; only the hub writes it.
 */
export const PUBLIC_KEYS_BUCKET = 'mosaic-keys';
export const PUBLIC_KEYS_STREAM = `KV_${PUBLIC_KEYS_BUCKET}`;

/**
 * The KV bucket of the gateway's agency credentials, one entry per token id holding its
 * `GatewayTokenRecord` (agency, SHA-256 of the secret, validity; never the secret). Only
 * the operator writes it (`mosaic agency token …`), only the gateway and the operator read
 * it; agencies import nothing of it.
 */
export const GATEWAY_TOKENS_BUCKET = 'mosaic-gateway-tokens';
export const GATEWAY_TOKENS_STREAM = `KV_${GATEWAY_TOKENS_BUCKET}`;

/**
 * Name of the durable push consumer through which a leaf node's `ALERTS` stream (in the
 * agency's own JetStream domain) sources the agency's alerts. The router creates it with a
 * fixed deliver subject; the leaf only resets it (durable sourcing, nats-server ≥ 2.14), so
 * no agency ever chooses where the hub delivers.
 */
export function leafAlertsConsumer(agency: string): string {
  return `leaf-${agency}`;
}

/**
 * Name of the pull consumer (no acks, so no consultations) through which an agency's SDK
 * walks its alerts on the hub to check its leaf copy for gaps.
 */
export function leafCheckConsumer(agency: string): string {
  return `leafcheck-${agency}`;
}

/** Where the hub delivers an agency's leaf consumer: a hub subject exported to that agency alone. */
export function leafDeliverSubject(agency: string): string {
  return `mosaic.leaf.${agency}.alerts`;
}

/** Every agency's leaf deliver subject, as the hub account exports it. */
export const LEAF_DELIVER_WILDCARD = 'mosaic.leaf.*.alerts';

/**
 * Flow control replies of one consumer's deliveries (`$JS.FC.<stream>.<consumer>.<id>`): a
 * durable sourcing consumer counts its deliveries as acknowledged when these are answered.
 */
export function flowControlSubjects(stream: string, consumer: string): string {
  return `$JS.FC.${stream}.${consumer}.>`;
}

/** One second: nats-server requires exactly this heartbeat of a flow-control-acked consumer. */
const SOURCE_HEARTBEAT_NS = 1_000_000_000;

/**
 * The hub-side consumer a leaf node sources an agency's alerts through: push to the
 * agency's leaf deliver subject, acknowledged by answers to flow control (`flow_control`
 * ack policy), so after a broken link the leaf resumes at the first alert it did not store.
 */
export function leafAlertsConsumerConfig(agency: string): {
  durable_name: string;
  filter_subject: string;
  deliver_subject: string;
  deliver_policy: 'all';
  ack_policy: 'flow_control';
  flow_control: true;
  idle_heartbeat: number;
  max_ack_pending: number;
} {
  return {
    durable_name: leafAlertsConsumer(agency),
    filter_subject: alertsSubjectFilter(agency),
    deliver_subject: leafDeliverSubject(agency),
    deliver_policy: 'all',
    ack_policy: 'flow_control',
    flow_control: true,
    idle_heartbeat: SOURCE_HEARTBEAT_NS,
    max_ack_pending: 10_000,
  };
}

/** The pull consumer an agency's SDK checks its leaf copy with (see `leafCheckConsumer`). */
export function leafCheckConsumerConfig(agency: string): {
  durable_name: string;
  filter_subject: string;
  ack_policy: 'none';
  deliver_policy: 'all';
} {
  return {
    durable_name: leafCheckConsumer(agency),
    filter_subject: alertsSubjectFilter(agency),
    ack_policy: 'none',
    deliver_policy: 'all',
  };
}
