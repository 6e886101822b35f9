import {
  AUDIT_CHECKPOINTS_STREAM,
  AUDIT_CHECKPOINTS_SUBJECT,
  AUDIT_REQUEST_WILDCARD,
  HubServices,
  INGEST_WILDCARD,
  PUBLIC_KEYS_STREAM,
  QueueGroups,
  REGISTRY_STREAM,
  ROUTER_CONSUMER,
  StreamSubjects,
  Streams,
  agencyInboxPrefix,
  alertsConsumer,
  auditRequestSubject,
  hubInboxPrefix,
  ingestSubject,
  type HubService,
} from './subjects.ts';

/** Who a NATS identity is. */
export const Roles = {
  Agency: 'agency',
  Ingest: HubServices.Ingest,
  Router: HubServices.Router,
  Auditor: HubServices.Auditor,
  Operator: 'operator',
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

const api = (...tokens: string[]): string => ['$JS', 'API', ...tokens].join('.');

/** Read-only access to one stream's messages: info, get by sequence, direct get. */
function streamRead(stream: string): string[] {
  return [
    api('STREAM', 'INFO', stream),
    api('STREAM', 'MSG', 'GET', stream),
    api('DIRECT', 'GET', stream),
    api('DIRECT', 'GET', stream, '>'),
  ];
}

/**
 * Reading single entries of the public-keys bucket with `new Kvm(nc).open(bucket, {
 * allow_direct: true })` then `get(key)` (direct get by last subject; message get when
 * direct is off). No stream info, no consumers (no `keys`/`watch`), no `$KV.` publish: an
 * agency looks up the kid it needs and cannot write.
 */
function publicKeysRead(): string[] {
  return [
    api('STREAM', 'MSG', 'GET', PUBLIC_KEYS_STREAM),
    api('DIRECT', 'GET', PUBLIC_KEYS_STREAM),
    api('DIRECT', 'GET', PUBLIC_KEYS_STREAM, '>'),
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
    `$JS.ACK.${stream}.${consumer}.>`,
  ];
}

/**
 * Read-only use of the registry bucket through `@nats-io/kv` (`get`, `keys`, `watch`):
 * no `$KV.mosaic-registry.>` publish, so no writes, and no stream update, purge or delete.
 * `keys`/`watch` create ordered consumers delivering to the caller's inbox and answer
 * their flow-control requests on `$JS.FC`.
 */
function registryRead(): string[] {
  return [
    ...streamRead(REGISTRY_STREAM),
    api('CONSUMER', 'CREATE', REGISTRY_STREAM, '>'),
    api('CONSUMER', 'INFO', REGISTRY_STREAM, '>'),
    api('CONSUMER', 'DELETE', REGISTRY_STREAM, '>'),
    `$JS.FC.${REGISTRY_STREAM}.>`,
  ];
}

/**
 * An agency: submit to its own ingest subject; read, through its own durable consumer
 * only, its own alerts; read entries of the public-keys bucket (shared by all, written by
 * the hub) to verify alerts end to end; receive only on its own inbox prefix.
 *
 * Not granted, on purpose: `$JS.API.STREAM.INFO.ALERTS` (it would reveal counts and
 * subjects of every agency's alerts; nats.js v3 `consumers.get()`, `fetch()` and
 * `consume()` need only CONSUMER.INFO and CONSUMER.MSG.NEXT), consumer creation (a
 * consumer the agency configured could filter on others' alerts), `$JS.API.INFO`.
 *
 * @example
 * ```ts
 * agencyPermissions('nl-police').publish.allow;
 * // ['mosaic.ingest.nl-police', '$JS.API.CONSUMER.INFO.ALERTS.alerts-nl-police', …]
 * ```
 */
export function agencyPermissions(agency: string): Permissions {
  const consumer = alertsConsumer(agency);
  return {
    publish: {
      allow: [
        ingestSubject(agency),
        api('CONSUMER', 'INFO', Streams.Alerts, consumer),
        api('CONSUMER', 'MSG', 'NEXT', Streams.Alerts, consumer),
        `$JS.ACK.${Streams.Alerts}.${consumer}.>`,
        ...publicKeysRead(),
      ],
    },
    subscribe: { allow: [`${agencyInboxPrefix(agency)}.>`] },
  };
}

/**
 * A hub service, given the ids of all agencies of the federation.
 *
 * - ingest: serves `mosaic.ingest.*` in queue group `ingest`; appends to REPORTS and
 *   REJECTIONS; reads REPORTS (lineage checks) and the registry; replies only into the
 *   agencies' inboxes. It does NOT get `allow_responses`: with it the broker lets a
 *   service publish to whatever reply subject a requester chose — `$JS.API.STREAM.DELETE.
 *   REPORTS` included — since such response permissions override every allow and deny.
 * - router: reads REPORTS through its durable `router`; appends to ALERTS; creates each
 *   agency's `alerts-<agency>` consumer; reads the registry.
 * - auditor: the single writer of AUDIT; serves audit requests from the other hub
 *   identities (queue group `auditor`) and answers into their inboxes; sees ack samples of
 *   the alerts consumers (consultations); appends and reads its signed checkpoints.
 */
export function servicePermissions(service: HubService, agencies: readonly string[]): Permissions {
  switch (service) {
    case HubServices.Ingest:
      return {
        publish: {
          allow: [
            StreamSubjects[Streams.Reports],
            StreamSubjects[Streams.Rejections],
            ...streamRead(Streams.Reports),
            api('STREAM', 'INFO', Streams.Rejections),
            ...registryRead(),
            auditRequestSubject(HubServices.Ingest),
            ...agencies.map((agency) => `${agencyInboxPrefix(agency)}.>`),
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
            ...agencies.flatMap((agency) => {
              const consumer = alertsConsumer(agency);
              return [
                api('CONSUMER', 'CREATE', Streams.Alerts, consumer),
                api('CONSUMER', 'CREATE', Streams.Alerts, consumer, '>'),
                api('CONSUMER', 'DURABLE', 'CREATE', Streams.Alerts, consumer),
                api('CONSUMER', 'INFO', Streams.Alerts, consumer),
              ];
            }),
            ...registryRead(),
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
            `${hubInboxPrefix(HubServices.Ingest)}.>`,
            `${hubInboxPrefix(HubServices.Router)}.>`,
            `${hubInboxPrefix('operator')}.>`,
          ],
        },
        subscribe: {
          allow: [
            `${AUDIT_REQUEST_WILDCARD} ${QueueGroups.Auditor}`,
            `${hubInboxPrefix(HubServices.Auditor)}.>`,
            `$JS.EVENT.METRIC.CONSUMER.ACK.${Streams.Alerts}.>`,
          ],
        },
      };
  }
}

/** The operator manages everything: streams, consumers, the registry, replays. */
export function operatorPermissions(): Permissions {
  return { publish: { allow: ['>'] }, subscribe: { allow: ['>'] } };
}
