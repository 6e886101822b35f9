import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { isRunning, runDirEnv, startServer, testNatsMode } from '../src/index.ts';

const local = testNatsMode() === 'local';
const connections: NatsConnection[] = [];
afterEach(async () => {
  await Promise.all(connections.splice(0).map((nc) => nc.close()));
});

async function open(servers: string, extra: Parameters<typeof connect>[0] = {}) {
  const nc = await connect({ servers, ...extra });
  connections.push(nc);
  return nc;
}

/** Resolves on the connection's next status event of `type` (bounded by the test timeout). */
async function nextStatus(nc: NatsConnection, type: string): Promise<void> {
  for await (const status of nc.status()) if (status.type === type) return;
}

describe('startServer', () => {
  it('runs a JetStream server: create a stream, publish, read back', async () => {
    await using server = await startServer();
    expect(server.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    const nc = await open(server.url);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'], storage: 'file' });
    const js = jetstream(nc);
    const acks = [];
    for (let i = 0; i < 5; i++) acks.push(await js.publish(`orders.${i}`, `order ${i}`));
    expect(acks.map((a) => a.seq)).toEqual([1, 2, 3, 4, 5]);
    const msg = await jsm.streams.getMessage('ORDERS', { seq: 3 });
    expect(msg?.subject).toBe('orders.2');
    expect(msg?.string()).toBe('order 2');
    const consumer = await js.consumers.get('ORDERS');
    const read = await consumer.fetch({ max_messages: 5, expires: 2_000 });
    const seen: string[] = [];
    for await (const m of read) seen.push(m.string());
    expect(seen).toEqual(['order 0', 'order 1', 'order 2', 'order 3', 'order 4']);
  });

  it.skipIf(!local)('applies extra config: a user may publish only to a.>', async () => {
    await using server = await startServer({
      config: `authorization {
  users = [
    { user: admin, password: admin }
    { user: agency, password: secret, permissions: { publish: { allow: ["a.>"] }, subscribe: { allow: ["_INBOX.>", "a.>"] } } }
  ]
}`,
    });
    await expect(connect({ servers: server.url })).rejects.toThrow(/Authorization/i);
    const admin = await open(server.url, { user: 'admin', pass: 'admin' });
    const agency = await open(server.url, { user: 'agency', pass: 'secret' });

    const received: string[] = [];
    const sub = admin.subscribe('>', {
      callback: (_err, msg) => {
        received.push(msg.subject);
      },
    });
    await admin.flush();

    const violations: { operation: string; subject: string }[] = [];
    const watching = (async () => {
      for await (const status of agency.status()) {
        if (status.type === 'error' && status.error.name === 'PermissionViolationError') {
          const { operation, subject } = status.error as unknown as {
            operation: string;
            subject: string;
          };
          violations.push({ operation, subject });
          return;
        }
      }
    })();
    agency.publish('b.x', 'denied');
    agency.publish('a.x', 'allowed');
    await agency.flush();
    await watching;
    expect(violations).toEqual([{ operation: 'publish', subject: 'b.x' }]);
    // The allowed message went through; the denied one never reached a subscriber.
    await admin.flush();
    await expect.poll(() => received, { timeout: 5_000 }).toContain('a.x');
    expect(received).not.toContain('b.x');
    sub.unsubscribe();
  });

  it.skipIf(!local)('keeps a file-backed stream across a restart on the same port', async () => {
    await using server = await startServer();
    const { port, storeDir } = server;
    const firstPid = server.pid;
    const nc = await open(server.url, { maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'KEEP', subjects: ['keep.>'], storage: 'file' });
    const js = jetstream(nc);
    for (let i = 1; i <= 20; i++) await js.publish('keep.x', `m${i}`, { msgID: `id-${i}` });

    const reconnected = nextStatus(nc, 'reconnect');
    await server.restart();
    expect(server.pid).not.toBe(firstPid);
    expect(isRunning(firstPid)).toBe(false);
    expect(server.port).toBe(port);
    expect(server.storeDir).toBe(storeDir);

    // The same connection comes back on its own: the port did not change.
    await reconnected;
    const info = await jsm.streams.info('KEEP');
    expect(info.state.messages).toBe(20);
    const last = await jsm.streams.getMessage('KEEP', { last_by_subj: 'keep.x' });
    expect(last?.string()).toBe('m20');
    // A retried publish after the restart is still recognised as a duplicate.
    const dup = await js.publish('keep.x', 'm20', { msgID: 'id-20' });
    expect(dup.duplicate).toBe(true);
    expect(dup.seq).toBe(20);
  });
});

describe.skipIf(!local)('no server outlives its test', () => {
  it('is gone after `await using` disposes it, with its temp dir', async () => {
    let pid = 0;
    let dir = '';
    {
      await using server = await startServer();
      pid = server.pid;
      dir = server.dir;
      expect(isRunning(pid)).toBe(true);
      expect(existsSync(server.configFile)).toBe(true);
    }
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    expect(existsSync(dir)).toBe(false);
  });

  it('is gone after the test body throws', async () => {
    let pid = 0;
    const body = async () => {
      await using server = await startServer({ jetstream: false });
      pid = server.pid;
      throw new Error('test failed');
    };
    await expect(body()).rejects.toThrow('test failed');
    expect(pid).toBeGreaterThan(0);
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  });

  it('registers its pid in the run directory of the global setup while it runs', async () => {
    const runDir = process.env[runDirEnv];
    expect(runDir, 'global setup exports the run directory').toBeTruthy();
    let pidFile = '';
    {
      await using server = await startServer({ jetstream: false });
      pidFile = `${runDir}/nats-server-${server.pid}.json`;
      expect(JSON.parse(readFileSync(pidFile, 'utf8'))).toEqual({
        pid: server.pid,
        configFile: server.configFile,
        dir: server.dir,
      });
    }
    expect(readdirSync(runDir!)).not.toContain(pidFile.split('/').at(-1));
  });

  it('is killed, kill() waits for the exit, and a stopped server restarts', async () => {
    await using server = await startServer({ jetstream: false });
    const pid = server.pid;
    await server.kill();
    expect(server.running).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    await server.restart();
    expect(server.running).toBe(true);
    const nc = await open(server.url);
    await nc.flush();
  });

  it('reports a server that cannot start with ERR_NATS_SERVER_START and its stderr', async () => {
    const err = await startServer({ config: 'this is { not valid' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_NATS_SERVER_START' });
    expect((err as { details: { stderr: string } }).details.stderr).not.toBe('');
  });
});
