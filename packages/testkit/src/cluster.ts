import { randomBytes } from 'node:crypto';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { freePorts, httpGet, waitFor } from '@mosaic/nats-server';
import { modeError, testNatsMode } from './mode.ts';
import { LocalServer, type NatsServerHandle, type StartServerOptions } from './server.ts';

/** A JetStream cluster of local nats-server processes. Dispose it to stop every node. */
export interface NatsClusterHandle extends AsyncDisposable {
  readonly name: string;
  readonly nodes: readonly NatsServerHandle[];
  /** The client URLs of all nodes, for `connect({ servers: cluster.urls })`. */
  readonly urls: string[];
  /** The node whose `server_name` is `serverName` (as in stream info `cluster.leader`). */
  node(serverName: string): NatsServerHandle;
  stopNode(index: number): Promise<void>;
  killNode(index: number): Promise<void>;
  /** Starts the node again on its ports and store; resolves when it is healthy (caught up). */
  restartNode(index: number): Promise<void>;
}

/** As for `startServer`; JetStream is always on and the nodes are named `<cluster>-n<i>`. */
export type StartClusterOptions = Omit<StartServerOptions, 'serverName' | 'jetstream'>;

/**
 * A nats-server that could not start because a port picked by `freePorts` was taken in the
 * meantime (by another test file's process): start again with new ports.
 */
export function isPortClash(err: unknown): boolean {
  if (!(err instanceof MosaicError) || err.code !== ErrorCode.NatsServerStart) return false;
  const details = err.details as { stderr?: string } | undefined;
  return /address already in use/i.test(details?.stderr ?? '');
}

interface ClusterStatus {
  leader: string;
}

/**
 * Starts a JetStream cluster of `size` local nodes (default 3), each with its own server
 * name, ports, temp store and a route to every other node, and resolves once the routes
 * are up and a JetStream meta leader is elected and known to every node.
 *
 * A JetStream cluster node refuses to start without configured routes, so the route ports
 * are reserved up front (client and monitoring ports are random, then pinned) and all
 * nodes start together. Any node can be killed and restarted alone.
 *
 * @example
 * ```ts
 * await using cluster = await startCluster(3);
 * const nc = await connect({ servers: cluster.urls });
 * ```
 */
export async function startCluster(
  size = 3,
  options: StartClusterOptions = {},
): Promise<NatsClusterHandle> {
  const mode = testNatsMode();
  if (mode !== 'local') throw modeError(mode, 'a cluster');
  if (!Number.isInteger(size) || size < 1)
    throw new MosaicError(ErrorCode.Usage, `a cluster needs at least one node, not ${size}`);
  const name = `mosaic-${randomBytes(3).toString('hex')}`;

  for (let attempt = 1; ; attempt++) {
    const ports = await freePorts(size);
    const started = await Promise.allSettled(
      ports.map((port, i) =>
        LocalServer.start(
          { ...options, jetstream: true, serverName: `${name}-n${i + 1}` },
          { name, port, routes: ports.filter((p) => p !== port) },
        ),
      ),
    );
    const nodes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failures = started.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failures.length === 0) {
      const cluster = new LocalCluster(name, nodes, options.startTimeoutMs ?? 30_000);
      try {
        await cluster.waitFormed();
      } catch (err) {
        await cluster[Symbol.asyncDispose]();
        throw err;
      }
      return cluster;
    }
    await Promise.all(nodes.map((n) => n[Symbol.asyncDispose]()));
    // Another process took a reserved route port in between: reserve new ones.
    if (attempt < 3 && failures.every(isPortClash)) continue;
    throw failures[0];
  }
}

class LocalCluster implements NatsClusterHandle {
  readonly name: string;
  readonly nodes: readonly LocalServer[];
  readonly #timeoutMs: number;

  constructor(name: string, nodes: LocalServer[], timeoutMs: number) {
    this.name = name;
    this.nodes = nodes;
    this.#timeoutMs = timeoutMs;
  }

  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  node(serverName: string): NatsServerHandle {
    const found = this.nodes.find((n) => n.serverName === serverName);
    if (found === undefined)
      throw new MosaicError(ErrorCode.Usage, `no node ${serverName} in cluster ${this.name}`);
    return found;
  }

  #at(index: number): LocalServer {
    const node = this.nodes[index];
    if (node === undefined)
      throw new MosaicError(ErrorCode.Usage, `cluster ${this.name} has no node ${index}`);
    return node;
  }

  stopNode(index: number): Promise<void> {
    return this.#at(index).stop();
  }

  killNode(index: number): Promise<void> {
    return this.#at(index).kill();
  }

  restartNode(index: number): Promise<void> {
    return this.#at(index).restart();
  }

  /** Every node routes to every other and agrees on one JetStream meta leader. */
  async waitFormed(): Promise<void> {
    const size = this.nodes.length;
    await waitFor(
      `cluster ${this.name} formed with a JetStream meta leader`,
      async (note) => {
        const leaders = new Set<string>();
        for (const node of this.nodes) {
          const routez = await httpGet(`${node.monitorUrl}/routez`);
          const routes =
            routez?.status === 200
              ? ((JSON.parse(routez.body) as { routes?: { remote_name?: string }[] }).routes ?? [])
              : [];
          const peers = new Set(routes.map((r) => r.remote_name));
          if (peers.size < size - 1) {
            note(`${node.serverName} routes to ${peers.size} of ${size - 1} peers`);
            return;
          }
          const jsz = await httpGet(`${node.monitorUrl}/jsz`);
          const status =
            jsz?.status === 200
              ? (JSON.parse(jsz.body) as { meta_cluster?: ClusterStatus }).meta_cluster
              : undefined;
          if (status?.leader === undefined || status.leader === '') {
            note(`${node.serverName} knows no meta leader yet`);
            return;
          }
          leaders.add(status.leader);
        }
        if (leaders.size !== 1) {
          note(`nodes disagree on the meta leader: ${[...leaders].join(', ')}`);
          return;
        }
        return true;
      },
      {
        timeoutMs: this.#timeoutMs,
        intervalMs: 50,
        onTimeout: (message) =>
          new MosaicError(ErrorCode.NatsServerStart, message, {
            details: {
              stderr: this.nodes.map((n) => `--- ${n.serverName}\n${n.logs()}`).join('\n'),
            },
          }),
      },
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.nodes.map((n) => n[Symbol.asyncDispose]()));
  }
}
