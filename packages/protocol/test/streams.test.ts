import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { startServer } from '@mosaic/testkit';
import { describe, expect, it } from 'vitest';
import { Streams, ensureStreams, streamConfigs } from '../src/index.ts';

describe('streamConfigs', () => {
  it('makes every hub stream file-backed and refuses delete and purge', () => {
    for (const config of Object.values(streamConfigs(3))) {
      expect(config).toMatchObject({
        storage: 'file',
        deny_delete: true,
        deny_purge: true,
        num_replicas: 3,
      });
    }
  });
});

describe('ensureStreams', () => {
  it('creates the four streams once, keeps their data, and the broker refuses delete and purge', async () => {
    await using server = await startServer();
    const nc = await connect({ servers: server.url });
    try {
      const jsm = await jetstreamManager(nc);
      expect((await ensureStreams(jsm)).sort()).toEqual(Object.values(Streams).sort());
      const ack = await jetstream(nc).publish('mosaic.reports.NL.recruitment.a.b', 'x');
      expect(await ensureStreams(jsm)).toEqual([]);
      expect((await jsm.streams.info(Streams.Reports)).state.messages).toBe(1);
      await expect(jsm.streams.deleteMessage(Streams.Reports, ack.seq)).rejects.toThrow();
      await expect(jsm.streams.purge(Streams.Reports)).rejects.toThrow();
      expect((await jsm.streams.info(Streams.Reports)).state.messages).toBe(1);
    } finally {
      await nc.close();
    }
  });
});
