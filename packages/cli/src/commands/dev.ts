import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { HUB_NODE_FLAGS, startDevCluster, startHub, type DevCluster, type Hub } from '@mosaic/hub';
import { createLogger } from '@mosaic/log';
import { runningBuild } from '../build.ts';
import { defineCommand } from '../command.ts';
import { runDevDemo } from '../dev-demo.ts';
import { ExitCode } from '../exit-codes.ts';
import { writeLine, type CliIo } from '../io.ts';
import { flag, integer, string } from '../options.ts';

/**
 * Resolves on the first SIGINT, SIGTERM or SIGHUP (installed before anything starts): the
 * hub's nats-server has a process group of its own, so a hang-up (the terminal closed) must
 * stop the hub as Ctrl-C does, or it would leave the server running.
 */
export function untilSignal(): { signalled: Promise<NodeJS.Signals>; dispose(): void } {
  let resolveSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    resolveSignal = resolve;
  });
  const onSignal = (signal: NodeJS.Signals): void => {
    resolveSignal(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  return {
    signalled,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('SIGHUP', onSignal);
    },
  };
}

const mosaicBin = fileURLToPath(new URL('../../bin/mosaic.js', import.meta.url));

async function runCluster(
  nodes: number,
  values: {
    'data-dir': string;
    federation?: string | undefined;
    demo: boolean;
    'demo-again': boolean;
  },
  io: CliIo,
): Promise<ExitCode> {
  const signals = untilSignal();
  const log = createLogger({ service: 'hub', destination: io.stderr });
  log.info({ build: runningBuild(), nodes }, 'mosaic dev --cluster starting');
  let cluster: DevCluster | undefined;
  try {
    cluster = await startDevCluster({
      dataDir: values['data-dir'],
      nodes,
      ...(values.federation === undefined ? {} : { federationPath: values.federation }),
      serveCommand: [process.execPath, ...HUB_NODE_FLAGS, mosaicBin, 'serve'],
      log,
      childStderr: (chunk) => {
        io.stderr.write(chunk);
      },
    });
    writeLine(io.stdout, `mosaic: hub ready ${cluster.urls.join(',')}`);
    const again = values['demo-again'];
    if (values.demo || again)
      await Promise.race([runDevDemo(cluster, io, { again }), signals.signalled]);
    const signal = await signals.signalled;
    log.info({ signal }, 'shutting down');
    return ExitCode.Ok;
  } finally {
    await cluster?.stop();
    signals.dispose();
  }
}

