import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startHub, type Hub } from '@mosaic/hub';
import { createLogger } from '@mosaic/log';
import { connectAgency } from '@mosaic/sdk';
import { bounded } from '@mosaic/testkit';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(repoRoot, 'packages/cli/bin/mosaic.js');
const quiet = createLogger({ service: 'hub', level: process.env['MOSAIC_LOG_LEVEL'] ?? 'silent' });

/** Publishes a new financial-flow report of de-bka (RED, released to ro-dicot); its id. */
async function publish(hub: Hub): Promise<string> {
  await using bka = await connectAgency({
    context: join(hub.contextsDir, 'de-bka.json'),
    key: join(hub.keysDir, 'de-bka.jwk'),
  });
  const example = JSON.parse(
    await readFile(join(repoRoot, 'schemas/examples/valid/financial-flow.json'), 'utf8'),
  ) as Record<string, unknown>;
  delete example['lineage'];
  const reportId = randomUUID();
  const reply = await bka.publish({ ...example, reportId, issuedAt: new Date().toISOString() });
  expect(reply, JSON.stringify(reply)).toMatchObject({ ok: true, duplicate: false });
  return reportId;
}

describe('mosaic subscribe --follow across a hub restart', () => {
  it(
    'reconnects and resumes after a restart; exits 3 once the hub stays down past --reconnect-timeout',
    { timeout: 120_000 },
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'mosaic-follow-'));
      const dataDir = join(dir, 'data');
      let hub: Hub | undefined = await startHub({ dataDir, port: 0, log: quiet });
      const port = Number(new URL(hub.url).port);
      const child = spawn(
        process.execPath,
        [
          bin,
          'subscribe',
          '--context',
          join(hub.contextsDir, 'ro-dicot.json'),
          '--follow',
          '--reconnect-timeout',
          '8s',
        ],
        { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      const printed = (): string[] =>
        stdout
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => (JSON.parse(l) as { reportId: string }).reportId);
      try {
        const before = await publish(hub);
        await expect.poll(printed, { timeout: 20_000 }).toEqual([before]);

        await hub.stop();
        hub = await startHub({ dataDir, port, log: quiet });
        const after = await publish(hub);
        await expect.poll(printed, { timeout: 30_000 }).toEqual([before, after]);
        expect(child.exitCode, stderr).toBeNull();

        // Down for good: it gives up after the timeout, with exit 3 and the reason.
        await hub.stop();
        hub = undefined;
        expect(await bounded(exited, 60_000, 'mosaic subscribe did not exit'), stderr).toBe(3);
        expect(stderr).toMatch(
          /error ERR_UNAVAILABLE: the hub has been unreachable for \d+ s \(reconnect timeout 8 s\)/,
        );
        expect(stderr).not.toMatch(/internal error/);
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await hub?.stop();
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
