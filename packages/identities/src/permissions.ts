import {
  AUDIT_CHECKPOINTS_STREAM,
  AUDIT_CHECKPOINTS_SUBJECT,
  AUDIT_REQUEST_WILDCARD,
  GATEWAY_TOKENS_BUCKET,
  GATEWAY_TOKENS_STREAM,
  HUB_SELECTOR_EVALUATE_SUBJECT,
  HubServices,
  INGEST_WILDCARD,
  PUBLIC_KEYS_BUCKET,
  PUBLIC_KEYS_STREAM,
  QueueGroups,
  REGISTRY_BUCKET,
  REGISTRY_STREAM,
  RESPONSE_PREFIX,
  ROUTER_CONSUMER,
  SELECTOR_EVALUATE_WILDCARD,
  HOLDINGS_BUCKET,
  HOLDINGS_STREAM,
  HOLDINGS_WILDCARD,
  HIT_ALERT_KIND,
  SELECTOR_INDEX_STREAM,
  SELECTOR_INDEX_SUBJECTS,
  StreamSubjects,
  Streams,
  ackSubjects,
  agencyInboxPrefix,
  alertsConsumer,
  flowControlSubjects,
  leafAlertsConsumer,
  leafCheckConsumer,
  leafDeliverSubject,
  auditRequestSubject,
  hubApiSubject as api,
  hubInboxPrefix,
  importedApiSubject,
  ingestSubject,
  selectorEvaluateSubject,
  holdingsSubject,
  SERVICE_API_PREFIX,
  type HubService,
} from '@mosaic/protocol';

/** Who a NATS identity is. */
export const Roles = {
  Agency: 'agency',
  Ingest: HubServices.Ingest,
  Router: HubServices.Router,
  Auditor: HubServices.Auditor,
  SelectorKeys: HubServices.SelectorKeys,
  Holdings: HubServices.Holdings,
  /** The routine operator: registry administration, replays, audit checks. */
  Operator: 'operator',
  /** The hub runner itself: creates streams and buckets, seeds the registry, projects keys. */
  Hub: 'hub',
  /** Break-glass stream administration; every JetStream API call it makes is audited. */
  Admin: 'admin',
  /** The hub runner's system-account user: pushes account updates to the servers. */
  System: 'system',
  /** The HTTP gateway's hub-account user: token lookups, alert reads, consultations. */
  Gateway: 'gateway',
} as const;
export type Role = (typeof Roles)[keyof typeof Roles];

/**
 * What one NATS user may do. Only allow lists: everything not listed is denied. A
 * subscribe entry `"<subject> <queue>"` allows that subject only in that queue group.
 */
export interface Permissions {
  publish: { allow: readonly string[] };
  subscribe: { allow: readonly string[] };
}

/** Read-only access to one stream's messages: info, get by sequence, direct get. */
function streamRead(stream: string): string[] {
  return [
    api('STREAM', 'INFO', stream),
    api('STREAM', 'MSG', 'GET', stream),
    api('DIRECT', 'GET', stream),
    api('DIRECT', 'GET', stream, '>'),
  ];
}

/** Everything a durable pull consumer's owner needs: create, info, pull, ack. */
function pullConsumer(stream: string, consumer: string): string[] {
  return [
    api('CONSUMER', 'CREATE', stream, consumer),
    api('CONSUMER', 'CREATE', stream, consumer, '>'),
    api('CONSUMER', 'DURABLE', 'CREATE', stream, consumer),
    api('CONSUMER', 'INFO', stream, consumer),
    api('CONSUMER', 'MSG', 'NEXT', stream, consumer),
    ackSubjects(stream, consumer),
  ];
}

/**
 * Read-only use of a KV bucket through `@nats-io/kv` (`get`, `keys`, `watch`): no `$KV.`
 * publish, so no writes, and no stream update, purge or delete. `keys`/`watch` create
 * ordered consumers delivering to the caller's inbox and answer flow control on `$JS.FC`.
 */
function bucketRead(stream: string): string[] {
  return [
    ...streamRead(stream),
    api('CONSUMER', 'CREATE', stream, '>'),
    api('CONSUMER', 'INFO', stream, '>'),
    api('CONSUMER', 'DELETE', stream, '>'),
    `$JS.FC.${stream}.>`,
  ];
}

/** Answers to requests that came through a service import (`_R_.…`, see accounts.ts). */
const IMPORTED_REPLIES = `${RESPONSE_PREFIX}.>`;

/**
 * An agency, inside its own account: submit on its ingest subject; read its own alerts
 * through its own durable consumer; read the public-keys bucket to verify alerts end to
 * end; receive only on its own inbox prefix. Each publish subject is one of the account's
 * imports (`agencyImports`), so this list and the imports say the same thing twice: the
 * account bounds what any message or reply of the agency can reach, the permission bounds
 * what its client may send.
 *
 * @example
 * ```ts
 * agencyPermissions('nl-police').publish.allow;
 * // ['mosaic.ingest.nl-police', '$MOSAIC.API.CONSUMER.INFO.ALERTS.alerts-nl-police', …]
 * ```
 */
