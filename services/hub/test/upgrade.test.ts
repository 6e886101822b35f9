/**
 * A data dir written by a hub without accounts (every identity a user of the global
 * account `$G`) keeps its streams when the hub starts with accounts.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HUB_API_PREFIX, Streams, ensureStreams } from '@mosaic/protocol';
import { ensureNatsServer, startNatsServerProcess } from '@mosaic/nats-server';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { startHub } from '../src/index.ts';
import { connectContext, quietLog, tempDir } from './helpers.ts';

describe('a data dir from before accounts', () => {
  it('keeps its reports: the global account’s store becomes the hub account’s', async () => {
    await using dir = await tempDir();
    const storeDir = join(dir.path, 'jetstream');
    await mkdir(storeDir, { recursive: true });
    const conf = join(dir.path, 'old.conf');
    await writeFile(
      conf,
      [
        'host: "127.0.0.1"',
        'port: -1',
        `ports_file_dir: ${JSON.stringify(dir.path)}`,
        `jetstream { store_dir: ${JSON.stringify(storeDir)} }`,
      ].join('\n'),
    );
    const { path } = await ensureNatsServer({ log: () => undefined });
    const old = await startNatsServerProcess({
      binary: path,
      configFile: conf,
      portsFileDir: dir.path,
      name: 'old hub nats-server',
    });
    try {
      const nc = await connect({ servers: old.url });
      await ensureStreams(await jetstreamManager(nc));
      await jetstream(nc).publish('mosaic.reports.NL.transport.nl-police.r1', 'an old report');
      await nc.close();
    } finally {
      await old.stop();
    }

    await using hub = await startHub({ dataDir: dir.path, port: 0, log: quietLog });
    await using op = await connectContext(join(hub.contextsDir, 'operator.json'));
    const jsm = await jetstreamManager(op, { apiPrefix: HUB_API_PREFIX, checkAPI: false });
    const m = await jsm.streams.getMessage(Streams.Reports, { seq: 1 });
    expect(m?.string()).toBe('an old report');
  });
});
