import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import {
  ensureNatsServer,
  startNatsServerProcess,
  type NatsServerProcess,
} from '@mosaic/nats-server';
import { serverDirPrefix, track } from './children.ts';
import { renderConfig, type ServerConfig } from './config.ts';
import { modeError, testNatsMode, type TestNatsMode } from './mode.ts';

export interface StartServerOptions {
  /** Default true. */
  jetstream?: boolean;
  /** Extra nats-server configuration, e.g. `authorization { users = [...] }` or `accounts { ... }`. */
  config?: string;
  /** Default: a random `mosaic-…` name. */
  serverName?: string;
  /** `jetstream { sync_interval: always }`: fsync every write before the ack. */
  syncAlways?: boolean;
  /** `debug: true`, and the server's log is copied to this process's stderr. */
  debug?: boolean;
  /** How long a start or restart may take until the server is healthy. Default 30 s. */
  startTimeoutMs?: number;
}

/** A nats-server for a test. Dispose it (`await using`) to stop it and remove its files. */
export interface NatsServerHandle extends AsyncDisposable {
  readonly mode: TestNatsMode;
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  readonly serverName: string;
  /** `http://127.0.0.1:<port>` of the monitoring endpoint (local mode). */
  readonly monitorUrl: string | undefined;
  /** The cluster (route) port, for a cluster node. */
  readonly clusterPort: number | undefined;
  /** The following are local mode only; they throw `ERR_TESTKIT_MODE` otherwise. */
  readonly dir: string;
  readonly storeDir: string;
  readonly configFile: string;
  /** The pid of the current process (changes on restart). */
  readonly pid: number;
  readonly running: boolean;
  /** What the server wrote to stderr so far (the last 256 KiB). */
  logs(): string;
  /** SIGTERM, then wait for it to exit (SIGKILL after 20 s). */
  stop(): Promise<void>;
  /** SIGKILL, then wait for it to exit. */
  kill(): Promise<void>;
  /** Stops it if running, then starts it again on the same ports with the same store. */
  restart(): Promise<void>;
}

const maxLog = 256 * 1024;

let binary: Promise<string> | undefined;

/** The nats-server binary, looked up once per process (a failed lookup is retried). */
function natsServerBinary(): Promise<string> {
  binary ??= ensureNatsServer().then(
    (found) => found.path,
    (err: unknown) => {
      binary = undefined;
      throw err;
    },
  );
  return binary;
}

interface ClusterSpec {
  name: string;
  port: number;
  routes: readonly number[];
}

/** A nats-server child process with its own temp dir, config and store. */
export class LocalServer implements NatsServerHandle {
  readonly mode = 'local' as const;
  readonly #binary: string;
  readonly #config: ServerConfig;
  readonly #timeoutMs: number;
  #process: NatsServerProcess | undefined;
  #log = '';
  #disposed = false;

  private constructor(binary: string, config: ServerConfig, timeoutMs: number) {
    this.#binary = binary;
    this.#config = config;
    this.#timeoutMs = timeoutMs;
  }

