import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { canConnect, httpGet, waitFor } from './wait.ts';

/** Options of `startNatsServerProcess`. */
export interface StartNatsServerProcessOptions {
  /** The nats-server binary, e.g. `(await ensureNatsServer()).path`. */
  binary: string;
  /** The configuration file (`nats-server -c <configFile>`). */
  configFile: string;
  /** The `ports_file_dir` the configuration names: where the server writes its ports file. */
  portsFileDir: string;
  /** Names the server in messages. Default: the config file. */
  name?: string;
  /**
   * The configuration has an `http_port`: wait for its ports too and until `/healthz`
   * answers 200 (JetStream ready). Default false: the client port answering is enough.
   */
  monitoring?: boolean;
  /** How long the start may take. Default 30 s. */
  startTimeoutMs?: number;
  /** Called with every chunk the server writes to stderr (its log). */
  onStderr?: (chunk: string) => void;
  /** Called right after the spawn, before waiting: e.g. to register the pid for clean-up. */
  onSpawn?: (child: ChildProcess) => void;
  /**
   * Run the server in a session and process group of its own, so that a terminal's Ctrl-C
   * (SIGINT to the whole foreground group) or hang-up reaches only the parent, which can
   * stop its clients first and then the server. Default false: the server shares the
   * parent's group and dies with it on Ctrl-C.
   */
  ownProcessGroup?: boolean;
  /**
   * The address the configuration listens on, where readiness is checked and `url` points.
   * Default `127.0.0.1`.
   */
  host?: string;
  /**
   * Start the server through this command, which must exec it (the pid stays the
   * server's), e.g. `{ file: ip, args: ['netns', 'exec', '<namespace>'] }`: it is run as
   * `<file> <args…> <binary> -c <configFile>` with `env` added to the environment.
   */
  launcher?: { file: string; args: readonly string[]; env?: Record<string, string> };
}

/** The ports a running server listens on, read from its ports file. */
export interface NatsServerPorts {
  port: number;
  /** Set when the configuration has an `http_port`. */
  httpPort: number | undefined;
}

/** A running nats-server child process. Dispose it to stop it (SIGTERM, then wait). */
export interface NatsServerProcess extends AsyncDisposable {
  readonly pid: number;
  readonly ports: NatsServerPorts;
  /** `nats://<host>:<port>`. */
  readonly url: string;
  readonly running: boolean;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  /** What the server wrote to stderr so far (the last 256 KiB). */
  logs(): string;
  /**
   * Re-reads the configuration file (SIGHUP) and resolves once the server logged that it
   * applied it; throws ERR_NATS_SERVER_START with the server's reason when it refused it.
   */
  reload(timeoutMs?: number): Promise<void>;
  /** SIGTERM, then wait for the exit (SIGKILL after `graceMs`, default 20 s). */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL, then wait for the exit. */
  kill(): Promise<void>;
}

const maxLog = 256 * 1024;

function startError(message: string, stderr: string, details: object = {}): MosaicError {
  return new MosaicError(ErrorCode.NatsServerStart, message, { details: { ...details, stderr } });
}

function lastLines(text: string, n = 5): string {
  return text.trim().split('\n').slice(-n).join('\n');
}

function portOf(url: string | undefined): number | undefined {
  if (url === undefined) return undefined;
  const port = Number(new URL(url).port);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

async function readPorts(file: string, monitoring: boolean): Promise<NatsServerPorts | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return undefined;
    throw err;
  }
  let parsed: { nats?: string[]; monitoring?: string[] };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch (err) {
    // Read while being written: try again on the next poll.
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
  const port = portOf(parsed.nats?.[0]);
  const httpPort = portOf(parsed.monitoring?.[0]);
  if (port === undefined || (monitoring && httpPort === undefined)) return undefined;
  return { port, httpPort };
}

class ServerProcess implements NatsServerProcess {
  readonly #child: ChildProcess;
  readonly #name: string;
  readonly #host: string;
  readonly exited: Promise<void>;
  #log = '';
  #ports: NatsServerPorts | undefined;

