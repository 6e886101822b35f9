import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { ErrorCode, MosaicError, toIssues } from '@mosaic/errors';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';

/** Identifier of the published schema of `hub.yaml`. */
export const HUB_CONFIG_JSON_SCHEMA_ID = 'https://mosaic.example/schemas/hub-config-1.schema.json';

/** The hub services `mosaic serve` can run. */
export const ServeServices = [
  'ingest',
  'router',
  'auditor',
  'gateway',
  'selector-keys',
  'holdings',
] as const;
export type ServeService = (typeof ServeServices)[number];

const natsUrl = z.url({
  protocol: /^(nats|tls)$/,
  message: 'must be a nats:// or tls:// URL',
});
const leafUrl = z.url({
  protocol: /^(nats-leaf|tls)$/,
  message: 'must be a nats-leaf:// or tls:// URL',
});
const httpUrl = z.url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' });
const path = z.string().min(1);

/**
 * `hub.yaml`: what `mosaic serve` needs to run the hub services against a cluster. Paths
 * are relative to the file's directory.
 */
export const hubConfigSchema = z
  .strictObject({
    version: z.literal(1),
    cluster: z
      .strictObject({
        /** Every node's client URL; the services connect to all of them. */
        servers: z.array(natsUrl).min(1),
        /** Every node's monitoring endpoint (`http_port`): readiness reads `/varz` there. */
        monitoring: z.array(httpUrl).min(1),
        /**
         * Every node's leafnode listener: what agencies give `mosaic agency leafnode --hub`.
         * The services do not use it.
         */
        leafnodes: z.array(leafUrl).min(1).optional(),
        /** Replicas of every stream and KV bucket. Default: 3 on a cluster of 3 or more, else 1. */
        replicas: z.int().min(1).max(5).optional(),
        /** The oldest nats-server version readiness accepts. */
        minServerVersion: z
          .string()
          .regex(/^\d+\.\d+\.\d+$/)
          .default('2.12.0'),
      })
      .describe('The NATS cluster the services use'),
    contexts: z
      .strictObject({
        ingest: path,
        router: path,
        auditor: path,
        hub: path,
        system: path,
        /** The selector key service's identity. */
        selectorKeys: path.default('services/selector-keys.json'),
        /** The holdings service's identity. */
        holdings: path.default('services/holdings.json'),
      })
      .describe('Context file of each service identity (user JWT and NKey seed, mode 0600)'),
    /** Every NATS key of the hub (seeds): account JWTs for agencies added later are signed from it. */
    identities: path,
    /** Where the account keeper writes each agency's context once the servers took its account. */
    agencyContexts: path.default('contexts'),
    /** Seeds the registry when it is empty. */
    federation: path,
    /** The hub's private checkpoint signing key, and its public JWKS. */
    hubKey: path,
    hubJwks: path,
    /** The HTTP gateway (HTTP API and TAXII) of `mosaic serve --only gateway`. */
    gateway: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        /** 0: any free port (logged at start). */
        port: z.int().min(0).max(65535).default(8443),
        /** PEM files: the gateway then serves HTTPS only. */
        tls: z.strictObject({ certFile: path, keyFile: path }).optional(),
        /** Requests per agency (or client address before authentication) per window. */
        rateLimit: z.strictObject({ max: z.int().min(1), windowMs: z.int().min(1) }).optional(),
      })
      .prefault({}),
    /** The selector key service of `mosaic serve --only selector-keys`. */
    selectorKeys: z
      .strictObject({
        /** The OPRF key (0600), written by hub init; every key service process reads it. */
        keyFile: path.default('selector-key.json'),
        /**
         * Evaluations each agency may ask for per UTC day. Counted by each key service
         * process: run one (systemd restarts it) so the quota is the hub's.
         */
        quotaPerDay: z.int().min(1).default(10_000),
        /** Quotas of named agencies, replacing `quotaPerDay` for them. */
        quotaPerAgency: z.record(z.string().min(1), z.int().min(1)).optional(),
        /**
         * Evaluations per UTC day for the routers' correlation (every selector of every routed
         * report). Default: the key service's (1 000 000). Once spent, routing waits for the next day.
         */
        hubQuotaPerDay: z.int().min(1).optional(),
      })
      .prefault({}),
    /**
     * Correlation: the routers tokenise the selectors of every report they route through the
     * selector key service (`mosaic.hub.selectors.evaluate`), store them in SELECTOR_INDEX and
     * give each alert its `related` reports. It needs a `selector-keys` process: while none
     * answers, the routers nak each batch and offer it again a second later, so reports wait
     * (none is lost, none routed unindexed). `false` routes without an index.
     */
    correlation: z.boolean().default(true),
    /** Where each service process serves /healthz, /readyz and /metrics. */
    http: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        /** 0: any free port (logged at start). */
        port: z.int().min(0).max(65535).default(9464),
      })
      .prefault({}),
  })
  .superRefine((c, issues) => {
    if (c.cluster.servers.length !== c.cluster.monitoring.length)
      issues.addIssue({
        code: 'custom',
        path: ['cluster', 'monitoring'],
        message: 'must name one monitoring endpoint per server',
      });
    const replicas = c.cluster.replicas;
    if (replicas !== undefined && replicas > c.cluster.servers.length)
      issues.addIssue({
        code: 'custom',
        path: ['cluster', 'replicas'],
        message: 'cannot exceed the number of servers',
      });
  });

