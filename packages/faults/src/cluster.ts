import { appendFileSync, mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, MosaicError, isMosaicError } from '@mosaic/errors';
import { DEMO_FEDERATION_PATH } from '@mosaic/federation';
import { HUB_NODE_FLAGS, initCluster, type ClusterNode, type ServeService } from '@mosaic/hub';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import {
  ensureNatsServer,
  startNatsServerProcess,
  type NatsServerProcess,
} from '@mosaic/nats-server';
import { generateAgencyKey, type AgencyPrivateJwk } from '@mosaic/signing';
import { bounded, freePorts, isPortClash, spawnReady, type ReadyChild } from '@mosaic/testkit';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { parse, stringify } from 'yaml';
import { NodeNetwork } from './netns.ts';
import { AgencyLeaf } from './leaf.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const mosaicBin = join(repoRoot, 'packages/cli/bin/mosaic.js');

/**
 * The service logs of a kept cluster: each process's stderr appended to `<dir>/<label>.log`
 * as it arrives (synchronously, so a harness that fails still leaves every line written).
 */
function keptServiceLog(dir: string): (service: string, chunk: string) => void {
  return (service, chunk) => {
    mkdirSync(dir, { recursive: true });
    appendFileSync(join(dir, `${service}.log`), chunk);
  };
}

/** A process of the cluster that ended without the harness asking it to. */
export interface UnexpectedExit {
  name: string;
  pid: number;
  code: number | null;
  signal: string | null;
  at: number;
}

/** One nats-server node: its configuration and, while it runs, its process. */
export interface FaultNode {
  readonly name: string;
  readonly url: string;
  readonly monitoring: string;
  readonly configFile: string;
  readonly storeDir: string;
  /** The port its leafnode listener (agencies' leaf nodes) is on. */
  readonly leafPort: number;
  server: NatsServerProcess | undefined;
}

/** One `mosaic serve --only <service>` process. */
export interface FaultService {
  readonly name: ServeService;
  /** The process's name in `unexpectedExits`: the service's, `-2`, `-3`… for added instances. */
  readonly label: string;
  child: ReadyChild;
  /** `http://…`: `/healthz`, `/readyz`, `/metrics`. */
  url: string;
}

export interface StartFaultClusterOptions {
  /** Where everything lives; default a new temporary directory, removed on stop. */
  dir?: string;
  /** Keep the directory after stop (node logs, stores). */
  keep?: boolean;
  /** How long a node or service may take to start. Default 120 s (a loaded 2-core machine). */
  startTimeoutMs?: number;
  /**
   * Receives the service processes' stderr (JSON log lines). Default: with `keep`, written to
   * `logs/<service>.log` in the cluster's directory; else dropped.
   */
  serviceLog?: (service: string, chunk: string) => void;
  /**
   * Each node in a network namespace of its own (`NodeNetwork`), so that `cutOff` can
   * partition it; needs root. Default false: every node on 127.0.0.1.
   */
  namespaces?: boolean;
  /**
   * An agency that connects through a leaf node of its own (`mosaic agency leafnode`'s
   * configuration, linked to every node's leafnode port through a `LeafLink`), started after
   * the services. Default: none, every agency connects directly.
   */
  leaf?: string;
}

/**
 * The production shape on one machine for fault injection: `hub init`'s configuration of
 * three nats-server nodes (routes, `sync_interval: always`, decentralised JWT auth, R3
 * streams), each node a process the harness can SIGKILL, SIGSTOP and restart, and the
 * auditor, ingest, selector key service and router each as a `mosaic serve --only` process. Every agency of the
 * demo federation gets a fresh signing key (`keys`).
 */
export class FaultCluster implements AsyncDisposable {
  readonly dir: string;
  readonly hubConfigFile: string;
  readonly contextsDir: string;
  readonly federationFile: string;
  readonly keys: ReadonlyMap<string, AgencyPrivateJwk>;
  readonly nodes: readonly FaultNode[];
  readonly services: FaultService[] = [];
  readonly unexpectedExits: UnexpectedExit[] = [];
  /** The nodes' network namespaces, when started with `namespaces`. */
  readonly network: NodeNetwork | undefined;
  /** The agency's leaf node, when started with `leaf`. */
  leaf: AgencyLeaf | undefined;
  readonly #binary: string;
  readonly #timeoutMs: number;
  readonly #keep: boolean;
  readonly #serviceLog: (service: string, chunk: string) => void;
  /** Processes the harness stopped or killed on purpose. */
  readonly #intended = new Set<number>();
  #hub: NatsConnection | undefined;

