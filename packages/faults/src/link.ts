import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { freePorts } from '@mosaic/testkit';

/**
 * How a slowed link behaves, in each direction: every byte arrives `delayMs` later than it
 * was sent, and no faster than `bitsPerSecond` (bytes queue behind each other, as on a
 * narrow line). This kernel has no `netem` qdisc, so the leaf link is slowed here, in user
 * space, between the leaf node and the hub's leafnode ports.
 */
export interface LinkShape {
  delayMs: number;
  bitsPerSecond: number;
}

/** Bytes relayed, per direction. */
export interface LinkCounters {
  /** Leaf to hub. */
  up: number;
  /** Hub to leaf. */
  down: number;
  /** Connections accepted (the leaf reconnecting counts each time). */
  connections: number;
}

/** What one direction may hold before the sender is paused (TCP back-pressure). */
const HIGH_WATER = 64 * 1024;
/** A shaped chunk is sent in pieces of this size, so the rate is smooth. */
const PIECE = 1_460;

/** One direction of one relayed connection: forwards now, or delayed and rate-limited. */
class Pipe {
  readonly #from: Socket;
  readonly #to: Socket;
  readonly #shape: () => LinkShape | undefined;
  readonly #count: (n: number) => void;
  readonly #queue: { chunk: Buffer; due: number }[] = [];
  #queued = 0;
  #busyUntil = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    from: Socket,
    to: Socket,
    shape: () => LinkShape | undefined,
    count: (n: number) => void,
  ) {
    this.#from = from;
    this.#to = to;
    this.#shape = shape;
    this.#count = count;
    from.on('data', (chunk: Buffer) => {
      this.#push(chunk);
    });
  }

  #push(chunk: Buffer): void {
    const shape = this.#shape();
    const now = Date.now();
    if (shape === undefined) {
      // Back to normal: what is still queued goes first, in order.
      if (this.#queue.length === 0) this.#write(chunk);
      else this.#enqueue(chunk, now);
      return;
    }
    for (let at = 0; at < chunk.length; at += PIECE) {
      const piece = chunk.subarray(at, at + PIECE);
      const start = Math.max(now, this.#busyUntil);
      this.#busyUntil = start + (piece.length * 8 * 1000) / shape.bitsPerSecond;
      this.#enqueue(piece, this.#busyUntil + shape.delayMs);
    }
  }

  #enqueue(chunk: Buffer, due: number): void {
    this.#queue.push({ chunk, due });
    this.#queued += chunk.length;
    if (this.#queued > HIGH_WATER) this.#from.pause();
    this.#schedule();
  }

  #write(chunk: Buffer): void {
    if (this.#to.destroyed) return;
    this.#to.write(chunk);
    this.#count(chunk.length);
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    const next = this.#queue[0];
    if (next === undefined) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#flush();
      },
      Math.max(0, next.due - Date.now()),
    );
  }

  #flush(): void {
    const now = this.#shape() === undefined ? Number.POSITIVE_INFINITY : Date.now();
    while (this.#queue[0] !== undefined && this.#queue[0].due <= now) {
      const { chunk } = this.#queue.shift() ?? { chunk: Buffer.alloc(0) };
      this.#queued -= chunk.length;
      this.#write(chunk);
    }
    if (this.#queued <= HIGH_WATER / 2 && this.#from.isPaused()) this.#from.resume();
    this.#schedule();
  }

  /** Sends what is queued now (the shape was lifted). */
  release(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#busyUntil = 0;
    this.#flush();
  }

  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** A hub node's leafnode listener (a node in a network namespace has an address of its own). */
export interface HostPort {
  host: string;
  port: number;
}

/**
 * The link between an agency's leaf node and the hub, as TCP relays the fault harness
 * controls: one listener per hub node's leafnode port (the leaf's remote lists them all).
 * `cut` closes every relayed connection and refuses new ones until `restore` (the line is
 * down, both servers keep running); `shape` slows it (delay and rate, both directions) until
 * `shape(undefined)`.
 */
export class LeafLink implements AsyncDisposable {
  /** The relay ports, in the order of the hub ports given. */
  readonly ports: readonly number[];
  readonly counters: LinkCounters = { up: 0, down: 0, connections: 0 };
  readonly #targets: readonly HostPort[];
  readonly #servers: (Server | undefined)[];
  readonly #sockets = new Set<Socket>();
  readonly #pipes = new Set<Pipe>();
  #shape: LinkShape | undefined;

  private constructor(targets: readonly HostPort[], ports: readonly number[]) {
    this.#targets = targets;
    this.ports = ports;
    this.#servers = targets.map(() => undefined);
  }

  /** Relays from a port on 127.0.0.1 to each of the hub's leafnode listeners. */
  static async start(hubLeaf: readonly HostPort[]): Promise<LeafLink> {
    const link = new LeafLink(hubLeaf, await freePorts(hubLeaf.length));
    await link.restore();
    return link;
  }

  get isCut(): boolean {
    return this.#servers.every((s) => s === undefined);
  }

  get currentShape(): LinkShape | undefined {
    return this.#shape;
  }

  #relay(client: Socket, target: HostPort): void {
    this.counters.connections++;
    const upstream = tcpConnect(target.port, target.host);
    const pipes = [
      new Pipe(
        client,
        upstream,
        () => this.#shape,
        (n) => (this.counters.up += n),
      ),
      new Pipe(
        upstream,
        client,
        () => this.#shape,
        (n) => (this.counters.down += n),
      ),
    ];
    for (const pipe of pipes) this.#pipes.add(pipe);
    for (const sock of [client, upstream]) {
      this.#sockets.add(sock);
      sock.on('close', () => {
        this.#sockets.delete(sock);
        for (const pipe of pipes) {
          pipe.close();
          this.#pipes.delete(pipe);
        }
        client.destroy();
        upstream.destroy();
      });
      sock.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
  }

  /** Accepts connections again (on the same ports). */
  async restore(): Promise<void> {
    await Promise.all(
      this.#targets.map(async (target, i) => {
        if (this.#servers[i] !== undefined) return;
        const port = this.ports[i];
        if (port === undefined) throw new MosaicError(ErrorCode.Internal, 'no relay port');
        const server = createServer((client) => {
          this.#relay(client, target);
        });
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, '127.0.0.1', resolve);
        });
        this.#servers[i] = server;
      }),
    );
  }

  /** Closes every relayed connection and refuses new ones until `restore`. */
  async cut(): Promise<void> {
    const servers = this.#servers.splice(
      0,
      this.#servers.length,
      ...this.#targets.map(() => undefined),
    );
    for (const sock of this.#sockets) sock.destroy();
    this.#sockets.clear();
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s === undefined) resolve();
            else
              s.close(() => {
                resolve();
              });
          }),
      ),
    );
  }

  /** Slows the link (also the connections already open), or back to normal with `undefined`. */
  shape(shape: LinkShape | undefined): void {
    this.#shape = shape;
    if (shape === undefined) for (const pipe of this.#pipes) pipe.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#shape = undefined;
    for (const pipe of this.#pipes) pipe.close();
    await this.cut();
  }
}