export type HubConfigInput = z.input<typeof hubConfigSchema>;
/** A parsed `hub.yaml`, its paths resolved against the file's directory. */
export type HubConfig = z.output<typeof hubConfigSchema> & {
  /** The replicas every stream and bucket gets (the default applied). */
  replicas: number;
};

/** The replicas when the configuration names none: 3 on a cluster of 3 or more, else 1. */
export function defaultReplicas(servers: number): number {
  return servers >= 3 ? 3 : 1;
}

/** Parses the text of a `hub.yaml` at `file`; throws ERR_HUB_CONFIG. */
export function parseHubConfig(text: string, file: string): HubConfig {
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw new MosaicError(ErrorCode.HubConfig, `${file} is not YAML`, {
      details: { path: file },
      cause: err,
    });
  }
  const parsed = hubConfigSchema.safeParse(value);
  if (!parsed.success)
    throw new MosaicError(ErrorCode.HubConfig, `${file} is not a valid hub configuration`, {
      details: { path: file, issues: toIssues(parsed.error.issues) },
    });
  const base = dirname(file);
  const at = (p: string): string => (isAbsolute(p) ? p : join(base, p));
  const c = parsed.data;
  return {
    ...c,
    contexts: {
      ingest: at(c.contexts.ingest),
      router: at(c.contexts.router),
      auditor: at(c.contexts.auditor),
      hub: at(c.contexts.hub),
      system: at(c.contexts.system),
      selectorKeys: at(c.contexts.selectorKeys),
      holdings: at(c.contexts.holdings),
    },
    gateway: {
      ...c.gateway,
      ...(c.gateway.tls === undefined
        ? {}
        : { tls: { certFile: at(c.gateway.tls.certFile), keyFile: at(c.gateway.tls.keyFile) } }),
    },
    selectorKeys: { ...c.selectorKeys, keyFile: at(c.selectorKeys.keyFile) },
    identities: at(c.identities),
    agencyContexts: at(c.agencyContexts),
    federation: at(c.federation),
    hubKey: at(c.hubKey),
    hubJwks: at(c.hubJwks),
    replicas: c.cluster.replicas ?? defaultReplicas(c.cluster.servers.length),
  };
}

/** Reads and parses a `hub.yaml`; throws ERR_HUB_CONFIG. */
export async function readHubConfig(file: string): Promise<HubConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new MosaicError(ErrorCode.HubConfig, `cannot read ${file}`, {
      details: { path: file },
      cause: err,
    });
  }
  return parseHubConfig(text, file);
}

/** The YAML text of a hub configuration, with a pointer to its JSON Schema. */
export function renderHubConfig(config: HubConfigInput): string {
  const checked = hubConfigSchema.safeParse(config);
  if (!checked.success)
    throw new MosaicError(ErrorCode.Internal, 'refusing to write an invalid hub configuration', {
      details: { issues: toIssues(checked.error.issues) },
    });
  return [
    `# yaml-language-server: $schema=${HUB_CONFIG_JSON_SCHEMA_ID}`,
    '# Written by mosaic hub init. Paths are relative to this file.',
    stringifyYaml(config),
  ].join('\n');
}

/**
 * The JSON Schema (draft 2020-12) of `hub.yaml`, as committed in `schemas/hub-config.schema.json`.
 *
 * @example
 * ```ts
 * writeFileSync('schemas/hub-config.schema.json', generateHubConfigJsonSchema());
 * ```
 */
export function generateHubConfigJsonSchema(): string {
  const { $schema, ...rest } = z.toJSONSchema(hubConfigSchema, {
    target: 'draft-2020-12',
    io: 'input',
  });
  const document = {
    $schema,
    $id: HUB_CONFIG_JSON_SCHEMA_ID,
    title: 'Mosaic hub configuration (hub.yaml), version 1',
    description:
      'What mosaic serve needs to run the hub services against a NATS cluster. Generated from the zod schema in services/hub, which is authoritative: it also checks one monitoring endpoint per server and no more replicas than servers.',
    ...rest,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
