import { execFile, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { spawnReady } from '@mosaic/testkit';
import { describe, expect, it } from 'vitest';
import { NodeNetwork, networkLeftovers, overlaps } from '../src/netns.ts';

const exec = promisify(execFile);
const fixture = fileURLToPath(new URL('./fixtures/netns-child.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

const clientScript = (host: string, port: number): string =>
  `const s = require('node:net').connect(${String(port)}, '${host}');
   s.setTimeout(2000, () => process.exit(2));
   s.on('data', () => process.exit(0));
   s.on('error', () => process.exit(3));`;

/** Whether a TCP connection to host:port gets the server's greeting within 2 s. */
function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2_000, () => {
      done(false);
    });
    socket.on('data', () => {
      done(true);
    });
    socket.on('error', () => {
      done(false);
    });
  });
}

/** The same from inside a node's namespace. */
async function reachableFrom(
  network: NodeNetwork,
  index: number,
  host: string,
  port: number,
): Promise<boolean> {
  const { file, args, env } = network.launcher(index);
  return exec(file, [...args, process.execPath, '-e', clientScript(host, port)], {
    env: { ...process.env, ...env },
  }).then(
    () => true,
    () => false,
  );
}

/** Runs the fixture; resolves with the first line it prints. */
function startFixture(options: { uid?: number; gid?: number } = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
    }),
  );
  const line = new Promise<{ prefix?: string; code?: string; message?: string }>(
    (resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        const first = out.split('\n')[0];
        if (out.includes('\n') && first !== undefined) resolve(JSON.parse(first) as never);
      });
      void exited.then(({ code }) => {
        reject(new Error(`fixture exited (${String(code)}) before printing: ${stderr}`));
      });
    },
  );
  return { child, exited, line };
}

describe('node network (network namespaces)', () => {
  it('tells overlapping IPv4 prefixes apart', () => {
    expect(overlaps('10.213.7.0/24', '10.213.7.12/32')).toBe(true);
    expect(overlaps('10.0.0.0/8', '10.213.7.0/24')).toBe(true);
    expect(overlaps('10.213.8.0/24', '10.213.7.0/24')).toBe(false);
    expect(overlaps('192.0.2.2', '192.0.2.0/24')).toBe(true);
    expect(overlaps('default', '10.213.7.0/24')).toBe(false);
  });

  it('a node is reached from the root namespace and from another node; cut off, from neither; healed, again; destroyed, nothing of it remains', async () => {
    const network = await NodeNetwork.create(2);
    try {
      expect(network.prefix).toMatch(/^mosaic-[0-9a-f]{6}$/);
      expect(network.namespaces).toEqual([`${network.prefix}-n1`, `${network.prefix}-n2`]);
      const [host = ''] = network.hosts;
      const port = 4222;
      const { file, args, env } = network.launcher(0);
      // A server inside node 1's namespace (`ip netns exec` execs it: the pid is the server's).
      const server = await spawnReady(
        file,
        [
          ...args,
          process.execPath,
          '-e',
          `require('node:net').createServer((s) => s.end('hi\\n')).listen(${String(port)}, '${host}', () => console.log('listening'))`,
        ],
        { env, ready: /listening/ },
      );
      expect(await reachable(host, port)).toBe(true);
      expect(await reachableFrom(network, 1, host, port)).toBe(true);

      await network.cut(0);
      expect(network.cutOff).toEqual([0]);
      expect(await reachable(host, port)).toBe(false);
      expect(await reachableFrom(network, 1, host, port)).toBe(false);

      await network.heal(0);
      expect(network.cutOff).toEqual([]);
      await expect.poll(() => reachable(host, port), { timeout: 30_000, interval: 500 }).toBe(true);
      await expect
        .poll(() => reachableFrom(network, 1, host, port), { timeout: 30_000, interval: 500 })
        .toBe(true);

      // Destroy ends what still runs in the namespaces, then deletes them.
      await network.destroy();
      expect(await server.exited).toMatchObject({ signal: 'SIGKILL' });
      expect(await networkLeftovers(network.prefix)).toEqual([]);
    } finally {
      await network.destroy();
    }
  }, 120_000);

  it('SIGTERM to the process that created a network leaves none of its namespaces and links', async () => {
    const { child, exited, line } = startFixture();
    const { prefix = '' } = await line;
    expect(prefix).toMatch(/^mosaic-[0-9a-f]{6}$/);
    expect((await networkLeftovers(prefix)).sort()).toEqual(
      [prefix, `${prefix}-1`, `${prefix}-2`, `${prefix}-n1`, `${prefix}-n2`].sort(),
    );
    child.kill('SIGTERM');
    expect(await exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(await networkLeftovers(prefix)).toEqual([]);
  }, 120_000);

  it('without root, creating one fails with ERR_NETWORK_NAMESPACE saying what to do', async () => {
    // As root (CI, this machine) the fixture runs as nobody.
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const { exited, line } = startFixture(asNobody);
    const said = await line;
    expect(said.code).toBe('ERR_NETWORK_NAMESPACE');
    expect(said.message).toMatch(/needs root/);
    expect(said.message).toMatch(/sudo npm run faults -- --only=F4/);
    expect(await exited).toEqual({ code: 1, signal: null });
  }, 120_000);
});
