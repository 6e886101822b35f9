import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { DEMO_FEDERATION_PATH, loadFederation } from '@mosaic/federation';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import { createLogger, type Logger } from '@mosaic/log';
import {
  ensureNatsServer,
  freePort,
  freePorts,
  startNatsServerProcess,
  type NatsServerProcess,
} from '@mosaic/nats-server';
import { REGISTRY_BUCKET, watchRegistry, type LiveRegistryView } from '@mosaic/protocol';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { z } from 'zod';
import { initCluster } from './cluster-init.ts';
import { withDemoKeys } from './demo-keys.ts';
import { dataDirLayout, fileExists, writeFileAtomic } from './files.ts';
import { ServeServices, type ServeService } from './hub-config.ts';
import { lockDataDir } from './lock.ts';
import type { ClusterNode } from './node-config.ts';
import { shutdownSteps } from './shutdown-steps.ts';

/** Options of `startDevCluster`. */
export interface StartDevClusterOptions {
  /** Where everything lives; created when missing. Default `.mosaic`. */
  dataDir?: string;
  /** The federation file that seeds an empty registry. Default: the bundled demo. */
  federationPath?: string;
  /** Nodes of the cluster. Default 3. */
  nodes?: number;
  /**
   * The `mosaic serve` command without its options, e.g. `[process.execPath, 'mosaic.js',
   * 'serve']`: each service runs as such a child process.
   */
  serveCommand: readonly string[];
  /** Default: a logger for service `hub` on stderr. */
  log?: Logger;
  /** Receives what the service processes write to stderr (their logs). Default: stderr. */
  childStderr?: (chunk: string) => void;
  /** How long a nats-server or a service process may take to start. Default 60 s. */
  startTimeoutMs?: number;
}

/** One process of the local cluster. */
export interface DevClusterProcess {
  /** `mosaic-n1`… for a node; `ingest`, `router`, `auditor`, `selector-keys`, `holdings`, `gateway` for a service. */
  name: string;
  pid: number;
  /** The node's client URL, or the service's `/healthz` `/readyz` `/metrics` base URL. */
  url: string;
}

/** A local cluster run by `mosaic dev --cluster`. Dispose it (or `stop()`) to stop everything. */
export interface DevCluster extends AsyncDisposable {
  /** Every node's client URL. */
  readonly urls: readonly string[];
  readonly dataDir: string;
  /** `<dataDir>/contexts`: `<agency>.json` per agency and `operator.json`. */
  readonly contextsDir: string;
  /** `<dataDir>/keys`: the demo agencies' private signing keys (demo federation only). */
  readonly keysDir: string;
  /** `<dataDir>/hub.yaml`: what the service processes run with. */
  readonly hubConfigFile: string;
  /** The registry as the services see it (read with the hub runner's identity). */
  readonly registry: LiveRegistryView;
  readonly nodes: readonly DevClusterProcess[];
  readonly services: readonly DevClusterProcess[];
  /** Stops the routers, ingest, the auditor (each drains), then the nodes, and waits. */
  stop(): Promise<void>;
}

const nodesFileSchema = z.strictObject({
  version: z.literal(1),
  nodes: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        host: z.string().min(1),
        port: z.int().min(1).max(65535),
        clusterPort: z.int().min(1).max(65535),
        httpPort: z.int().min(1).max(65535),
        /** Absent in the node list of an older run: a free port is taken then. */
        leafPort: z.int().min(1).max(65535).optional(),
      }),
    )
    .min(1),
});

/**
 * The nodes of the last run (`<dataDir>/cluster-nodes.json`): the node configurations and
 * every context name their ports, so a restart keeps them. The first run takes free ports.
 */
async function clusterNodesOf(file: string, count: number): Promise<ClusterNode[]> {
  if (await fileExists(file)) {
    let value: unknown;
    try {
      value = JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      throw new MosaicError(ErrorCode.HubDataDir, `${file} cannot be read as JSON`, {
        details: { path: file },
        cause: err,
      });
    }
    const parsed = nodesFileSchema.safeParse(value);
    if (!parsed.success)
      throw new MosaicError(ErrorCode.HubDataDir, `${file} is not a node list of mosaic dev`, {
        details: { path: file },
      });
    if (parsed.data.nodes.length !== count)
      throw new MosaicError(
        ErrorCode.Usage,
        `the data dir holds a cluster of ${String(parsed.data.nodes.length)} nodes, not ${String(count)}: use --cluster ${String(parsed.data.nodes.length)} or another --data-dir`,
        { details: { path: file } },
      );
    const nodes: ClusterNode[] = [];
    for (const node of parsed.data.nodes)
      nodes.push({ ...node, leafPort: node.leafPort ?? (await freePort(node.host)) });
    if (parsed.data.nodes.some((n) => n.leafPort === undefined))
      await writeFileAtomic(file, `${JSON.stringify({ version: 1, nodes }, null, 2)}\n`, 0o644);
    return nodes;
  }
  const host = '127.0.0.1';
  const ports = await freePorts(count * 4, host);
  const port = (): number => {
    const next = ports.pop();
    if (next === undefined) throw new Error('fewer free ports than asked for');
    return next;
  };
  const nodes: ClusterNode[] = [];
  for (let i = 1; i <= count; i++)
    nodes.push({
      name: `mosaic-n${String(i)}`,
      host,
      port: port(),
      clusterPort: port(),
      httpPort: port(),
      leafPort: port(),
    });
  await writeFileAtomic(file, `${JSON.stringify({ version: 1, nodes }, null, 2)}\n`, 0o644);
  return nodes;
}