  constructor(child: ChildProcess, name: string, host: string, onStderr?: (chunk: string) => void) {
    this.#child = child;
    this.#name = name;
    this.#host = host;
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        resolve();
      }),
    );
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.#log = (this.#log + chunk).slice(-maxLog);
      onStderr?.(chunk);
    });
  }

  get pid(): number {
    return this.#child.pid ?? 0;
  }
  get ports(): NatsServerPorts {
    if (this.#ports === undefined)
      throw new MosaicError(ErrorCode.NatsServerStart, `${this.#name} is not ready`);
    return this.#ports;
  }
  set ports(ports: NatsServerPorts) {
    this.#ports = ports;
  }
  get url(): string {
    return `nats://${this.#host}:${this.ports.port}`;
  }
  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }
  logs(): string {
    return this.#log;
  }

  async reload(timeoutMs = 10_000): Promise<void> {
    if (!this.running)
      throw startError(`${this.#name} is not running: cannot reload it`, this.#log);
    // Only what the server logs after the signal counts.
    let seen = '';
    const onData = (chunk: string): void => {
      seen += chunk;
    };
    this.#child.stderr?.on('data', onData);
    try {
      this.#child.kill('SIGHUP');
      await waitFor(
        `${this.#name} configuration reload`,
        (note) => {
          const failed = /Failed to reload server configuration: (.*)/.exec(seen);
          if (failed !== null)
            throw startError(
              `${this.#name} refused the new configuration: ${failed[1] ?? ''}`,
              this.#log,
            );
          if (/Reloaded server configuration/.test(seen)) return Promise.resolve(true);
          if (!this.running) throw startError(`${this.#name} exited during a reload`, this.#log);
          note('not reloaded yet');
          return Promise.resolve(undefined);
        },
        { timeoutMs, onTimeout: (message) => startError(message, this.#log) },
      );
    } finally {
      this.#child.stderr?.off('data', onData);
    }
  }

  async #signal(signal: NodeJS.Signals, graceMs: number): Promise<void> {
    if (!this.running) return this.exited;
    this.#child.kill(signal);
    const timer = { id: undefined as NodeJS.Timeout | undefined };
    const timedOut = new Promise<boolean>((resolve) => {
      timer.id = setTimeout(() => {
        resolve(true);
      }, graceMs);
    });
    const late = await Promise.race([this.exited.then(() => false), timedOut]);
    clearTimeout(timer.id);
    if (late) {
      this.#child.kill('SIGKILL');
      await this.exited;
    }
  }

  stop(graceMs = 20_000): Promise<void> {
    return this.#signal('SIGTERM', graceMs);
  }

  kill(): Promise<void> {
    return this.#signal('SIGKILL', 20_000);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/**
 * Starts `nats-server -c <configFile>` and resolves once it serves clients: its ports file
 * exists, the client port accepts connections and, with `monitoring`, `/healthz` says ok.
 * The server's log (stderr) is collected. Throws ERR_NATS_SERVER_START, with the log in
 * `details.stderr`, when it cannot be spawned, exits or is not ready in time; the process
 * is then killed.
 *
 * @example
 * ```ts
 * const { path } = await ensureNatsServer();
 * await using server = await startNatsServerProcess({ binary: path, configFile, portsFileDir: dir });
 * const nc = await connect({ servers: server.url });
 * ```
 */
export async function startNatsServerProcess(
  options: StartNatsServerProcessOptions,
): Promise<NatsServerProcess> {
  const name = options.name ?? `nats-server (${options.configFile})`;
  const monitoring = options.monitoring ?? false;
  const host = options.host ?? '127.0.0.1';
  const launcher = options.launcher;
  const args = ['-c', options.configFile];
  const child = spawn(
    launcher?.file ?? options.binary,
    launcher === undefined ? args : [...launcher.args, options.binary, ...args],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: options.ownProcessGroup ?? false,
      ...(launcher?.env === undefined ? {} : { env: { ...process.env, ...launcher.env } }),
    },
  );
  const spawnFailed = new Promise<Error>((resolve) => child.once('error', resolve));
  const server = new ServerProcess(child, name, host, options.onStderr);
  const pid = child.pid;
  if (pid === undefined) {
    const err = await spawnFailed;
    throw startError(`cannot start ${options.binary}: ${err.message}`, server.logs());
  }
  const portsFile = join(options.portsFileDir, `${basename(options.binary)}_${pid}.ports`);
  try {
    options.onSpawn?.(child);
    server.ports = await waitFor(
      `${name} (pid ${pid}) ready`,
      async (note) => {
        if (!server.running) {
          throw startError(
            `${name} exited during start-up (${String(child.exitCode ?? child.signalCode)}): ` +
              lastLines(server.logs()),
            server.logs(),
            { exitCode: child.exitCode, signal: child.signalCode },
          );
        }
        const ports = await readPorts(portsFile, monitoring);
        if (ports === undefined) {
          note('no ports file yet');
          return undefined;
        }
        if (!(await canConnect(ports.port, host))) {
          note(`client port ${ports.port} closed`);
          return undefined;
        }
        if (monitoring) {
          const health = await httpGet(`http://${host}:${String(ports.httpPort)}/healthz`);
          if (health?.status !== 200) {
            note(`healthz: ${health?.body.trim() ?? 'no answer'}`);
            return undefined;
          }
        }
        return ports;
      },
      {
        timeoutMs: options.startTimeoutMs ?? 30_000,
        onTimeout: (message) =>
          startError(message, server.logs(), { configFile: options.configFile }),
      },
    );
    return server;
  } catch (err) {
    await server.kill();
    throw err;
  }
}
