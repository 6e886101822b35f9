import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEntry } from '@mosaic/audit-log';
import { readStream, Streams, alertsConsumer } from '@mosaic/protocol';
import { startHub } from '@mosaic/hub';
import { connectOperator } from '@mosaic/operator';
import { createLogger } from '@mosaic/log';
import { connectAgency } from '@mosaic/sdk';
import { bounded, spawnReady } from '@mosaic/testkit';
import { routerIdle } from './helpers.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(repoRoot, 'packages/cli/bin/mosaic.js');
const AGENCIES = ['de-bka', 'ngo-lastrada', 'nl-police', 'ro-dicot'];
const quiet = createLogger({ service: 'hub', level: process.env['MOSAIC_LOG_LEVEL'] ?? 'silent' });

/**
 * Runs `mosaic dev <args>` as a child until its stdout matches `until`, then stops it with
 * SIGTERM; resolves with what it printed once it exited 0.
 */
async function devUntil(
  args: string[],
  until: RegExp,
): Promise<{ stdout: string; stderr: string }> {
  await using child = await spawnReady(process.execPath, [bin, 'dev', '--port', '0', ...args], {
    cwd: repoRoot,
    env: { MOSAIC_LOG_FORMAT: 'json' },
    ready: until,
  });
  child.child.kill('SIGTERM');
  const { code } = await bounded(child.exited, 60_000, 'mosaic dev did not stop');
  expect(code, child.stderr()).toBe(0);
  return { stdout: child.stdout(), stderr: child.stderr() };
}

/** What a restart must leave alone: stored reports, consultations, alerts waiting per agency. */
async function state(dataDir: string): Promise<{
  reports: number;
  consulted: number;
  waiting: Record<string, number>;
}> {
  await using hub = await startHub({ dataDir, port: 0, log: quiet });
  await using op = await connectOperator(join(hub.contextsDir, 'operator.json'));
  await routerIdle(op.jsm);
  let consulted = 0;
  for await (const m of readStream(op.jsm, Streams.Audit))
    if (decodeEntry(m.data).action === 'alert.consulted') consulted++;
  const waiting: Record<string, number> = {};
  for (const agency of AGENCIES) {
    const info = await op.jsm.consumers.info(Streams.Alerts, alertsConsumer(agency));
    waiting[agency] = info.num_pending + info.num_ack_pending;
  }
  const reports = (await op.jsm.streams.info(Streams.Reports)).state.messages;
  return { reports, consulted, waiting };
}

describe('mosaic dev --demo on a data dir that already holds reports', () => {
  let dir: string;
  let dataDir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mosaic-demo-'));
    dataDir = join(dir, 'data');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it(
    'the first run publishes and reads only its own alerts; a restart publishes and consumes nothing',
    { timeout: 300_000 },
    async () => {
      const first = await devUntil(['--data-dir', dataDir, '--demo'], /mosaic demo: done/);
      expect(first.stdout).toMatch(/accepted {2}seq 1/);

      // An alert the demo did not make: de-bka's financial flow about DE reaches ro-dicot.
      {
        await using hub = await startHub({ dataDir, port: 0, log: quiet });
        await using bka = await connectAgency({
          context: join(hub.contextsDir, 'de-bka.json'),
          key: join(hub.keysDir, 'de-bka.jwk'),
        });
        const example = JSON.parse(
          await readFile(join(repoRoot, 'schemas/examples/valid/financial-flow.json'), 'utf8'),
        ) as object;
        const reply = await bka.publish({
          ...example,
          reportId: randomUUID(),
          issuedAt: new Date().toISOString(),
        });
        expect(reply, JSON.stringify(reply)).toMatchObject({ ok: true, duplicate: false });
      }
      const before = await state(dataDir);
      expect(before.waiting['ro-dicot']).toBe(1);
      expect(before.consulted).toBeGreaterThan(0);

      const second = await devUntil(['--data-dir', dataDir, '--demo'], /mosaic demo: skipped/);
      expect(second.stderr).toContain(
        `mosaic demo: ${dataDir} already holds ${before.reports} reports: not publishing`,
      );
      expect(second.stdout).not.toMatch(/accepted|duplicate|alerts —/);
      expect(await state(dataDir)).toEqual(before);

      // Asked to publish again: the examples re-issued under fresh ids are new reports, and
      // the demo reads only their alerts — never the one ro-dicot had waiting before.
      const again = await devUntil(['--data-dir', dataDir, '--demo-again'], /mosaic demo: done/);
      expect(again.stdout).toMatch(/financial-flow\.json again\s+de-bka\s+duplicate seq \d+/);
      expect(again.stdout).toMatch(/ro-dicot {6}not read: 1 alerts were waiting before the demo/);
      const after = await state(dataDir);
      expect(after.reports).toBeGreaterThan(before.reports);
      // ro-dicot's earlier alert is still waiting, and so are the new ones: none was read.
      expect(after.waiting['ro-dicot']).toBeGreaterThan(before.waiting['ro-dicot'] ?? 0);
    },
  );
});