export function agencyPermissions(agency: string): Permissions {
  const consumer = alertsConsumer(agency);
  return {
    publish: {
      allow: [
        ingestSubject(agency),
        importedApiSubject('CONSUMER', 'INFO', Streams.Alerts, consumer),
        importedApiSubject('CONSUMER', 'MSG', 'NEXT', Streams.Alerts, consumer),
        ackSubjects(Streams.Alerts, consumer),
        importedApiSubject('CONSUMER', 'INFO', Streams.Alerts, leafAlertsConsumer(agency)),
        importedApiSubject('CONSUMER', 'RESET', Streams.Alerts, leafAlertsConsumer(agency)),
        flowControlSubjects(Streams.Alerts, leafAlertsConsumer(agency)),
        importedApiSubject('CONSUMER', 'INFO', Streams.Alerts, leafCheckConsumer(agency)),
        importedApiSubject('CONSUMER', 'MSG', 'NEXT', Streams.Alerts, leafCheckConsumer(agency)),
        importedApiSubject('CONSUMER', 'RESET', Streams.Alerts, leafCheckConsumer(agency)),
        importedApiSubject('STREAM', 'MSG', 'GET', PUBLIC_KEYS_STREAM),
        importedApiSubject('DIRECT', 'GET', PUBLIC_KEYS_STREAM),
        importedApiSubject('DIRECT', 'GET', PUBLIC_KEYS_STREAM, '>'),
        selectorEvaluateSubject(agency),
        holdingsSubject(agency),
      ],
    },
    subscribe: { allow: agencySubscribe(agency) },
  };
}

/**
 * What an agency's users may receive, all inside its own account: its inbox; for its leaf
 * node, the deliveries of its leaf consumer and the answers to the leaf server's own
 * JetStream requests (`$JSC.R.…`, a reply prefix nats-server does not let one configure).
 */
export function agencySubscribe(agency: string): string[] {
  return [`${agencyInboxPrefix(agency)}.>`, leafDeliverSubject(agency), LEAF_SERVER_REPLIES];
}

/** Reply subjects of a nats-server's internal JetStream requests (source setup, resets). */
const LEAF_SERVER_REPLIES = '$JSC.R.>';

/**
 * A hub service, inside the hub account.
 *
 * - ingest: serves `mosaic.ingest.*` in queue group `ingest`; appends to REPORTS and
 *   REJECTIONS; reads REPORTS (lineage checks) and the registry; answers only on the
 *   broker's response subjects (`_R_.…`), which lead back into the requesting agency's
 *   account. It does NOT get `allow_responses`: with it the broker lets a service publish
 *   to whatever reply subject a requester chose, since response permissions override every
 *   allow list.
 * - router: reads REPORTS through its durable `router`; appends to ALERTS; creates the
 *   agencies' `alerts-<agency>` consumers; reads the registry; asks the key service on
 *   `mosaic.hub.selectors.evaluate` for the tokens of the reports it routes, and writes and
 *   reads the selector index.
 * - auditor: the single writer of AUDIT; serves audit requests (queue group `auditor`) and
 *   answers into the hub identities' inboxes or, for the operator, on response subjects;
 *   restarting, hands the entries it recovered to a serving auditor
 *   (`mosaic.hub.audit.auditor`, which no other identity may publish to);
 *   sees the ack samples of the alerts consumers (consultations) and the JetStream API
 *   advisories (break-glass use); appends and reads its signed checkpoints.
 * - holdings: serves `mosaic.holdings.*` in queue group `holdings`; answers only on the
 *   broker's response subjects; the single reader and writer of the holdings bucket; appends
 *   `hit` alerts (and only those: `mosaic.alerts.*.hit.>`) to ALERTS; records registrations,
 *   checks and hits with the auditor.
 * - selector-keys: serves `mosaic.selectors.evaluate.*` and the hub's
 *   `mosaic.hub.selectors.evaluate` in queue group `selector-keys`; answers only on the
 *   broker's response subjects and into the router's inboxes; records each agency batch with the auditor. No stream, bucket or
 *   JetStream API: its key is a file in the hub data dir, its quota ledger in memory.
 */