  private constructor(o: {
    dir: string;
    hubConfigFile: string;
    federationFile: string;
    keys: Map<string, AgencyPrivateJwk>;
    nodes: FaultNode[];
    network: NodeNetwork | undefined;
    binary: string;
    timeoutMs: number;
    keep: boolean;
    serviceLog: (service: string, chunk: string) => void;
  }) {
    this.dir = o.dir;
    this.hubConfigFile = o.hubConfigFile;
    this.contextsDir = join(o.dir, 'contexts');
    this.federationFile = o.federationFile;
    this.keys = o.keys;
    this.nodes = o.nodes;
    this.network = o.network;
    this.#binary = o.binary;
    this.#timeoutMs = o.timeoutMs;
    this.#keep = o.keep;
    this.#serviceLog = o.serviceLog;
  }

  /** Writes the configuration, starts the three nodes, then auditor, ingest and router. */
  static async start(options: StartFaultClusterOptions = {}): Promise<FaultCluster> {
    // Ports are picked free and bound moments later by the nodes: another process (a test
    // file running alongside) may take one in between. Then start again with new ones.
    for (let attempt = 1; ; attempt++) {
      try {
        return await FaultCluster.#attempt(options);
      } catch (err) {
        if (attempt >= 3 || !isPortClash(err)) throw err;
      }
    }
  }