export const dev = defineCommand({
  path: ['dev'],
  summary: 'run the whole hub locally (nats-server, registry, ingest) until Ctrl-C',
  usage: `Usage: mosaic dev [--data-dir <dir>] [--federation <file>] [--port <n>] [--reseed]
                  [--demo | --demo-again]
       mosaic dev --cluster <n> [--data-dir <dir>] [--federation <file>] [--demo | --demo-again]`,
  description: `Runs the hub on this machine: finds or fetches nats-server (>= 2.12), writes its
configuration into the data dir and starts it with JetStream, loads the federation into
the registry, and runs every hub service in this process. When it accepts reports it
prints exactly one line on stdout:

  mosaic: hub ready nats://127.0.0.1:<port>

and on stderr the HTTP gateway's URL (http://127.0.0.1:<port>, a free port) with the
command that issues an agency its gateway token.

Logs go to stderr: on a terminal one brief line per record (info and above), otherwise
JSON lines (MOSAIC_LOG_FORMAT=json forces them; MOSAIC_LOG_LEVEL=debug for more). Ctrl-C (SIGINT), SIGTERM or a hang-up (SIGHUP: its terminal closed) shuts everything down cleanly:
the services first, the last audit checkpoint, then nats-server.

The data dir keeps everything across restarts:
  contexts/<agency>.json   an agency's NATS context (server URL and credentials), mode 0600
  contexts/operator.json   the operator's context, for mosaic agency / mosaic keys
  keys/<agency>.jwk        demo federation only: the agency's private signing key
  identities.json          every NATS identity (seeds), so contexts stay valid
  hub.lock                 the pid of the hub using the dir: one hub per data dir
  nats-server.conf         generated; rewritten and reloaded when an agency is added
  jetstream/               the streams and the registry

The federation file seeds the registry only when the registry is empty; after that the
registry is the source of truth and changes made with "mosaic agency" and "mosaic keys"
survive restarts. --reseed replaces the registry with the file.

--cluster <n> runs the production shape on this machine instead: the configuration
"mosaic hub init" writes for <n> nodes on 127.0.0.1 (free ports, kept across restarts),
one nats-server process per node (routes, sync_interval always, streams and buckets with 3
replicas from 3 nodes on), and the auditor, ingest, selector key service, router (indexing
selectors: alerts carry related reports), holdings service and HTTP gateway each as its own
"mosaic serve --only <service>" process. The ready line names every node:

  mosaic: hub ready nats://127.0.0.1:<p1>,nats://127.0.0.1:<p2>,…

The contexts, demo keys, hub key and --demo are those of the single-node hub; the node
directories (nodes/<name>/) and hub.yaml are added. On stderr it logs the pids of the nodes
and of the service processes: kill one node and the others keep every stream and serve
the clients, which reconnect to them. The gateway listens on hub.yaml's gateway port,
chosen free on the first run, and each node on a leafnode port for agencies' leaf nodes
(in hub.yaml's cluster.leafnodes). A data dir is either a single-node hub or a cluster, never both.`,
  options: {
    'data-dir': string({
      placeholder: '<dir>',
      description: 'where the hub keeps its state',
      default: '.mosaic',
    }),
    federation: string({
      placeholder: '<file>',
      description:
        'federation file (default: the bundled demo federation: nl-police, de-bka, ro-dicot, ngo-lastrada and the group EU27; their signing keys are generated into <data-dir>/keys/)',
    }),
    port: integer({
      min: 0,
      max: 65_535,
      description:
        "NATS client port (default: the previous run's when free, else a free one; 0 = any free one)",
    }),
    reseed: flag({
      description:
        'replace the registry with the federation file (registry changes made with the CLI are lost)',
    }),
    demo: flag({
      description:
        'after start, publish a few example reports (re-issued now under fresh ids, copies in <data-dir>/examples/), show the replies, one rejection included, and the alerts they made (read, and so recorded as consulted, for those reports only); then keep running. Skipped (said on stderr) when the data dir already holds reports: a restart publishes and consumes nothing',
    }),
    'demo-again': flag({
      description: 'the same, even when the data dir already holds reports',
    }),
    cluster: integer({
      min: 3,
      max: 5,
      description:
        'run a local cluster of <n> nodes, each service in a process of its own (see above); not with --port or --reseed',
    }),
  },
  footer: `Examples:
  mosaic dev
  mosaic dev --data-dir /var/lib/mosaic --federation deploy/federation.example.yaml --port 4222
  mosaic dev --cluster 3 --demo --data-dir .mosaic-cluster
  # from another terminal, after --demo:
  npx mosaic publish --context .mosaic/contexts/de-bka.json --key .mosaic/keys/de-bka.jwk \\
      .mosaic/examples/financial-flow.json

Exit codes: 0 stopped by SIGINT/SIGTERM/SIGHUP, 1 invalid federation file (ERR_FEDERATION)
or registry (ERR_REGISTRY), 2 usage error, 3 the hub could not start (nats-server, data
dir, another hub using the data dir: ERR_HUB_LOCKED), 4 internal error.`,
  positionals: { min: 0, max: 0 },
  async run({ values }, io) {
    const { port, federation } = values;
    if (values.cluster !== undefined) {
      if (port !== undefined || values.reseed)
        throw new MosaicError(
          ErrorCode.Usage,
          '--cluster takes free ports of its own and seeds the registry only when it is empty: drop --port and --reseed',
        );
      return runCluster(values.cluster, values, io);
    }
    const signals = untilSignal();
    const log = createLogger({
      service: 'hub',
      destination: io.stderr,
    });
    log.info({ build: runningBuild() }, 'mosaic dev starting');
    let hub: Hub | undefined;
    try {
      hub = await startHub({
        dataDir: values['data-dir'],
        ...(federation === undefined ? {} : { federationPath: federation }),
        ...(port === undefined ? {} : { port }),
        reseed: values.reseed,
        log,
      });
      writeLine(io.stdout, `mosaic: hub ready ${hub.url}`);
      // A log record like every other line on stderr; stdout keeps its one ready line.
      log.info(
        {
          gateway: hub.gatewayUrl,
          tokenCommand: `mosaic agency token issue --context ${join(hub.contextsDir, 'operator.json')} --agency <id> --reason "<why>"`,
        },
        'HTTP gateway ready',
      );
      const again = values['demo-again'];
      if (values.demo || again) {
        const demo = runDevDemo(hub, io, { again });
        // A signal during the demo still stops the hub.
        await Promise.race([demo, signals.signalled]);
      }
      const signal = await signals.signalled;
      log.info({ signal }, 'shutting down');
      return ExitCode.Ok;
    } finally {
      await hub?.stop();
      signals.dispose();
    }
  },
});
