import {
  GATEWAY_TOKENS_BUCKET,
  INGEST_WILDCARD,
  PUBLIC_KEYS_STREAM,
  REGISTRY_BUCKET,
  Streams,
  LEAF_DELIVER_WILDCARD,
  ackSubjects,
  alertsConsumer,
  flowControlSubjects,
  leafAlertsConsumer,
  leafCheckConsumer,
  leafDeliverSubject,
  auditRequestSubject,
  hubApiSubject,
  importedApiSubject,
  ingestSubject,
  SELECTOR_EVALUATE_WILDCARD,
  selectorEvaluateSubject,
  HOLDINGS_WILDCARD,
  holdingsSubject,
} from '@mosaic/protocol';

/**
 * The NATS accounts of a hub. The hub account alone has JetStream and holds every stream,
 * bucket and service. Agencies and the routine operator each live in an account of their
 * own that imports only the hub services it needs. What crosses from one account into
 * another is exactly what an import names, so whatever an agency sends (as a message, or as
 * the reply subject of a request the broker or a service answers) lands either in its own
 * account — where no stream, bucket or other agency lives — or on one of its imports.
 */
export const AccountNames = {
  System: 'SYS',
  Hub: 'MOSAIC',
  Operator: 'OPERATOR',
} as const;

/** The account name of an agency (the JWT's name; the account is its public key). */
export function agencyAccountName(agency: string): string {
  return `agency-${agency}`;
}

/** How the broker answers a request to an exported service. */
export type ResponseType = 'Singleton' | 'Stream';

/** A service the hub account exports (public: whoever imports it is decided by the imports). */
export interface ServiceExport {
  name: string;
  subject: string;
  responseType: ResponseType;
}

/** A service an account imports from the hub account. */
export interface ServiceImport {
  name: string;
  /** The subject in the hub account. */
  subject: string;
  /** The subject the importing account publishes on. */
  localSubject: string;
  /** The broker adds `Nats-Request-Info` (account, user) to each request: the attestation. */
  share: boolean;
}

/** A stream (plain messages) the hub account exports, imported by the account named in each import. */
export interface StreamExport {
  name: string;
  subject: string;
}

/** A stream an account imports from the hub account: messages the hub publishes there. */
export interface StreamImport {
  name: string;
  subject: string;
}

/**
 * What the hub account exports. Exports are public; they are not what isolates agencies —
 * the imports are, and every account is issued by the hub's operator key, so no account
 * imports more than `agencyImports` or `operatorImports` give it.
 */
export function hubExports(): ServiceExport[] {
  const exp = (name: string, subject: string, responseType: ResponseType = 'Singleton') => ({
    name,
    subject,
    responseType,
  });
  return [
    exp('ingest', INGEST_WILDCARD),
    exp('selector-evaluate', SELECTOR_EVALUATE_WILDCARD),
    exp('holdings', HOLDINGS_WILDCARD),
    exp('audit-operator', auditRequestSubject('operator')),
    exp('stream-info', hubApiSubject('STREAM', 'INFO', '*')),
    exp('stream-msg-get', hubApiSubject('STREAM', 'MSG', 'GET', '*')),
    exp('direct-get', hubApiSubject('DIRECT', 'GET', '*'), 'Stream'),
    exp('direct-get-subject', hubApiSubject('DIRECT', 'GET', '*', '>'), 'Stream'),
    exp('consumer-info', hubApiSubject('CONSUMER', 'INFO', '*', '*')),
    exp('alerts-next', hubApiSubject('CONSUMER', 'MSG', 'NEXT', Streams.Alerts, '*'), 'Stream'),
    exp('alerts-ack', `$JS.ACK.${Streams.Alerts}.*.>`),
    exp('consumer-reset', hubApiSubject('CONSUMER', 'RESET', Streams.Alerts, '*')),
    exp('alerts-flow-control', `$JS.FC.${Streams.Alerts}.*.>`),
    exp('registry-write', `$KV.${REGISTRY_BUCKET}.>`),
    exp('gateway-tokens-write', `$KV.${GATEWAY_TOKENS_BUCKET}.>`),
  ];
}

/**
 * The streams the hub account exports: the deliveries of every agency's leaf consumer
 * (`mosaic.leaf.<agency>.alerts`), each imported by that agency's account alone.
 */
export function hubStreamExports(): StreamExport[] {
  return [{ name: 'leaf-alerts', subject: LEAF_DELIVER_WILDCARD }];
}