export function servicePermissions(service: HubService): Permissions {
  switch (service) {
    case HubServices.Ingest:
      return {
        publish: {
          allow: [
            StreamSubjects[Streams.Reports],
            StreamSubjects[Streams.Rejections],
            ...streamRead(Streams.Reports),
            api('STREAM', 'INFO', Streams.Rejections),
            ...bucketRead(REGISTRY_STREAM),
            auditRequestSubject(HubServices.Ingest),
            IMPORTED_REPLIES,
          ],
        },
        subscribe: {
          allow: [
            `${INGEST_WILDCARD} ${QueueGroups.Ingest}`,
            `${hubInboxPrefix(HubServices.Ingest)}.>`,
          ],
        },
      };
    case HubServices.Router:
      return {
        publish: {
          allow: [
            StreamSubjects[Streams.Alerts],
            ...streamRead(Streams.Reports),
            ...pullConsumer(Streams.Reports, ROUTER_CONSUMER),
            api('STREAM', 'INFO', Streams.Alerts),
            api('DIRECT', 'GET', Streams.Alerts),
            api('DIRECT', 'GET', Streams.Alerts, '>'),
            // Any consumer name: a new agency's consumer without new router credentials.
            api('CONSUMER', 'CREATE', Streams.Alerts, '*'),
            api('CONSUMER', 'CREATE', Streams.Alerts, '*', '>'),
            api('CONSUMER', 'DURABLE', 'CREATE', Streams.Alerts, '*'),
            api('CONSUMER', 'INFO', Streams.Alerts, '*'),
            // Tokens of the selectors of each report it routes, and the index it alone writes
            // and reads for the related reports of each alert.
            HUB_SELECTOR_EVALUATE_SUBJECT,
            SELECTOR_INDEX_SUBJECTS,
            api('DIRECT', 'GET', SELECTOR_INDEX_STREAM),
            api('DIRECT', 'GET', SELECTOR_INDEX_STREAM, '>'),
            ...bucketRead(REGISTRY_STREAM),
            auditRequestSubject(HubServices.Router),
          ],
        },
        subscribe: { allow: [`${hubInboxPrefix(HubServices.Router)}.>`] },
      };
    case HubServices.Auditor:
      return {
        publish: {
          allow: [
            StreamSubjects[Streams.Audit],
            ...streamRead(Streams.Audit),
            AUDIT_CHECKPOINTS_SUBJECT,
            ...streamRead(AUDIT_CHECKPOINTS_STREAM),
            ...streamRead(Streams.Reports),
            ...streamRead(Streams.Alerts),
            api('CONSUMER', 'INFO', '*', '*'),
            // A restarting auditor hands its recovered entries to one that serves, which
            // answers into the auditors' inboxes.
            auditRequestSubject(HubServices.Auditor),
            `${hubInboxPrefix(HubServices.Auditor)}.>`,
            `${hubInboxPrefix(HubServices.Ingest)}.>`,
            `${hubInboxPrefix(HubServices.Router)}.>`,
            `${hubInboxPrefix('hub')}.>`,
            `${hubInboxPrefix(HubServices.SelectorKeys)}.>`,
            `${hubInboxPrefix(HubServices.Holdings)}.>`,
            `${hubInboxPrefix('gateway')}.>`,
            IMPORTED_REPLIES,
          ],
        },
        subscribe: {
          allow: [
            `${AUDIT_REQUEST_WILDCARD} ${QueueGroups.Auditor}`,
            `${hubInboxPrefix(HubServices.Auditor)}.>`,
            `$JS.EVENT.METRIC.CONSUMER.ACK.${Streams.Alerts}.>`,
            '$JS.EVENT.ADVISORY.API',
          ],
        },
      };
    case HubServices.Holdings:
      return {
        publish: {
          allow: [
            `$KV.${HOLDINGS_BUCKET}.>`,
            ...bucketRead(HOLDINGS_STREAM),
            // Hit alerts only: the kind token is fixed, so no report alert can be forged.
            `mosaic.alerts.*.${HIT_ALERT_KIND}.>`,
            api('STREAM', 'INFO', Streams.Alerts),
            auditRequestSubject(HubServices.Holdings),
            IMPORTED_REPLIES,
          ],
        },
        subscribe: {
          allow: [
            `${HOLDINGS_WILDCARD} ${QueueGroups.Holdings}`,
            `${hubInboxPrefix(HubServices.Holdings)}.>`,
          ],
        },
      };
    case HubServices.SelectorKeys:
      return {
        publish: {
          allow: [
            auditRequestSubject(HubServices.SelectorKeys),
            IMPORTED_REPLIES,
            // Answers to the hub's router, which alone may ask on the hub subject.
            `${hubInboxPrefix(HubServices.Router)}.>`,
          ],
        },
        subscribe: {
          allow: [
            `${SELECTOR_EVALUATE_WILDCARD} ${QueueGroups.SelectorKeys}`,
            `${HUB_SELECTOR_EVALUATE_SUBJECT} ${QueueGroups.SelectorKeys}`,
            `${hubInboxPrefix(HubServices.SelectorKeys)}.>`,
          ],
        },
      };
  }
}

