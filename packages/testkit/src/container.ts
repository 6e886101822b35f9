import type { StartedTestContainer } from 'testcontainers';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { modeError } from './mode.ts';
import type { NatsServerHandle, StartServerOptions } from './server.ts';

/** The image used by `MOSAIC_TEST_NATS=container`. */
const natsImage = 'nats:2.11';

/** A nats-server in a container (testcontainers). Loaded only in container mode. */
class ContainerServer implements NatsServerHandle {
  readonly mode = 'container' as const;
  readonly url: string;
  readonly port: number;
  readonly monitorUrl: string;
  readonly clusterPort = undefined;
  readonly serverName: string;
  readonly #container: StartedTestContainer;
  #running = true;

  constructor(container: StartedTestContainer, serverName: string) {
    this.#container = container;
    this.serverName = serverName;
    this.port = container.getMappedPort(4222);
    this.url = `nats://${container.getHost()}:${this.port}`;
    this.monitorUrl = `http://${container.getHost()}:${container.getMappedPort(8222)}`;
  }
  get running(): boolean {
    return this.#running;
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
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    await this.#container.stop();
  }
  kill(): Promise<void> {
    return Promise.reject(modeError(this.mode, 'killing the server'));
  }
  restart(): Promise<void> {
    // Docker may map different host ports after a restart, so clients could not reconnect.
    return Promise.reject(modeError(this.mode, 'restarting the server'));
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

export async function startContainerServer(options: StartServerOptions): Promise<NatsServerHandle> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const serverName = options.serverName ?? 'mosaic-container';
  const config = [
    `server_name: ${JSON.stringify(serverName)}`,
    'port: 4222',
    'http_port: 8222',
    ...(options.jetstream === false
      ? []
      : [
          `jetstream { store_dir: "/data"${options.syncAlways === true ? ', sync_interval: always' : ''} }`,
        ]),
    ...(options.debug === true ? ['debug: true'] : []),
    options.config ?? '',
  ].join('\n');
  try {
    const container = await new GenericContainer(natsImage)
      .withCopyContentToContainer([{ content: config, target: '/etc/nats/mosaic.conf' }])
      .withCommand(['-c', '/etc/nats/mosaic.conf'])
      .withExposedPorts(4222, 8222)
      .withWaitStrategy(Wait.forHttp('/healthz', 8222).forStatusCode(200))
      .withStartupTimeout(options.startTimeoutMs ?? 60_000)
      .start();
    return new ContainerServer(container, serverName);
  } catch (err) {
    throw new MosaicError(
      ErrorCode.NatsServerStart,
      `cannot start a ${natsImage} container (MOSAIC_TEST_NATS=container needs a Docker engine): ${err instanceof Error ? err.message : String(err)}`,
      { cause: err, details: { stderr: '' } },
    );
  }
}