/** An agency's stream imports: the deliveries of its own leaf consumer. */
export function agencyStreamImports(agency: string): StreamImport[] {
  return [{ name: 'leaf-alerts', subject: leafDeliverSubject(agency) }];
}

function apiImport(name: string, ...tokens: string[]): ServiceImport {
  return {
    name,
    subject: hubApiSubject(...tokens),
    localSubject: importedApiSubject(...tokens),
    share: false,
  };
}

/**
 * An agency's imports: its own ingest subject (attested), its own alerts consumer (info,
 * next message, acks), reads of the public-keys bucket, and its own selector evaluation
 * subject (attested: the key service charges the quota of the account the broker names).
 */
export function agencyImports(agency: string): ServiceImport[] {
  const consumer = alertsConsumer(agency);
  return [
    {
      name: 'ingest',
      subject: ingestSubject(agency),
      localSubject: ingestSubject(agency),
      share: true,
    },
    apiImport('alerts-info', 'CONSUMER', 'INFO', Streams.Alerts, consumer),
    apiImport('alerts-next', 'CONSUMER', 'MSG', 'NEXT', Streams.Alerts, consumer),
    {
      name: 'alerts-ack',
      subject: ackSubjects(Streams.Alerts, consumer),
      localSubject: ackSubjects(Streams.Alerts, consumer),
      share: false,
    },
    // A leaf node's source: reset (resume) its own leaf consumer and answer its flow control.
    apiImport('leaf-info', 'CONSUMER', 'INFO', Streams.Alerts, leafAlertsConsumer(agency)),
    apiImport('leaf-reset', 'CONSUMER', 'RESET', Streams.Alerts, leafAlertsConsumer(agency)),
    {
      name: 'leaf-flow-control',
      subject: flowControlSubjects(Streams.Alerts, leafAlertsConsumer(agency)),
      localSubject: flowControlSubjects(Streams.Alerts, leafAlertsConsumer(agency)),
      share: false,
    },
    // The SDK's completeness check of the leaf copy: walk its own alerts, no acks.
    apiImport('leafcheck-info', 'CONSUMER', 'INFO', Streams.Alerts, leafCheckConsumer(agency)),
    apiImport(
      'leafcheck-next',
      'CONSUMER',
      'MSG',
      'NEXT',
      Streams.Alerts,
      leafCheckConsumer(agency),
    ),
    apiImport('leafcheck-reset', 'CONSUMER', 'RESET', Streams.Alerts, leafCheckConsumer(agency)),
    apiImport('keys-msg-get', 'STREAM', 'MSG', 'GET', PUBLIC_KEYS_STREAM),
    apiImport('keys-direct-get', 'DIRECT', 'GET', PUBLIC_KEYS_STREAM),
    apiImport('keys-direct-get-subject', 'DIRECT', 'GET', PUBLIC_KEYS_STREAM, '>'),
    {
      name: 'selector-evaluate',
      subject: selectorEvaluateSubject(agency),
      localSubject: selectorEvaluateSubject(agency),
      share: true,
    },
    {
      name: 'holdings',
      subject: holdingsSubject(agency),
      localSubject: holdingsSubject(agency),
      share: true,
    },
  ];
}

/**
 * The routine operator's imports: reads of every stream and consumer, registry and gateway
 * token writes, and its audit requests (attested). No consumer creation, no stream administration.
 */
export function operatorImports(): ServiceImport[] {
  return [
    apiImport('stream-info', 'STREAM', 'INFO', '*'),
    apiImport('stream-msg-get', 'STREAM', 'MSG', 'GET', '*'),
    apiImport('direct-get', 'DIRECT', 'GET', '*'),
    apiImport('direct-get-subject', 'DIRECT', 'GET', '*', '>'),
    apiImport('consumer-info', 'CONSUMER', 'INFO', '*', '*'),
    {
      name: 'registry-write',
      subject: `$KV.${REGISTRY_BUCKET}.>`,
      localSubject: `${importedApiSubject('$KV', REGISTRY_BUCKET)}.>`,
      share: false,
    },
    {
      name: 'gateway-tokens-write',
      subject: `$KV.${GATEWAY_TOKENS_BUCKET}.>`,
      localSubject: `${importedApiSubject('$KV', GATEWAY_TOKENS_BUCKET)}.>`,
      share: false,
    },
    {
      name: 'audit',
      subject: auditRequestSubject('operator'),
      localSubject: auditRequestSubject('operator'),
      share: true,
    },
  ];
}
