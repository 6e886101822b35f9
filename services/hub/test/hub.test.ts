import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { ErrorCode, isMosaicError, type MosaicError } from '@mosaic/errors';
import { HUB_API_PREFIX, ROUTER_CONSUMER, SELECTOR_INDEX_STREAM, Streams } from '@mosaic/protocol';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import { connect } from '@nats-io/transport-node';
import { connectOperator } from '@mosaic/operator';
import { startHub } from '../src/index.ts';
import { connectContext, freshReport, quietLog, submit, tempDir } from './helpers.ts';

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

describe('startHub', () => {
  it('runs the demo hub; a restart on the same data dir keeps reports, keys and contexts', async () => {
    await using dir = await tempDir();
    let firstPid = 0;
    let seq = 0;
    let firstUrl = '';
    let selectorKey: unknown;
    const contextPath = join(dir.path, 'contexts', 'de-bka.json');
    const keyPath = join(dir.path, 'keys', 'de-bka.jwk');
    const report = await freshReport();
    {
      await using hub = await startHub({ dataDir: dir.path, log: quietLog });
      firstPid = hub.serverPid;
      firstUrl = hub.url;
      expect(hub.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
      for (const name of ['nl-police', 'de-bka', 'de-bka', 'ngo-lastrada', 'operator']) {
        const file = join(hub.contextsDir, `${name}.json`);
        expect((await stat(file)).mode & 0o777, file).toBe(0o600);
      }
      for (const file of [
        keyPath,
        join(dir.path, 'identities.json'),
        join(dir.path, 'selector-key.json'),
      ])
        expect((await stat(file)).mode & 0o777, file).toBe(0o600);
      expect(await readFile(join(dir.path, 'nats-server.conf'), 'utf8')).toContain('max_payload');

      await using nc = await connectContext(contextPath);
      const reply = await submit(nc, 'de-bka', keyPath, report);
      expect(reply, JSON.stringify(reply)).toMatchObject({ ok: true, duplicate: false });
      seq = reply.seq ?? 0;
      expect(seq).toBeGreaterThan(0);
      // The selector key service answers the agency through its own import.
      selectorKey = (
        await nc.request('mosaic.selectors.evaluate.de-bka', '{"op":"key"}', { timeout: 5000 })
      ).json();
      expect(selectorKey).toMatchObject({ ok: true, epoch: 1 });
    }
    expect(isRunning(firstPid)).toBe(false);

    const keyBefore = await readFile(keyPath, 'utf8');
    await using hub = await startHub({ dataDir: dir.path, log: quietLog });
    expect(hub.serverPid).not.toBe(firstPid);
    // The previous port was free again: the same URL, so old context files keep working.
    expect(hub.url).toBe(firstUrl);
    expect(await readFile(keyPath, 'utf8')).toBe(keyBefore);

    // The first run's report is still stored…
    await using operator = await connectContext(join(hub.contextsDir, 'operator.json'));
    const jsm = await jetstreamManager(operator, { apiPrefix: HUB_API_PREFIX, checkAPI: false });
    const stored = await jsm.streams.getMessage(Streams.Reports, { seq });
    expect(stored?.string().split('.')).toHaveLength(3);
    // …and the same report again is a duplicate of it, through the same context.
    await using nc = await connect(contextConnectOptions(await readContextFile(contextPath)));
    const again = await submit(nc, 'de-bka', keyPath, report);
    expect(again).toMatchObject({ ok: true, duplicate: true, seq });
    // The selector key survives the restart: tokens made before still match.
    const key = await nc.request('mosaic.selectors.evaluate.de-bka', '{"op":"key"}', {
      timeout: 5000,
    });
    expect(key.json()).toEqual(selectorKey);
  });

  it('keeps registry changes across restarts; --reseed replaces them from the file', async () => {
    await using dir = await tempDir();
    const revokedAt = async (): Promise<string | undefined> => {
      await using hub = await startHub({ dataDir: dir.path, log: quietLog });
      return hub.registry.agency('ro-dicot')?.keys[0]?.revokedAt;
    };
    {
      await using hub = await startHub({ dataDir: dir.path, log: quietLog });
      await using op = await connectOperator(join(hub.contextsDir, 'operator.json'));
      const change = await op.revokeKey({ agency: 'ro-dicot', keyId: 'demo', reason: 'test' });
      await expect
        .poll(() => hub.registry.revision(), { timeout: 5_000 })
        .toBeGreaterThanOrEqual(change.revision);
      expect(hub.registry.agency('ro-dicot')?.keys[0]?.revocationReason).toBe('test');
    }
    expect(await revokedAt()).toEqual(expect.any(String));
    {
      await using hub = await startHub({ dataDir: dir.path, reseed: true, log: quietLog });
      expect(hub.registry.agency('ro-dicot')?.keys[0]?.revokedAt).toBeUndefined();
    }
    expect(await revokedAt()).toBeUndefined();
  });
});

describe('correlation', () => {
  // Each case routes one report with selectors (IBANs, a wallet), waits until the router's
  // ack floor passed it, and counts what the router wrote to the selector index.
  it.each([
    { name: 'by default', correlation: undefined, indexed: true },
    { name: 'with correlation: false', correlation: false, indexed: false },
  ])(
    '$name, the router indexes selectors: $indexed',
    async ({ correlation, indexed }) => {
      await using dir = await tempDir();
      await using hub = await startHub({
        dataDir: dir.path,
        log: quietLog,
        ...(correlation === undefined ? {} : { correlation }),
      });
      await using nc = await connectContext(join(hub.contextsDir, 'de-bka.json'));
      const reply = await submit(
        nc,
        'de-bka',
        join(dir.path, 'keys', 'de-bka.jwk'),
        await freshReport(),
      );
      expect(reply, JSON.stringify(reply)).toMatchObject({ ok: true });
      await using operator = await connectContext(join(hub.contextsDir, 'operator.json'));
      const jsm = await jetstreamManager(operator, { apiPrefix: HUB_API_PREFIX, checkAPI: false });
      await expect
        .poll(
          async () =>
            (await jsm.consumers.info(Streams.Reports, ROUTER_CONSUMER)).ack_floor.stream_seq,
          { timeout: 20_000 },
        )
        .toBeGreaterThanOrEqual(reply.seq ?? Infinity);
      const { state } = await jsm.streams.info(SELECTOR_INDEX_STREAM);
      if (indexed) expect(state.messages).toBeGreaterThan(0);
      else expect(state.messages).toBe(0);
    },
    60_000,
  );
});

describe('operator changes', () => {
  it('name a refused rule by the path a rules file gets, [0].maxTlp', async () => {
    await using dir = await tempDir();
    await using hub = await startHub({ dataDir: dir.path, log: quietLog });
    await using op = await connectOperator(join(hub.contextsDir, 'operator.json'));
    const err = await op
      .setRules({
        agency: 'nl-police',
        rules: [{ jurisdictions: ['NL'], categories: ['recruitment'], maxTlp: 'PURPLE' }],
        justification: 'test',
      })
      .catch((e: unknown) => e);
    expect(isMosaicError(err, ErrorCode.Federation)).toBe(true);
    const { problems } = (err as MosaicError).details as { problems: { path: string }[] };
    expect(problems.map((p) => p.path)).toEqual(['[0].maxTlp']);
    expect((err as MosaicError).message).toContain('\n  [0].maxTlp: ');
  });
});
