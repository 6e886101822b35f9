import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import type { Logger } from '@mosaic/log';
import { serviceApiName } from '@mosaic/protocol';
import { Svcm } from '@nats-io/services';
import { connect } from '@nats-io/transport-node';
import type { HubConfig, ServeService } from './hub-config.ts';

/** The services of one process, answering the NATS service API. */
export interface AnnouncedServices extends AsyncDisposable {
  /** Each service's instance id in the service API (`$SRV.*.<name>.<id>`). */
  readonly ids: ReadonlyMap<ServeService, string>;
  /** Stops answering and closes the connections. */
  stop(): Promise<void>;
}

const DESCRIPTIONS: Record<ServeService, string> = {
  ingest: 'verifies and stores agency submissions (queue group ingest)',
  router: 'routes stored reports to the entitled agencies (durable consumer router)',
  auditor: 'appends the audit log and signs its checkpoints',
  gateway: 'the HTTP API and TAXII 2.1 server for agencies without a NATS client',
  'selector-keys': 'evaluates blinded selectors under the OPRF key, within each agency quota',
  holdings: "keeps agencies' holdings (tokens only) and answers their hit/no-hit checks",
};

async function hubVersion(): Promise<string> {
  const text = await readFile(new URL('../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

/**
 * Registers each service of a `mosaic serve` process with the NATS service API, so
 * `$SRV.PING`, `$SRV.INFO` and `$SRV.STATS` (e.g. `nats micro ls` with the hub's context)
 * find every running instance: name `mosaic-<service>`, one id per process and service,
 * and in its metadata the process's `/metrics` URL, host and pid. The answers come from a
 * connection of the hub identity, which answers only into its own inbox: ingest keeps
 * answering only on the broker's response subjects, and agencies, in accounts of their
 * own, reach no `$SRV` subject of the hub account. An instance stops answering when the
 * process stops or loses the cluster.
 *
 * @example
 * ```ts
 * await using served = await serve({ config, only: ['ingest'] });
 * await using api = await announceServices({ config, services: served.services, httpUrl: served.httpUrl });
 * ```
 */
export async function announceServices(options: {
  config: HubConfig;
  services: readonly ServeService[];
  /** The process's `/healthz`, `/readyz` and `/metrics`. */
  httpUrl: string;
  log?: Logger;
}): Promise<AnnouncedServices> {
  const version = await hubVersion();
  const ids = new Map<ServeService, string>();
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  try {
    const context = await readContextFile(options.config.contexts.hub);
    const nc = await connect({
      ...contextConnectOptions(context),
      servers: [...options.config.cluster.servers],
      maxReconnectAttempts: -1,
    });
    stops.push(() => nc.close());
    for (const service of options.services) {
      const registered = await new Svcm(nc).add({
        name: serviceApiName(service),
        version,
        description: DESCRIPTIONS[service],
        metadata: {
          metrics: new URL('/metrics', options.httpUrl).href,
          host: hostname(),
          pid: String(process.pid),
        },
      });
      stops.push(() => registered.stop());
      ids.set(service, registered.info().id);
      options.log?.info(
        { service, id: registered.info().id },
        'registered with the NATS service API',
      );
    }
  } catch (err) {
    await stop();
    if (err instanceof MosaicError) throw err;
    throw new MosaicError(
      ErrorCode.Unavailable,
      `cannot register with the NATS service API: ${(err as Error).message}`,
      { cause: err },
    );
  }
  let stopping: Promise<void> | undefined;
  const once = (): Promise<void> => (stopping ??= stop());
  return { ids, stop: once, [Symbol.asyncDispose]: once };
}
