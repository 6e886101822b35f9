import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type Hub } from '@mosaic/hub';
import { createLogger } from '@mosaic/log';
import { connectOperator, waitForAgency } from '@mosaic/operator';
import { addBePolice } from './helpers.ts';

let dir: string;
let hub: Hub;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-agency-ready-'));
  hub = await startHub({
    dataDir: join(dir, 'data'),
    port: 0,
    log: createLogger({ service: 'hub', level: process.env['MOSAIC_LOG_LEVEL'] ?? 'silent' }),
  });
});

afterAll(async () => {
  await hub.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('waiting for an added agency', () => {
  it('asks again while JetStream does not answer in time, and resolves once it does', async () => {
    await addBePolice(dir, join(hub.contextsDir, 'operator.json'));
    await using op = await connectOperator(join(hub.contextsDir, 'operator.json'));
    // The server stopped for longer than a connect attempt (2 s) and a JetStream API request
    // (5 s) together: the wait's first look at the alerts consumer times out.
    process.kill(hub.serverPid, 'SIGSTOP');
    const resumed = new Promise<void>((resolve) =>
      setTimeout(() => {
        process.kill(hub.serverPid, 'SIGCONT');
        resolve();
      }, 8_000),
    );
    try {
      const started = Date.now();
      await expect(
        waitForAgency(op, 'be-police', { contextsDir: hub.contextsDir }),
      ).resolves.toEqual({ context: join(hub.contextsDir, 'be-police.json') });
      expect(Date.now() - started).toBeGreaterThanOrEqual(7_000);
    } finally {
      await resumed;
    }
  }, 90_000);
});