  static async #attempt(options: StartFaultClusterOptions): Promise<FaultCluster> {
    const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'mosaic-faults-')));
    const demo = parse(await readFile(DEMO_FEDERATION_PATH, 'utf8')) as {
      agencies: { id: string; keys?: unknown[] }[];
    };
    const keys = new Map<string, AgencyPrivateJwk>();
    for (const agency of demo.agencies) {
      const pair = await generateAgencyKey(agency.id, { keyId: 'k1' });
      keys.set(agency.id, pair.privateJwk);
      agency.keys = [{ keyId: pair.keyId, publicJwk: pair.publicJwk }];
    }
    const network = options.namespaces === true ? await NodeNetwork.create(3) : undefined;
    try {
      return await FaultCluster.#start(options, { dir, demo, keys, network });
    } catch (err) {
      await network?.destroy();
      throw err;
    }
  }

  static async #start(
    options: StartFaultClusterOptions,
    o: {
      dir: string;
      demo: { agencies: { id: string; keys?: unknown[] }[] };
      keys: Map<string, AgencyPrivateJwk>;
      network: NodeNetwork | undefined;
    },
  ): Promise<FaultCluster> {
    const { dir, demo, keys, network } = o;
    const federationFile = join(dir, 'federation.source.yaml');
    await writeFile(federationFile, stringify(demo));
    const ports = await freePorts(12);
    const port = (i: number): number => {
      const p = ports[i];
      if (p === undefined) throw new MosaicError(ErrorCode.Internal, 'no free port');
      return p;
    };
    const nodes: ClusterNode[] = [0, 1, 2].map((i) => ({
      name: `mosaic-n${String(i + 1)}`,
      host: network?.hosts[i] ?? '127.0.0.1',
      port: port(i * 4),
      clusterPort: port(i * 4 + 1),
      httpPort: port(i * 4 + 2),
      leafPort: port(i * 4 + 3),
    }));
    const init = await initCluster({ federationPath: federationFile, outDir: dir, nodes });
    const binary = await ensureNatsServer();
    const cluster = new FaultCluster({
      dir,
      hubConfigFile: init.hubConfigFile,
      federationFile: join(dir, 'federation.yaml'),
      keys,
      nodes: nodes.map((n) => ({
        name: n.name,
        url: `nats://${n.host}:${String(n.port)}`,
        monitoring: `http://${n.host}:${String(n.httpPort)}`,
        configFile: join(dir, 'nodes', n.name, 'nats-server.conf'),
        storeDir: join(dir, 'nodes', n.name, 'jetstream'),
        leafPort: n.leafPort,
        server: undefined,
      })),
      network,
      binary: binary.path,
      timeoutMs: options.startTimeoutMs ?? 120_000,
      keep: options.keep ?? false,
      serviceLog:
        options.serviceLog ??
        (options.keep === true ? keptServiceLog(join(dir, 'logs')) : () => undefined),
    });
    try {
      await cluster.startNodes(cluster.nodes);
      // The auditor first: ingest and the router answer only once their entries are written.
      // The key service before the router, which tokenises every report's selectors with it.
      for (const service of ['auditor', 'ingest', 'selector-keys', 'router'] as const)
        cluster.services.push(await cluster.#startService(service));
      if (options.leaf !== undefined) {
        cluster.leaf = await AgencyLeaf.start(
          cluster,
          options.leaf,
          nodes.map((n) => ({ host: n.host, port: n.leafPort })),
          cluster.#timeoutMs,
        );
        await cluster.startLeaf();
      }
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  node(name: string): FaultNode {
    const node = this.nodes.find((n) => n.name === name);
    if (node === undefined) throw new MosaicError(ErrorCode.Internal, `no node ${name}`);
    return node;
  }

  service(name: ServeService): FaultService {
    const service = this.services.find((s) => s.name === name);
    if (service === undefined) throw new MosaicError(ErrorCode.Internal, `no service ${name}`);
    return service;
  }

  #watch(
    name: string,
    pid: number,
    exited: Promise<unknown>,
    status: () => [number | null, string | null],
  ): void {
    void exited.then(() => {
      if (this.#intended.has(pid)) return;
      const [code, signal] = status();
      this.unexpectedExits.push({ name, pid, code, signal, at: Date.now() });
    });
  }

  /** Starts these nodes (at once: a node alone cannot become healthy without a quorum). */
  async startNodes(nodes: readonly FaultNode[]): Promise<void> {
    await Promise.all(
      nodes.map(async (node) => {
        if (node.server?.running === true) return;
        const index = this.nodes.indexOf(node);
        let child: { exitCode: number | null; signalCode: string | null } | undefined;
        const server = await startNatsServerProcess({
          binary: this.#binary,
          configFile: node.configFile,
          portsFileDir: join(this.dir, 'nodes', node.name),
          name: `nats-server ${node.name}`,
          monitoring: true,
          startTimeoutMs: this.#timeoutMs,
          host: new URL(node.url).hostname,
          ...(this.network === undefined ? {} : { launcher: this.network.launcher(index) }),
          onSpawn: (c) => {
            child = c;
          },
        });
        node.server = server;
        this.#watch(node.name, server.pid, server.exited, () => [
          child?.exitCode ?? null,
          child?.signalCode ?? null,
        ]);
      }),
    );
  }

  /** SIGKILL a node (expected: not counted as a crash) and wait until it is gone. */
  async killNode(node: FaultNode): Promise<void> {
    const server = node.server;
    if (server === undefined) return;
    this.#intended.add(server.pid);
    await server.kill();
  }

  /** SIGKILL several nodes at the same instant. */
  async killNodes(nodes: readonly FaultNode[]): Promise<void> {
    const servers = nodes.flatMap((n) => (n.server === undefined ? [] : [n.server]));
    for (const s of servers) {
      this.#intended.add(s.pid);
      process.kill(s.pid, 'SIGKILL');
    }
    await Promise.all(servers.map((s) => s.exited));
  }

  /** SIGSTOP or SIGCONT a node's process. */
  signalNode(node: FaultNode, signal: 'SIGSTOP' | 'SIGCONT'): void {
    if (node.server?.running === true) process.kill(node.server.pid, signal);
  }

  /**
   * Partitions a node: its link down, it reaches neither the other nodes nor any client
   * (needs `namespaces`). Its process runs on.
   */
  async cutOff(node: FaultNode): Promise<void> {
    await this.#network().cut(this.nodes.indexOf(node));
  }

  /** Heals `cutOff`: the node's link up again. */
  async reconnect(node: FaultNode): Promise<void> {
    await this.#network().heal(this.nodes.indexOf(node));
  }

  #network(): NodeNetwork {
    if (this.network === undefined)
      throw new MosaicError(ErrorCode.Internal, 'the cluster was started without namespaces');
    return this.network;
  }

  /** Starts the agency's leaf node (again). */
  async startLeaf(): Promise<void> {
    const leaf = this.leaf;
    if (leaf === undefined || leaf.running) return;
    let child: { exitCode: number | null; signalCode: string | null } | undefined;
    const server = await leaf.startServer((c) => {
      child = c;
    });
    this.#watch(`leaf-${leaf.agency}`, server.pid, server.exited, () => [
      child?.exitCode ?? null,
      child?.signalCode ?? null,
    ]);
  }

  /** Stops the agency's leaf node: gracefully (SIGTERM), or SIGKILL with `kill`. */
  async stopLeaf(kill = false): Promise<void> {
    const server = this.leaf?.server;
    if (server === undefined || !server.running) return;
    this.#intended.add(server.pid);
    await (kill ? server.kill() : server.stop());
  }

  /** Stops a node gracefully (SIGTERM). */
  async stopNode(node: FaultNode): Promise<void> {
    const server = node.server;
    if (server === undefined) return;
    this.#intended.add(server.pid);
    await server.stop();
  }

  async #startService(
    name: ServeService,
    env: Record<string, string> = {},
    label: string = name,
  ): Promise<FaultService> {
    const child = await spawnReady(
      process.execPath,
      [
        ...HUB_NODE_FLAGS,
        mosaicBin,
        'serve',
        '--config',
        this.hubConfigFile,
        '--only',
        name,
        '--http-port',
        '0',
      ],
      {
        cwd: repoRoot,
        env: { MOSAIC_LOG_FORMAT: 'json', ...env },
        ready: /mosaic: serving \S+ http:\S+\n/,
        timeoutMs: this.#timeoutMs,
      },
    );
    child.child.stderr?.on('data', (chunk: Buffer | string) => {
      this.#serviceLog(label, chunk.toString());
    });
    this.#watch(label, child.pid, child.exited, () => [
      child.child.exitCode,
      child.child.signalCode,
    ]);
    const url = /mosaic: serving \S+ (http:\S+)/.exec(child.stdout())?.[1] ?? '';
    return { name, label, child, url };
  }

  /**
   * Scales a service out: one more `mosaic serve --only <name>` process (ingest instances
   * share the queue group, routers the durable consumer, auditors the ordered log), named
   * `<name>-<n>`.
   */
  async addService(name: ServeService): Promise<FaultService> {
    const n = this.services.filter((s) => s.name === name).length + 1;
    const started = await this.#startService(name, {}, `${name}-${String(n)}`);
    this.services.push(started);
    return started;
  }

  /**
   * SIGKILLs one service process and waits until it is gone. Its end is recorded like a
   * crash (`unexpectedExits`, under its label): the fault names it as its target.
   */
  async killService(service: FaultService): Promise<void> {
    if (!service.child.running) return;
    service.child.child.kill('SIGKILL');
    await bounded(service.child.exited, 30_000, `${service.label} ending`);
  }

  /** Starts a fresh process in place of `service` (ended or killed), under the same label. */
  async replaceService(service: FaultService): Promise<FaultService> {
    const index = this.services.indexOf(service);
    if (index < 0) throw new MosaicError(ErrorCode.Internal, `no service ${service.label}`);
    if (service.child.running)
      throw new MosaicError(ErrorCode.Internal, `${service.label} still runs`);
    const started = await this.#startService(service.name, {}, service.label);
    this.services[index] = started;
    return started;
  }

  /** Stops a service (SIGTERM, it drains) and starts it again, with `env` added. */
  async restartService(
    name: ServeService,
    env: Record<string, string> = {},
  ): Promise<FaultService> {
    const index = this.services.findIndex((s) => s.name === name);
    const old = this.services[index];
    if (old === undefined) throw new MosaicError(ErrorCode.Internal, `no service ${name}`);
    await this.#stopService(old);
    const started = await this.#startService(name, env);
    this.services[index] = started;
    return started;
  }

  async #stopService(service: FaultService): Promise<void> {
    this.#intended.add(service.child.pid);
    if (!service.child.running) return;
    service.child.child.kill('SIGTERM');
    const exited = await bounded(service.child.exited, 30_000, `${service.name} stopping`).then(
      () => true,
      (err: unknown) => {
        if (!isMosaicError(err)) throw err;
        return false;
      },
    );
    if (!exited) {
      service.child.child.kill('SIGKILL');
      await service.child.exited;
    }
  }

  /** The hub's own connection (the hub runner's identity), through every node. */
  async hub(): Promise<{ nc: NatsConnection; jsm: JetStreamManager }> {
    this.#hub ??= await connect({
      ...contextConnectOptions(await readContextFile(join(this.dir, 'services', 'hub.json'))),
      servers: this.urls,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
    // No API check: it is a request, and the node asked may be the one paused.
    return {
      nc: this.#hub,
      jsm: await jetstreamManager(this.#hub, { timeout: 10_000, checkAPI: false }),
    };
  }

  /**
   * A stream's leader as `nodes` report it, asked with a short timeout through a connection
   * of the hub's identity to those nodes only (a paused node would hold the harness's own
   * requests until the client gave up on it); undefined while there is none.
   */
  async leaderVia(nodes: readonly FaultNode[], stream: string): Promise<string | undefined> {
    const nc = await connect({
      ...contextConnectOptions(await readContextFile(join(this.dir, 'services', 'hub.json'))),
      servers: nodes.map((n) => n.url),
    });
    try {
      const jsm = await jetstreamManager(nc, { timeout: 2_000, checkAPI: false });
      const leader = (await jsm.streams.info(stream)).cluster?.leader;
      return leader === '' ? undefined : leader;
    } catch (err) {
      if (!(err instanceof Error)) throw err;
      return undefined;
    } finally {
      await nc.close();
    }
  }

  /** The server name of a stream's leader, waiting (bounded) until it has one. */
  async leader(stream: string, timeoutMs = 60_000): Promise<string> {
    const { jsm } = await this.hub();
    return bounded(
      (async () => {
        for (;;) {
          try {
            const leader = (await jsm.streams.info(stream)).cluster?.leader;
            if (leader !== undefined && leader !== '') return leader;
          } catch (err) {
            // No leader yet or the node asked went away: ask again.
            if (!(err instanceof Error)) throw err;
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })(),
      timeoutMs,
      `a leader of ${stream}`,
    );
  }

  /**
   * Asks the stream's leader to step down in favour of `preferred` (break-glass stream
   * administration), until it leads (bounded); says what happened.
   */
  async moveLeader(stream: string, preferred: string, attempts = 5): Promise<string> {
    const admin = await connect({
      ...contextConnectOptions(await readContextFile(join(this.dir, 'breakglass', 'admin.json'))),
      servers: this.urls,
    });
    try {
      for (let attempt = 1; attempt <= attempts; attempt++) {
        const before = await this.leader(stream);
        if (before === preferred)
          return `${preferred} leads after ${String(attempt - 1)} step-downs`;
        const reply = await admin.request(
          `$JS.API.STREAM.LEADER.STEPDOWN.${stream}`,
          JSON.stringify({ placement: { preferred } }),
          { timeout: 10_000 },
        );
        const answer = reply.json<{ success?: boolean; error?: { description?: string } }>();
        if (answer.success !== true)
          return `step-down refused: ${answer.error?.description ?? reply.string()}`;
        await bounded(
          (async () => {
            while ((await this.leader(stream)) === before)
              await new Promise((resolve) => setTimeout(resolve, 200));
          })(),
          60_000,
          `a new ${stream} leader`,
        );
      }
      return `still led by ${await this.leader(stream)} after ${String(attempts)} step-downs`;
    } finally {
      await admin.close();
    }
  }

  /** The server name of a consumer's leader (its own Raft group, apart from its stream's). */
  async consumerLeader(stream: string, consumer: string, timeoutMs = 60_000): Promise<string> {
    const { jsm } = await this.hub();
    return bounded(
      (async () => {
        for (;;) {
          try {
            const leader = (await jsm.consumers.info(stream, consumer)).cluster?.leader;
            if (leader !== undefined && leader !== '') return leader;
          } catch (err) {
            if (!(err instanceof Error)) throw err;
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })(),
      timeoutMs,
      `a leader of ${stream} consumer ${consumer}`,
    );
  }

  /**
   * Asks a consumer's leader to step down (break-glass administration) and waits (bounded)
   * until another node leads it; says which.
   */
  async stepDownConsumer(stream: string, consumer: string): Promise<string> {
    const before = await this.consumerLeader(stream, consumer);
    const admin = await connect({
      ...contextConnectOptions(await readContextFile(join(this.dir, 'breakglass', 'admin.json'))),
      servers: this.urls,
    });
    try {
      const reply = await admin.request(
        `$JS.API.CONSUMER.LEADER.STEPDOWN.${stream}.${consumer}`,
        '',
        { timeout: 10_000 },
      );
      const answer = reply.json<{ success?: boolean; error?: { description?: string } }>();
      if (answer.success !== true)
        throw new MosaicError(
          ErrorCode.Internal,
          `consumer step-down refused: ${answer.error?.description ?? reply.string()}`,
        );
    } finally {
      await admin.close();
    }
    const after = await bounded(
      (async () => {
        for (;;) {
          const now = await this.consumerLeader(stream, consumer);
          if (now !== before) return now;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      })(),
      60_000,
      `a new leader of ${stream} consumer ${consumer}`,
    );
    return `${before}→${after}`;
  }

  /** Stops the services (each drains), then the nodes; removes the directory unless kept. */
  async stop(): Promise<void> {
    await this.#hub?.close();
    this.#hub = undefined;
    await this.stopLeaf();
    await this.leaf?.link[Symbol.asyncDispose]();
    for (const service of [...this.services].reverse()) await this.#stopService(service);
    // A paused node cannot stop.
    for (const node of this.nodes) this.signalNode(node, 'SIGCONT');
    await Promise.all(this.nodes.map((n) => this.stopNode(n)));
    await this.network?.destroy();
    if (!this.#keep) await rm(this.dir, { recursive: true, force: true });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