/** A `mosaic serve --only <service>` child, resolved once it printed its ready line. */
async function startService(
  o: {
    service: ServeService;
    command: readonly string[];
    hubConfigFile: string;
    timeoutMs: number;
    stderr: (chunk: string) => void;
  },
  log: Logger,
): Promise<{ process: DevClusterProcess; child: ChildProcess; exited: Promise<void> }> {
  const [command, ...args] = o.command;
  if (command === undefined) throw new MosaicError(ErrorCode.Internal, 'no serve command');
  const child = spawn(
    command,
    [...args, '--config', o.hubConfigFile, '--only', o.service, '--http-port', '0'],
    // A group of its own: Ctrl-C reaches only mosaic dev, which stops the services in order.
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  const exited = exitOf(child);
  child.stderr?.setEncoding('utf8').on('data', o.stderr);
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new MosaicError(
          ErrorCode.HubServiceStart,
          `the ${o.service} process did not start within ${String(o.timeoutMs)} ms`,
        ),
      );
    }, o.timeoutMs);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const ready = /mosaic: serving \S+ (http:\S+)\n/.exec(out);
      if (ready?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(ready[1]);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new MosaicError(
          ErrorCode.HubServiceStart,
          `the ${o.service} process exited before it was ready (${String(code ?? signal)}); its log is above`,
        ),
      );
    });
  }).catch(async (err: unknown) => {
    child.kill('SIGKILL');
    await exited;
    throw err;
  });
  const pid = child.pid ?? 0;
  log.info({ process: o.service, pid, http: url }, 'service process ready');
  return { process: { name: o.service, pid, url }, child, exited };
}

/** Resolves once `child` has exited (at once if it already has). */
function exitOf(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else
      child.once('exit', () => {
        resolve();
      });
  });
}

/** SIGTERM (the service drains), then SIGKILL after `graceMs`; resolves once it exited. */
async function stopChild(
  child: ChildProcess,
  exited: Promise<void>,
  graceMs = 20_000,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => {
      resolve('late');
    }, graceMs);
  });
  if ((await Promise.race([exited, late])) === 'late') {
    child.kill('SIGKILL');
    await exited;
  }
  clearTimeout(timer);
}

/**
 * Runs the production shape on this machine: `hub init`'s configuration of a cluster of
 * `nodes` nats-servers on 127.0.0.1 (routes, `sync_interval: always`, decentralised JWT
 * auth, R3 streams and buckets with three nodes or more) written into `dataDir`, one
 * nats-server process per node, and the auditor, ingest, router (indexing selectors),
 * selector key service, holdings service and HTTP gateway each as its own `mosaic serve --only` child (the gateway on the port of
 * hub.yaml, chosen free on the first run). The data dir keeps what plain `mosaic dev` keeps (contexts,
 * demo keys, hub key) plus the node directories, so a restart keeps everything. One hub
 * per data dir (ERR_HUB_LOCKED); a data dir of the single-node hub is refused.
 *
 * @example
 * ```ts
 * await using cluster = await startDevCluster({ serveCommand: [process.execPath, bin, 'serve'] });
 * ```
 */
