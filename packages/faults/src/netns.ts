import { execFile, execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { promisify } from 'node:util';
import { debianTools, ensureDebianTool, type DebianTool } from '@mosaic/debian';
import { ErrorCode, MosaicError } from '@mosaic/errors';

const exec = promisify(execFile);

/** Every name a network of this suite creates starts with `mosaic-` and six hex digits. */
const namePattern = /^mosaic-[0-9a-f]{6}$/;

/** An IPv4 address as a 32-bit number. */
function ipv4(address: string): number | undefined {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    return undefined;
  return parts.reduce((n, p) => n * 256 + p, 0);
}

/** Whether two IPv4 prefixes share an address. */
export function overlaps(a: string, b: string): boolean {
  const [aAddr = '', aLen = '32'] = a.split('/');
  const [bAddr = '', bLen = '32'] = b.split('/');
  const x = ipv4(aAddr);
  const y = ipv4(bAddr);
  if (x === undefined || y === undefined) return false;
  const len = Math.min(Number(aLen), Number(bLen));
  const size = 2 ** (32 - len);
  return Math.floor(x / size) === Math.floor(y / size);
}

/** `ip -j …` output (empty when there is nothing to list). */
function parseJson<T>(stdout: string): T[] {
  const text = stdout.trim();
  return text === '' ? [] : (JSON.parse(text) as T[]);
}

/** Networks that exist in this process: torn down on SIGINT, SIGTERM, SIGHUP and exit. */
const live = new Set<NodeNetwork>();
const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function onSignal(signal: NodeJS.Signals): void {
  for (const network of live) network.destroySync();
  for (const s of signals) process.off(s, onSignal);
  process.off('exit', onExit);
  // Nobody else listens: the signal's default action (the process ends with it).
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function onExit(): void {
  for (const network of live) network.destroySync();
}

function track(network: NodeNetwork): void {
  if (live.size === 0) {
    for (const s of signals) process.on(s, onSignal);
    process.on('exit', onExit);
  }
  live.add(network);
}

function untrack(network: NodeNetwork): void {
  live.delete(network);
  if (live.size === 0) {
    for (const s of signals) process.off(s, onSignal);
    process.off('exit', onExit);
  }
}

/**
 * The network the nodes of a partitionable cluster live in: one network namespace per node
 * (`mosaic-<id>-n<i>`), each with a veth pair whose root end (`mosaic-<id>-<i>`) joins a
 * bridge in the root namespace (`mosaic-<id>`) carrying the first address of a private /24
 * picked per run. The services and clients stay in the root namespace and reach the nodes
 * at their addresses. `cut(i)` takes a node's link down, so it is cut off from the other
 * nodes and from every client; `heal(i)` brings it back. `destroy()` (also on SIGINT,
 * SIGTERM, SIGHUP and exit) ends what still runs in the namespaces and deletes the
 * namespaces, veths and bridge this network created, and nothing else: every name carries a
 * random id checked to be unused.
 */
export class NodeNetwork implements AsyncDisposable {
  /** `mosaic-<id>`: the bridge's name and the start of every name this network created. */
  readonly prefix: string;
  /** The /24 in use, e.g. `10.213.7.0/24`. */
  readonly subnet: string;
  /** Per node: its address. */
  readonly hosts: readonly string[];
  /** Per node: its namespace. */
  readonly namespaces: readonly string[];
  /** Per node: the root end of its veth pair (the link `cut` takes down). */
  readonly links: readonly string[];
  readonly #ip: DebianTool;
  readonly #cut = new Set<number>();
  #destroyed = false;

  private constructor(ip: DebianTool, id: string, base: string, count: number) {
    this.#ip = ip;
    this.prefix = `mosaic-${id}`;
    this.subnet = `${base}.0/24`;
    const nodes = Array.from({ length: count }, (_, i) => i + 1);
    this.hosts = nodes.map((n) => `${base}.${String(10 + n)}`);
    this.namespaces = nodes.map((n) => `${this.prefix}-n${String(n)}`);
    this.links = nodes.map((n) => `${this.prefix}-${String(n)}`);
  }

  /**
   * Creates the namespaces, veth pairs and bridge for `count` nodes. Needs root (or
   * CAP_NET_ADMIN and CAP_SYS_ADMIN): otherwise, or when `ip` fails, throws
   * ERR_NETWORK_NAMESPACE naming the command, after removing what it had created.
   */
  static async create(count: number): Promise<NodeNetwork> {
    if (!Number.isInteger(count) || count < 1 || count > 9)
      throw new MosaicError(ErrorCode.Internal, `1 to 9 nodes, not ${String(count)}`);
    const ip = await ensureDebianTool(debianTools.ip);
    const run = async (args: string[]): Promise<string> => ipCommand(ip, args);
    const taken = new Set(await names(ip));
    const routes = [
      ...parseJson<{ dst?: string }>(await run(['-j', 'route', 'show', 'table', 'all'])).map(
        (r) => r.dst ?? '',
      ),
      ...parseJson<{ addr_info?: { family?: string; local?: string; prefixlen?: number }[] }>(
        await run(['-j', 'addr', 'show']),
      ).flatMap((l) =>
        (l.addr_info ?? [])
          .filter((a) => a.family === 'inet')
          .map((a) => `${a.local ?? ''}/${String(a.prefixlen ?? 32)}`),
      ),
    ].filter((r) => r.includes('.'));
    let network: NodeNetwork | undefined;
    for (let attempt = 0; attempt < 50 && network === undefined; attempt++) {
      const id = randomBytes(3).toString('hex');
      const base = `10.${String(randomInt(200, 255))}.${String(randomInt(0, 256))}`;
      const prefix = `mosaic-${id}`;
      if ([...taken].some((n) => n.startsWith(prefix))) continue;
      if (routes.some((r) => overlaps(r, `${base}.0/24`))) continue;
      network = new NodeNetwork(ip, id, base, count);
    }
    if (network === undefined)
      throw new MosaicError(ErrorCode.NetworkNamespace, 'no free name and /24 in 50 attempts');
    track(network);
    try {
      await network.#build();
    } catch (err) {
      await network.destroy();
      throw err;
    }
    return network;
  }

  async #build(): Promise<void> {
    const bridge = this.prefix;
    const gateway = this.subnet.replace(/\.0\/24$/, '.1/24');
    await this.#run(['link', 'add', bridge, 'type', 'bridge']);
    await this.#run(['addr', 'add', gateway, 'dev', bridge]);
    await this.#run(['link', 'set', bridge, 'up']);
    for (const [i, ns] of this.namespaces.entries()) {
      const link = this.links[i] ?? '';
      await this.#run(['netns', 'add', ns]);
      await this.#run(['link', 'add', link, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      await this.#run(['link', 'set', link, 'master', bridge, 'up']);
      await this.#run(['-n', ns, 'addr', 'add', `${this.hosts[i] ?? ''}/24`, 'dev', 'eth0']);
      await this.#run(['-n', ns, 'link', 'set', 'eth0', 'up']);
      await this.#run(['-n', ns, 'link', 'set', 'lo', 'up']);
    }
  }

  #run(args: string[]): Promise<string> {
    return ipCommand(this.#ip, args);
  }

  /** How to start a node's process inside its namespace (`ip netns exec` execs it). */
  launcher(index: number): { file: string; args: string[]; env: Record<string, string> } {
    const ns = this.namespaces[index];
    if (ns === undefined) throw new MosaicError(ErrorCode.Internal, `no node ${String(index)}`);
    return { file: this.#ip.path, args: ['netns', 'exec', ns], env: this.#ip.env };
  }

  /** Takes node `index`'s link down: it reaches neither the other nodes nor any client. */
  async cut(index: number): Promise<void> {
    await this.#run(['link', 'set', this.links[index] ?? '', 'down']);
    this.#cut.add(index);
  }

  /** Brings node `index`'s link back up. */
  async heal(index: number): Promise<void> {
    await this.#run(['link', 'set', this.links[index] ?? '', 'up']);
    this.#cut.delete(index);
  }

  /** The nodes cut off now. */
  get cutOff(): number[] {
    return [...this.#cut];
  }

  /** What `destroy` runs, in order; every step may find its object already gone. */
  #teardown(): string[][] {
    return [
      ...this.links.map((l) => ['link', 'del', l]),
      ...this.namespaces.map((ns) => ['netns', 'del', ns]),
      ['link', 'del', this.prefix],
    ];
  }

  /** SIGKILLs what still runs in the namespaces (a process outlives its namespace's name). */
  #killSync(pids: string): void {
    for (const pid of pids.split(/\s+/).filter((p) => /^\d+$/.test(p)))
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch (err) {
        if (!(err instanceof Error && 'code' in err && err.code === 'ESRCH')) throw err;
      }
  }

  /** Ends what runs in the namespaces and deletes the namespaces, veths and bridge. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    const existing = new Set(await names(this.#ip));
    for (const ns of this.namespaces)
      if (existing.has(ns)) this.#killSync(await this.#run(['netns', 'pids', ns]).catch(() => ''));
    for (const args of this.#teardown()) if (existing.has(args[2] ?? '')) await this.#run(args);
    this.#destroyed = true;
    untrack(this);
  }

  /** `destroy`, synchronously: for signal and exit handlers. Never throws. */
  destroySync(): void {
    if (this.#destroyed) return;
    const run = (args: string[]): string => {
      try {
        return execFileSync(this.#ip.path, args, {
          env: { ...process.env, ...this.#ip.env },
          stdio: ['ignore', 'pipe', 'ignore'],
          encoding: 'utf8',
        });
      } catch {
        return '';
      }
    };
    for (const ns of this.namespaces) this.#killSync(run(['netns', 'pids', ns]));
    for (const args of this.#teardown()) run(args);
    this.#destroyed = true;
    untrack(this);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.destroy();
  }
}

async function ipCommand(ip: DebianTool, args: string[]): Promise<string> {
  try {
    const { stdout } = await exec(ip.path, args, {
      env: { ...process.env, ...ip.env },
      timeout: 30_000,
    });
    return stdout;
  } catch (err) {
    const stderr =
      err instanceof Error && 'stderr' in err ? String(err.stderr).trim() : String(err);
    const uid = process.getuid?.();
    throw new MosaicError(
      ErrorCode.NetworkNamespace,
      `ip ${args.join(' ')} failed: ${stderr}. The partition fault puts each node in a network namespace of its own, which needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN)${uid === 0 || uid === undefined ? '' : `; this process runs as uid ${String(uid)}: run it as root, e.g. sudo npm run faults -- --only=F4`}`,
      { details: { command: [ip.path, ...args], stderr }, cause: err },
    );
  }
}

/** The network namespaces and links in the root namespace that belong to this suite. */
async function names(ip: DebianTool): Promise<string[]> {
  const namespaces = parseJson<{ name?: string }>(await ipCommand(ip, ['-j', 'netns', 'list']));
  const links = parseJson<{ ifname?: string }>(await ipCommand(ip, ['-j', 'link', 'show']));
  return [...namespaces.map((n) => n.name ?? ''), ...links.map((l) => l.ifname ?? '')].filter((n) =>
    n.startsWith('mosaic-'),
  );
}

/** Network namespaces and links whose names start with `prefix` (e.g. after a run). */
export async function networkLeftovers(prefix: string): Promise<string[]> {
  if (!namePattern.test(prefix))
    throw new MosaicError(ErrorCode.Internal, `not a network prefix: ${prefix}`);
  const ip = await ensureDebianTool(debianTools.ip);
  return (await names(ip)).filter((n) => n.startsWith(prefix));
}
