/**
 * The identities a hub hands out, through the real hub: the routine operator administers
 * nothing, the break-glass identity can, and every JetStream API call it makes is an audit
 * entry recorded from the broker's own advisories.
 */
import { join } from 'node:path';
import { readStream, HUB_API_PREFIX, Streams } from '@mosaic/protocol';
import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { startHub } from '../src/index.ts';
import { connectContext, quietLog, tempDir } from './helpers.ts';

describe('hub roles', () => {
  it('the routine operator cannot delete AUDIT; the break-glass identity can, and each of its API calls is audited', async () => {
    await using dir = await tempDir();
    await using hub = await startHub({ dataDir: dir.path, port: 0, log: quietLog });
    await using op = await connectContext(join(hub.contextsDir, 'operator.json'));
    const opJsm = await jetstreamManager(op, { apiPrefix: HUB_API_PREFIX, checkAPI: false });
    const refused = await opJsm.streams.delete(Streams.Audit).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Error);
    expect((await opJsm.streams.info(Streams.Audit)).config.name).toBe(Streams.Audit);

    await using admin = await connectContext(join(hub.dataDir, 'breakglass', 'admin.json'));
    const adminJsm = await jetstreamManager(admin, { checkAPI: false });
    await adminJsm.streams.add({ name: 'AUDIT_SCRATCH', subjects: ['scratch.>'] });
    await adminJsm.streams.delete('AUDIT_SCRATCH');

    const adminEntries = async (): Promise<{ subject: string }[]> => {
      const out: { subject: string }[] = [];
      for await (const m of readStream(opJsm, Streams.Audit)) {
        const entry = JSON.parse(m.string()) as {
          action: string;
          actor: { kind: string };
          details?: { subject?: string };
        };
        if (entry.action === 'admin.api') {
          expect(entry.actor.kind).toBe('admin');
          out.push({ subject: entry.details?.subject ?? '' });
        }
      }
      return out;
    };
    await expect
      .poll(async () => (await adminEntries()).map((e) => e.subject), { timeout: 10_000 })
      .toEqual(['$JS.API.STREAM.CREATE.AUDIT_SCRATCH', '$JS.API.STREAM.DELETE.AUDIT_SCRATCH']);
  });
});