/**
 * The hub runner: creates the streams and buckets when missing (never updates, purges or
 * deletes one), seeds the registry, projects the public keys, reads consumer state, records
 * its own audit entries. It also answers the NATS service API (`$SRV.PING|INFO|STATS`) for
 * the ingest, router and auditor instances of its process, and asks it of the others: the
 * answers go into its own inbox, so the services' own identities keep their narrower
 * reply rules. Its credentials stay in the data dir; no context file names it.
 */
export function hubPermissions(): Permissions {
  const streams = [
    ...Object.values(Streams),
    AUDIT_CHECKPOINTS_STREAM,
    REGISTRY_STREAM,
    PUBLIC_KEYS_STREAM,
    GATEWAY_TOKENS_STREAM,
    HOLDINGS_STREAM,
  ];
  return {
    publish: {
      allow: [
        api('INFO'),
        api('STREAM', 'NAMES'),
        ...streams.flatMap((stream) => [api('STREAM', 'CREATE', stream), ...streamRead(stream)]),
        // Created, never read: only the router reads the index.
        api('STREAM', 'CREATE', SELECTOR_INDEX_STREAM),
        api('CONSUMER', 'INFO', '*', '*'),
        ...bucketRead(REGISTRY_STREAM),
        ...bucketRead(PUBLIC_KEYS_STREAM),
        `$KV.${REGISTRY_BUCKET}.>`,
        `$KV.${PUBLIC_KEYS_BUCKET}.>`,
        `${SERVICE_API_PREFIX}.>`,
        `${hubInboxPrefix('hub')}.>`,
      ],
    },
    // `$SRV.>`, not a pattern per service: the user JWT travels in the CONNECT line, which
    // the hub's server configs cap at 16 KB (max_control_line; nats-server's default is 4 KB).
    subscribe: { allow: [`${hubInboxPrefix('hub')}.>`, `${SERVICE_API_PREFIX}.>`] },
  };
}

/**
 * The routine operator, inside its own account: reads every hub stream (stream info, get
 * and direct get, batch reads for replays), reads consumer state, reads and writes the
 * registry, writes the gateway's agency tokens, asks the auditor to record its actions. It cannot create consumers (a push
 * consumer would make the broker deliver stream contents to any subject of the hub),
 * update, purge or delete a stream, publish to a stream's subjects or answer for a service:
 * its account imports nothing that would.
 */
export function operatorPermissions(): Permissions {
  return {
    publish: {
      allow: [
        importedApiSubject('STREAM', 'INFO', '*'),
        importedApiSubject('STREAM', 'MSG', 'GET', '*'),
        importedApiSubject('DIRECT', 'GET', '*'),
        importedApiSubject('DIRECT', 'GET', '*', '>'),
        importedApiSubject('CONSUMER', 'INFO', '*', '*'),
        `${importedApiSubject(`$KV`, REGISTRY_BUCKET)}.>`,
        `${importedApiSubject(`$KV`, GATEWAY_TOKENS_BUCKET)}.>`,
        auditRequestSubject('operator'),
      ],
    },
    subscribe: { allow: [`${hubInboxPrefix('operator')}.>`] },
  };
}

/**
 * The HTTP gateway, inside the hub account: looks up agency tokens (direct get of the
 * tokens bucket), reads ALERTS by sequence (direct get; it filters each read by the
 * authenticated agency's own alert subjects) and records consultations. It cannot write
 * a stream, create a consumer or submit a report: submissions go through the agency's own
 * account (a gateway user of the agency account with the agency's permissions).
 */
export function gatewayPermissions(): Permissions {
  return {
    publish: {
      allow: [
        api('STREAM', 'INFO', GATEWAY_TOKENS_STREAM),
        api('DIRECT', 'GET', GATEWAY_TOKENS_STREAM),
        api('DIRECT', 'GET', GATEWAY_TOKENS_STREAM, '>'),
        api('STREAM', 'INFO', Streams.Alerts),
        api('DIRECT', 'GET', Streams.Alerts),
        api('DIRECT', 'GET', Streams.Alerts, '>'),
        auditRequestSubject('gateway'),
      ],
    },
    subscribe: { allow: [`${hubInboxPrefix('gateway')}.>`] },
  };
}

/** Break-glass stream administration: everything in the hub account, each API call audited. */
export function adminPermissions(): Permissions {
  return { publish: { allow: ['>'] }, subscribe: { allow: ['>'] } };
}

/** The hub runner's system-account user: account updates only. */
export function systemPermissions(): Permissions {
  return {
    publish: { allow: ['$SYS.REQ.CLAIMS.UPDATE', '$SYS.REQ.ACCOUNT.*.CLAIMS.UPDATE'] },
    subscribe: { allow: [`${hubInboxPrefix('system')}.>`] },
  };
}
