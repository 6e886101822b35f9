/**
 * An agency's leaf node for tests: a real nats-server running exactly the configuration
 * `leafNodeConfig` writes (plus a ports file), with the agency's credentials, and a TCP
 * relay between it and the hub's leafnode port that a test can cut and restore — the link
 * going down while both servers keep running.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ensureNatsServer,
  startNatsServerProcess,
  type NatsServerProcess,
} from '@mosaic/nats-server';
import { freePorts } from '@mosaic/testkit';
import { leafCredentials, leafNodeConfig, type NatsContext } from '../../src/index.ts';

/** A TCP relay to `127.0.0.1:<targetPort>` that can be cut (every connection closed, new ones refused). */
export interface LinkRelay extends AsyncDisposable {
  readonly port: number;
  /** Closes every relayed connection and stops accepting until `restore`. */
  cut(): Promise<void>;
  /** Accepts connections again on the same port. */
  restore(): Promise<void>;
}

export async function startLinkRelay(targetPort: number): Promise<LinkRelay> {
  const [port] = await freePorts(1);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = async (): Promise<void> => {
    const s = createServer((client) => {
      const upstream = tcpConnect(targetPort, '127.0.0.1');
      for (const sock of [client, upstream]) {
        sockets.add(sock);
        sock.on('close', () => sockets.delete(sock));
        sock.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', resolve);
    });
    server = s;
  };
  const close = async (): Promise<void> => {
    const s = server;
    server = undefined;
    for (const sock of sockets) sock.destroy();
    sockets.clear();
    if (s !== undefined)
      await new Promise<void>((resolve) => {
        s.close(() => {
          resolve();
        });
      });
  };
  await listen();
  return {
    port: port!,
    cut: close,
    restore: listen,
    [Symbol.asyncDispose]: close,
  };
}

/** A running leaf node. Dispose it to stop the server and remove its files. */
export interface LeafNode extends AsyncDisposable {
  /** Where the agency's applications connect: `nats://127.0.0.1:<port>`. */
  readonly url: string;
  readonly dir: string;
  /** The configuration text the server runs, as `leafNodeConfig` wrote it. */
  readonly config: string;
  logs(): string;
}

/**
 * Starts a leaf node for the agency of `context`, linked to the hub's leafnode listener at
 * `127.0.0.1:<hubLeafPort>`.
 */
export async function startLeafNode(context: NatsContext, hubLeafPort: number): Promise<LeafNode> {
  const agency = context.agency ?? '';
  const dir = await mkdtemp(join(tmpdir(), `mosaic-leaf-${agency}-`));
  const [port] = await freePorts(1);
  const credentialsPath = join(dir, `${agency}.creds`);
  await writeFile(credentialsPath, leafCredentials(context), { mode: 0o600 });
  const config = leafNodeConfig({
    agency,
    hubUrls: [`nats-leaf://127.0.0.1:${String(hubLeafPort)}`],
    credentialsPath,
    storeDir: join(dir, 'jetstream'),
    listen: { host: '127.0.0.1', port: port! },
  });
  const configFile = join(dir, 'leafnode.conf');
  await writeFile(configFile, `${config}ports_file_dir: ${JSON.stringify(dir)}\n`);
  let log = '';
  let server: NatsServerProcess;
  try {
    server = await startNatsServerProcess({
      binary: (await ensureNatsServer()).path,
      configFile,
      portsFileDir: dir,
      name: `leaf node of ${agency}`,
      onStderr: (chunk) => {
        log = (log + chunk).slice(-256 * 1024);
      },
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `nats://127.0.0.1:${String(port)}`,
    dir,
    config,
    logs: () => log,
    async [Symbol.asyncDispose]() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
