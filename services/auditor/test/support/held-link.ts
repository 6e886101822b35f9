import { createServer, connect as tcpConnect, type AddressInfo, type Socket } from 'node:net';

/**
 * A TCP relay between a client and a nats-server that can hold what the client sends: held
 * bytes reach the server, in order, only when released; what the server sends passes at
 * once. With it a test makes the server receive, and store, a write the client has already
 * given up on.
 */
export interface HeldLink extends AsyncDisposable {
  /** Where the client connects instead of the server. */
  readonly url: string;
  /**
   * From now on keeps what the client sends; with `after`, from just after the first chunk
   * the client sends that holds this text (which itself passes).
   */
  hold(after?: string): void;
  /** Sends what was held, in order, and lets everything through again. */
  release(): void;
  /** What was held so far, as text (NATS protocol lines and payloads). */
  held(): string;
}

/** A `HeldLink` to the server at `serverUrl` (`nats://host:port`), passing everything until `hold`. */
export async function heldLink(serverUrl: string): Promise<HeldLink> {
  const target = new URL(serverUrl);
  let holding = false;
  let holdAfter: string | undefined;
  const queue: { to: Socket; chunk: Buffer }[] = [];
  const sockets = new Set<Socket>();
  const relay = createServer((client) => {
    const upstream = tcpConnect({ host: target.hostname, port: Number(target.port) });
    sockets.add(client);
    sockets.add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('close', () => {
        sockets.delete(socket);
        end();
      });
      socket.on('error', end);
    }
    client.on('data', (chunk: Buffer) => {
      if (holding) queue.push({ to: upstream, chunk });
      else {
        upstream.write(chunk);
        if (holdAfter !== undefined && chunk.toString('latin1').includes(holdAfter)) {
          holdAfter = undefined;
          holding = true;
        }
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      client.write(chunk);
    });
  });
  await new Promise<void>((resolve, reject) => {
    relay.once('error', reject);
    relay.listen(0, '127.0.0.1', resolve);
  });
  const { port } = relay.address() as AddressInfo;
  return {
    url: `nats://127.0.0.1:${String(port)}`,
    hold(after) {
      if (after === undefined) holding = true;
      else holdAfter = after;
    },
    release() {
      holding = false;
      holdAfter = undefined;
      for (const { to, chunk } of queue.splice(0)) to.write(chunk);
    },
    held() {
      return Buffer.concat(queue.map((q) => q.chunk)).toString('latin1');
    },
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => {
        relay.close(() => {
          resolve();
        });
      });
    },
  };
}
