import { clusterNodes, initCluster } from '@mosaic/hub';
import { defineCommand } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { writeLine } from '../io.ts';
import { integer, list, string } from '../options.ts';

export const hubInit = defineCommand({
  path: ['hub', 'init'],
  summary: 'write the configuration of a production hub on a NATS cluster',
  usage: `Usage: mosaic hub init --federation <file> --out <dir> [--nodes <n>] [--host <a,b,…>]
                       [--port <n>] [--cluster-port <n>] [--http-port <n>] [--leaf-port <n>]
                       [--replicas <n>]`,
  description: `Writes everything an operator needs to run the hub on a NATS cluster into <dir>:
  nodes/<name>/nats-server.conf  one per node: client, route, monitoring and leafnode
                                 (agencies' leaf nodes) listeners, routes to the other nodes, JetStream with sync_interval
                                 always and store limits, TLS blocks to fill in, and
                                 decentralised JWT auth with a full account resolver
  identities.json                every NATS key (seeds), mode 0600
  contexts/<agency>.json         each agency's context, mode 0600
  contexts/operator.json         the routine operator's context
  services/<service>.json        ingest, router, auditor, hub and system contexts
  breakglass/admin.json          stream administration, audited
  hub.jwk, hub.jwks              the audit checkpoint key and its public half
  federation.yaml                a copy of the federation file: seeds an empty registry
  hub.yaml                       what mosaic serve --config reads; cluster.leafnodes
                                 lists the URLs an agency's leaf node connects to
One host puts every node on it, each on ports of its own (the base ports + 0, 1, 2…); one
host per node gives each the base ports. A file that exists is kept: running it again
never replaces a key, and gives agencies new to the federation their keys and contexts.
The files written and kept are listed on stderr; hub.yaml's path is printed on stdout.`,
  options: {
    federation: string({
      placeholder: '<file>',
      description: 'the federation file (YAML or JSON)',
      required: true,
    }),
    out: string({ placeholder: '<dir>', description: 'where to write', required: true }),
    nodes: integer({ min: 1, max: 15, default: 3, description: 'number of cluster nodes' }),
    host: list({
      placeholder: '<a,b,…>',
      description: 'the address of every node, or one per node (default 127.0.0.1)',
    }),
    port: integer({ min: 1, max: 65535, default: 4222, description: 'base client port' }),
    'cluster-port': integer({ min: 1, max: 65535, default: 6222, description: 'base route port' }),
    'http-port': integer({
      min: 1,
      max: 65535,
      default: 8222,
      description: 'base monitoring port (/healthz, /varz)',
    }),
    'leaf-port': integer({
      min: 1,
      max: 65535,
      default: 7422,
      description: "base leafnode port (agencies' leaf nodes connect here)",
    }),
    replicas: integer({
      min: 1,
      max: 5,
      description: 'replicas of every stream and bucket (default 3 with 3 or more nodes, else 1)',
    }),
  },
  footer: `Example:
  mosaic hub init --federation deploy/federation.example.yaml --out hub --nodes 3

Exit codes: 0 written, 2 usage error, 3 files could not be written.`,
  positionals: { min: 0, max: 0 },
  async run({ values }, io) {
    const nodes = clusterNodes(values.nodes, values.host ?? ['127.0.0.1'], {
      port: values.port,
      clusterPort: values['cluster-port'],
      httpPort: values['http-port'],
      leafPort: values['leaf-port'],
    });
    const result = await initCluster({
      federationPath: values.federation,
      outDir: values.out,
      nodes,
      ...(values.replicas === undefined ? {} : { replicas: values.replicas }),
    });
    for (const file of result.written) writeLine(io.stderr, `wrote ${file}`);
    for (const file of result.kept) writeLine(io.stderr, `kept ${file}`);
    writeLine(io.stdout, result.hubConfigFile);
    return ExitCode.Ok;
  },
});
