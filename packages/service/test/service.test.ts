import { Writable } from 'node:stream';
import { createLogger } from '@mosaic/log';
import { startServer } from '@mosaic/testkit';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { drainSubscription, serviceHandle, serviceLogger } from '../src/index.ts';

describe('serviceHandle', () => {
  it('runs the drain once: stop twice and dispose return the same promise', async () => {
    let drains = 0;
    const handle = serviceHandle(
      async () => {
        drains++;
        await Promise.resolve();
      },
      { size: () => 3 },
    );
    const first = handle.stop();
    expect(handle.stop()).toBe(first);
    expect(handle[Symbol.asyncDispose]()).toBe(first);
    await first;
    expect(handle.stop()).toBe(first);
    expect(drains).toBe(1);
    expect(handle.size()).toBe(3);
  });

  it('await using stops the service at the end of the block', async () => {
    let stopped = false;
    {
      await using service = serviceHandle(async () => {
        await Promise.resolve();
        stopped = true;
      });
      expect(service).toHaveProperty('stop');
      expect(stopped).toBe(false);
    }
    expect(stopped).toBe(true);
  });
});

describe('serviceLogger', () => {
  function parent(service?: string) {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        for (const line of chunk.toString('utf8').split('\n'))
          if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
        callback();
      },
    });
    const root = createLogger({ service: service ?? 'x', pretty: false, destination });
    return { log: service === undefined ? root.child({}, {}) : root, lines };
  }

  it('names the service once: service, or component under another service', () => {
    const own = parent('ingest');
    expect(serviceLogger('ingest', own.log)).toBe(own.log);
    const hub = parent('hub');
    serviceLogger('router', hub.log).info('hello');
    expect(hub.lines).toEqual([
      expect.objectContaining({ service: 'hub', component: 'router', msg: 'hello' }),
    ]);
  });

  it('without a parent, a root logger of the service', () => {
    expect(serviceLogger('auditor').bindings()).toEqual({ service: 'auditor' });
  });
});

describe('drainSubscription', () => {
  it('messages already sent are handled before it resolves; on a closed connection it only unsubscribes', async () => {
    await using server = await startServer({ jetstream: false });
    const nc = await connect({ servers: server.url });
    const sub = nc.subscribe('work');
    const seen: string[] = [];
    const loop = (async () => {
      for await (const m of sub) {
        await new Promise((resolve) => setImmediate(resolve));
        seen.push(m.string());
      }
    })();
    const pub = await connect({ servers: server.url });
    for (let i = 0; i < 50; i++) pub.publish('work', String(i));
    await pub.flush();
    await nc.flush();
    await drainSubscription(nc, sub);
    await loop;
    expect(seen).toHaveLength(50);
    await pub.close();

    const closedSub = nc.subscribe('later');
    await nc.close();
    // Draining needs the connection: it would fail where unsubscribing does not.
    await expect(closedSub.drain()).rejects.toThrow();
    await expect(drainSubscription(nc, closedSub)).resolves.toBeUndefined();
  });
});
