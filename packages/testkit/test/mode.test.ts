import { connect } from '@nats-io/transport-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startCluster, startServer, testNatsMode } from '../src/index.ts';

describe('testNatsMode', () => {
  it.each([
    [{}, 'local'],
    [{ MOSAIC_TEST_NATS: '' }, 'local'],
    [{ MOSAIC_TEST_NATS: 'local', NATS_URL: 'nats://h:4222' }, 'local'],
    [{ NATS_URL: 'nats://h:4222' }, 'url'],
    [{ MOSAIC_TEST_NATS: 'url', NATS_URL: 'nats://h:4222' }, 'url'],
    [{ MOSAIC_TEST_NATS: 'container' }, 'container'],
    [{ MOSAIC_TEST_NATS: 'container', NATS_URL: 'nats://h:4222' }, 'container'],
  ] as const)('reads %j as %s', (env, mode) => {
    expect(testNatsMode(env)).toBe(mode);
  });

  it.each([[{ MOSAIC_TEST_NATS: 'url' }], [{ MOSAIC_TEST_NATS: 'docker' }]])(
    'refuses %j with ERR_TESTKIT_MODE',
    (env) => {
      expect(() => testNatsMode(env)).toThrow(
        expect.objectContaining({ code: 'ERR_TESTKIT_MODE' }),
      );
    },
  );
});

async function expectModeError(operation: Promise<unknown>): Promise<void> {
  const err = await operation.then(
    () => new Error('expected ERR_TESTKIT_MODE'),
    (e: unknown) => e,
  );
  expect(err).toMatchObject({ code: 'ERR_TESTKIT_MODE' });
  expect((err as Error).message).toContain('run with MOSAIC_TEST_NATS=local');
}

describe.skipIf(testNatsMode() !== 'local')('url mode', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('uses the server at NATS_URL and refuses to manage it', async () => {
    await using real = await startServer({ jetstream: false });
    vi.stubEnv('MOSAIC_TEST_NATS', '');
    vi.stubEnv('NATS_URL', real.url);
    await using server = await startServer();
    expect(server.mode).toBe('url');
    expect(server.url).toBe(real.url);
    expect(server.port).toBe(real.port);
    const nc = await connect({ servers: server.url });
    await nc.flush();
    await nc.close();
    await expectModeError(server.stop());
    await expectModeError(server.kill());
    await expectModeError(server.restart());
    await expectModeError(Promise.resolve().then(() => server.pid));
    await expectModeError(startCluster(3));
    await expectModeError(startServer({ config: 'debug: true' }));
    // Disposing the handle leaves the real server alone.
    await server[Symbol.asyncDispose]();
    expect(real.running).toBe(true);
  });
});