  /** Creates the temp dir and config, starts the server and pins its ports. */
  static async start(options: StartServerOptions, cluster?: ClusterSpec): Promise<LocalServer> {
    const binary = await natsServerBinary();
    const dir = await mkdtemp(join(tmpdir(), serverDirPrefix));
    const server = new LocalServer(
      binary,
      {
        serverName: options.serverName ?? `mosaic-${randomBytes(4).toString('hex')}`,
        port: -1,
        httpPort: -1,
        dir,
        jetstream: options.jetstream ?? true,
        storeDir: join(dir, 'store'),
        syncAlways: options.syncAlways ?? false,
        debug: options.debug ?? false,
        ...(cluster === undefined ? {} : { cluster }),
        extra: options.config ?? '',
      },
      options.startTimeoutMs ?? 30_000,
    );
    try {
      const ports = await server.#launch();
      // Pin the ports so that a restart comes back where clients reconnect to.
      server.#config.port = ports.port;
      server.#config.httpPort = ports.httpPort;
      await writeFile(server.configFile, renderConfig(server.#config));
      return server;
    } catch (err) {
      await server[Symbol.asyncDispose]();
      throw err;
    }
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }
  get port(): number {
    return this.#config.port;
  }
  get serverName(): string {
    return this.#config.serverName;
  }
  get monitorUrl(): string {
    return `http://127.0.0.1:${this.#config.httpPort}`;
  }
  get clusterPort(): number | undefined {
    return this.#config.cluster?.port;
  }
  get dir(): string {
    return this.#config.dir;
  }
  get storeDir(): string {
    return this.#config.storeDir;
  }
  get configFile(): string {
    return join(this.#config.dir, 'nats-server.conf');
  }
  get pid(): number {
    return this.#process?.pid ?? 0;
  }
  get running(): boolean {
    return this.#process?.running ?? false;
  }
  logs(): string {
    return this.#log;
  }

  /** Writes the config, spawns, waits until healthy. Returns the concrete ports. */
  async #launch(): Promise<{ port: number; httpPort: number }> {
    if (this.#disposed)
      throw new MosaicError(ErrorCode.Usage, `nats-server ${this.serverName} was disposed`);
    await writeFile(this.configFile, renderConfig(this.#config));
    this.#process = await startNatsServerProcess({
      binary: this.#binary,
      configFile: this.configFile,
      portsFileDir: this.#config.dir,
      name: `nats-server ${this.serverName}`,
      monitoring: true,
      startTimeoutMs: this.#timeoutMs,
      onStderr: (chunk) => {
        this.#log = (this.#log + chunk).slice(-maxLog);
        if (this.#config.debug) process.stderr.write(chunk);
      },
      onSpawn: (child) => {
        track(child, this.configFile, this.#config.dir);
      },
    });
    const { port, httpPort } = this.#process.ports;
    return { port, httpPort: httpPort ?? 0 };
  }

  stop(): Promise<void> {
    return this.#process?.stop() ?? Promise.resolve();
  }

  kill(): Promise<void> {
    return this.#process?.kill() ?? Promise.resolve();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.#launch();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#disposed = true;
    await this.stop();
    await rm(this.#config.dir, { recursive: true, force: true });
  }
}

/** A server given by `NATS_URL`: usable, not manageable. */
class UrlServer implements NatsServerHandle {
  readonly mode = 'url' as const;
  readonly url: string;
  readonly port: number;
  readonly monitorUrl = undefined;
  readonly clusterPort = undefined;
  readonly serverName = 'NATS_URL';
  readonly running = true;

  constructor(natsUrl: string) {
    const first = natsUrl.split(',')[0]?.trim() ?? '';
    this.url = first;
    this.port = Number(new URL(first.includes('://') ? first : `nats://${first}`).port || 4222);
  }
  get dir(): string {
    throw modeError(this.mode, 'a server directory');
  }
  get storeDir(): string {
    throw modeError(this.mode, 'a store directory');
  }
  get configFile(): string {
    throw modeError(this.mode, 'a config file');
  }
  get pid(): number {
    throw modeError(this.mode, 'a server pid');
  }
  logs(): string {
    return '';
  }
  stop(): Promise<void> {
    return Promise.reject(modeError(this.mode, 'stopping the server'));
  }
  kill(): Promise<void> {
    return Promise.reject(modeError(this.mode, 'killing the server'));
  }
  restart(): Promise<void> {
    return Promise.reject(modeError(this.mode, 'restarting the server'));
  }
  [Symbol.asyncDispose](): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Starts a nats-server for a test: by default a local process with JetStream on random
 * ports and a temp store (see `testNatsMode` for the other modes).
 *
 * @example
 * ```ts
 * await using server = await startServer();
 * const nc = await connect({ servers: server.url });
 * ```
 */
export async function startServer(options: StartServerOptions = {}): Promise<NatsServerHandle> {
  const mode = testNatsMode();
  if (mode === 'url') {
    if (options.config !== undefined)
      throw modeError(mode, 'a server with its own configuration (options.config)');
    return new UrlServer(process.env['NATS_URL'] ?? '');
  }
  if (mode === 'container') {
    const { startContainerServer } = await import('./container.ts');
    return startContainerServer(options);
  }
  return LocalServer.start(options);
}
