import { ErrorCode, MosaicError } from '@mosaic/errors';
import {
  ServeServices,
  announceServices,
  readHubConfig,
  serve,
  type AnnouncedServices,
  type ServeService,
  type Served,
} from '@mosaic/hub';
import { createLogger } from '@mosaic/log';
import { runningBuild } from '../build.ts';
import { defineCommand } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { writeLine } from '../io.ts';
import { integer, list, string } from '../options.ts';
import { untilSignal } from './dev.ts';

function services(names: readonly string[] | undefined): ServeService[] {
  if (names === undefined) return [...ServeServices];
  const unknown = names.filter((n) => !(ServeServices as readonly string[]).includes(n));
  if (unknown.length > 0)
    throw new MosaicError(
      ErrorCode.Usage,
      `--only: ${unknown.join(', ')} is not a hub service (${ServeServices.join(', ')})`,
    );
  return ServeServices.filter((s) => names.includes(s));
}

export const serveCommand = defineCommand({
  path: ['serve'],
  summary: 'run hub services against the NATS cluster of a hub.yaml until SIGTERM',
  usage: 'Usage: mosaic serve --config <hub.yaml> [--only <services>] [--http-port <n>]',
  description: `Runs the chosen hub services (default: all) in this process against the servers of
<hub.yaml> (written by mosaic hub init): ingest, router, auditor, gateway (the HTTP API
and TAXII 2.1 server, on hub.yaml's gateway.host:port, HTTPS with gateway.tls) and
selector-keys (the OPRF key service: selectorKeys.keyFile, selectorKeys.quotaPerDay) and
holdings (agencies' holdings and hit/no-hit checks on mosaic.holdings.<agency>). With
hub.yaml's correlation (the default) routers index every report's selectors through the
key service and alerts carry related reports; while no selector-keys process answers,
reports wait. Run as many processes as you like: ingest instances share the queue group,
routers the durable consumer, auditors append with expected-last-sequence, so the audit
log stays one ordered chain, and gateways answer alike behind a load balancer; run one
selector-keys process, since each counts the daily quota itself, and one holdings
process, since each keeps its own index of the holdings. Every process creates missing streams
and buckets with the configured replicas and follows the registry; those running the
auditor keep the servers' agency accounts equal to it and write a new agency's context.
When the services run it prints on stdout (the first line only with the gateway):

  mosaic: gateway <gateway-url>
  mosaic: serving <services> <http-url>

<http-url>/healthz answers while the process runs; <http-url>/readyz answers 200 only when
every server fsyncs every write (sync_interval always), is at least the supported version,
and every hub stream has the configured replicas, else 503 with the problems.
Each service also answers the NATS service API ($SRV.PING, $SRV.INFO, $SRV.STATS) as
mosaic-<service> (with its /metrics URL) to the hub identity (services/hub.json).
SIGTERM, SIGINT or SIGHUP drains the services and exits.`,
  options: {
    config: string({
      placeholder: '<hub.yaml>',
      description: 'the hub configuration',
      required: true,
    }),
    only: list({
      placeholder: '<services>',
      description: `the services to run in this process (default: all): ${ServeServices.join(',')}`,
    }),
    'http-port': integer({
      min: 0,
      max: 65535,
      description: "port of /healthz and /readyz (default: hub.yaml's http.port; 0: any free one)",
    }),
  },
  footer: `Example:
  mosaic serve --config hub/hub.yaml --only ingest,router
  mosaic serve --config hub/hub.yaml --only gateway,selector-keys --http-port 9467

Exit codes: 0 stopped by a signal, 1 invalid hub.yaml (ERR_HUB_CONFIG), 2 usage error,
3 the services could not start.`,
  positionals: { min: 0, max: 0 },
  async run({ values }, io) {
    const only = services(values.only);
    const signals = untilSignal();
    const log = createLogger({ service: 'hub', destination: io.stderr });
    log.info({ build: runningBuild(), only }, 'mosaic serve starting');
    let served: Served | undefined;
    let announced: AnnouncedServices | undefined;
    try {
      const read = await readHubConfig(values.config);
      const port = values['http-port'];
      const config = port === undefined ? read : { ...read, http: { ...read.http, port } };
      served = await serve({ config, only, log });
      announced = await announceServices({
        config,
        services: served.services,
        httpUrl: served.httpUrl,
        log,
      });
      if (served.gatewayUrl !== undefined)
        writeLine(io.stdout, `mosaic: gateway ${served.gatewayUrl}`);
      writeLine(io.stdout, `mosaic: serving ${only.join(',')} ${served.httpUrl}`);
      const signal = await signals.signalled;
      log.info({ signal }, 'draining');
      return ExitCode.Ok;
    } finally {
      // Leave the service API first: monitors see the instance go before it drains.
      await announced?.stop();
      await served?.stop();
      signals.dispose();
    }
  },
});