export async function startDevCluster(options: StartDevClusterOptions): Promise<DevCluster> {
  const log = options.log ?? createLogger({ service: 'hub' });
  const layout = dataDirLayout(resolvePath(options.dataDir ?? '.mosaic'));
  const dataDir = layout.dataDir;
  const count = options.nodes ?? 3;
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const { cleanup, run: shutdown } = shutdownSteps(log);
  // Set by stop(): from then on a process that exits is expected to.
  let stopping = false;
  try {
    const lock = await lockDataDir(dataDir);
    cleanup.push(() => lock.release());
    if (await fileExists(layout.configFile))
      throw new MosaicError(
        ErrorCode.HubDataDir,
        `${dataDir} holds a single-node hub (mosaic dev without --cluster): use another --data-dir`,
        { details: { path: layout.configFile } },
      );
    await mkdir(layout.keysDir, { recursive: true, mode: 0o700 });
    const binary = await ensureNatsServer({
      log: (line) => {
        log.info(line);
      },
    });
    log.info({ path: binary.path, version: binary.version }, 'nats-server');

    // The demo's keys are made here once; hub init reads them from the federation it copies.
    let federationPath = options.federationPath;
    const federationCopy = join(dataDir, 'federation.yaml');
    if (federationPath === undefined) {
      federationPath = federationCopy;
      if (!(await fileExists(federationCopy))) {
        const demo = await withDemoKeys(
          await loadFederation({ path: DEMO_FEDERATION_PATH }),
          layout.keysDir,
        );
        // JSON is YAML: the copy is what seeds the registry, as hub init's copy would.
        await writeFileAtomic(federationCopy, `${JSON.stringify(demo, null, 2)}\n`, 0o644);
      }
    }
    const nodes = await clusterNodesOf(join(dataDir, 'cluster-nodes.json'), count);
    // The gateway's port is chosen on the first run and kept in hub.yaml from then on.
    const init = await initCluster({
      federationPath,
      outDir: dataDir,
      nodes,
      gatewayPort: await freePort(),
    });
    if (init.written.length > 0) log.info({ written: init.written }, 'cluster configuration');

    const servers: NatsServerProcess[] = await Promise.all(
      nodes.map((node) =>
        startNatsServerProcess({
          binary: binary.path,
          configFile: join(dataDir, 'nodes', node.name, 'nats-server.conf'),
          portsFileDir: join(dataDir, 'nodes', node.name),
          name: `nats-server ${node.name}`,
          monitoring: true,
          ownProcessGroup: true,
          startTimeoutMs: timeoutMs,
          onSpawn: (child) => {
            // Registered at once: a node that started while another failed is stopped too.
            const exited = exitOf(child);
            cleanup.push(() => stopChild(child, exited));
          },
          onStderr: (chunk) => {
            for (const line of chunk.split('\n'))
              if (line.trim() !== '') log.debug({ component: node.name }, line);
          },
        }),
      ),
    );
    const nodeProcesses = servers.map((s, i) => ({
      name: nodes[i]?.name ?? '',
      pid: s.pid,
      url: `nats://${nodes[i]?.host ?? '127.0.0.1'}:${String(nodes[i]?.port ?? s.ports.port)}`,
    }));
    log.info({ nodes: nodeProcesses }, 'nats-server nodes ready');
    for (const [i, s] of servers.entries())
      void s.exited.then(() => {
        if (!stopping) log.warn({ node: nodes[i]?.name, pid: s.pid }, 'a node stopped');
      });

    const services: DevClusterProcess[] = [];
    const stderr =
      options.childStderr ??
      ((chunk: string) => {
        process.stderr.write(chunk);
      });
    const launch = async (service: ServeService): Promise<void> => {
      const started = await startService(
        {
          service,
          command: options.serveCommand,
          hubConfigFile: init.hubConfigFile,
          timeoutMs,
          stderr,
        },
        log,
      );
      cleanup.push(() => stopChild(started.child, started.exited));
      services.push(started.process);
      void started.exited.then(() => {
        if (!stopping)
          log.warn(
            { process: service, pid: started.process.pid, code: started.child.exitCode },
            'a service process stopped',
          );
      });
    };
    // The auditor first: ingest and the router answer only once their entries are written.
    // Stopped in reverse: the router and ingest drain while the auditor still writes.
    await launch('auditor');
    await launch('ingest');
    // The key service before the router, which tokenises through it (and drains before it).
    await launch('selector-keys');
    await launch('router');
    await launch('holdings');
    await launch('gateway');

    const urls = nodeProcesses.map((n) => n.url);
    const hubContext = await readContextFile(join(dataDir, 'services', 'hub.json'));
    const nc = await connect({
      ...contextConnectOptions(hubContext),
      servers: [...urls],
      maxReconnectAttempts: -1,
    });
    cleanup.push(() => nc.close());
    const registry = watchRegistry(await new Kvm(nc).open(REGISTRY_BUCKET), {
      onError: (err) => {
        log.error({ err }, 'registry change not read');
      },
    });
    cleanup.push(() => registry.close());
    await registry.ready;

    const victim = nodeProcesses[1] ?? nodeProcesses[0];
    log.info(
      {
        nodes: nodeProcesses,
        services,
        try: `kill ${String(victim?.pid)} stops ${String(victim?.name)}: the other nodes keep every stream (R3) and clients move to them; kill -9 a service pid to see its work wait for it`,
      },
      'failover: kill a node or a service process',
    );
    log.info(
      {
        urls,
        leafnodes: nodes.map((n) => `nats-leaf://${n.host}:${String(n.leafPort)}`),
        contexts: layout.contextsDir,
        services: ServeServices,
        revision: registry.revision(),
      },
      'hub ready',
    );

    let stopped: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping = true;
      return (stopped ??= shutdown());
    };
    return {
      urls,
      dataDir,
      contextsDir: layout.contextsDir,
      keysDir: layout.keysDir,
      hubConfigFile: init.hubConfigFile,
      registry,
      nodes: nodeProcesses,
      services,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    stopping = true;
    await shutdown();
    if (err instanceof MosaicError) throw err;
    throw new MosaicError(
      ErrorCode.Internal,
      `the cluster did not start: ${(err as Error).message}`,
      { cause: err },
    );
  }
}
