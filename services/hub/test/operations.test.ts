import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { debianTools, ensureDebianTool } from '@mosaic/debian';
import { startServer } from '@mosaic/testkit';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { serviceMetrics } from '../src/metrics.ts';

const repo = (path: string): string => fileURLToPath(new URL(`../../../${path}`, import.meta.url));
const RULES = repo('deploy/prometheus/mosaic-alerts.yml');

/** The names of the metrics a service process exports. */
async function exportedMetrics(): Promise<string[]> {
  await using server = await startServer({ jetstream: true });
  const nc = await connect({ servers: server.url });
  try {
    const { registry } = serviceMetrics(await jetstreamManager(nc));
    return registry.getMetricsAsArray().map((m) => m.name);
  } finally {
    await nc.close();
  }
}

describe('docs/operations.md and deploy/prometheus', () => {
  it('the alert rules pass promtool check rules and name only metrics the services export', async () => {
    const promtool = await ensureDebianTool(debianTools.promtool);
    const checked = await new Promise<{ code: number; out: string }>((resolve, reject) => {
      execFile(
        promtool.path,
        ['check', 'rules', RULES],
        { env: { ...process.env, ...promtool.env } },
        (err, stdout, stderr) => {
          const code = err === null ? 0 : err.code;
          if (typeof code === 'number') resolve({ code, out: `${stdout}${stderr}` });
          else reject(new Error('promtool did not run', { cause: err }));
        },
      );
    });
    expect(checked, checked.out).toMatchObject({ code: 0 });
    expect(checked.out).toMatch(/SUCCESS: \d+ rules found/);

    const exported = new Set(await exportedMetrics());
    const used = new Set(
      [...(await readFile(RULES, 'utf8')).matchAll(/\b((?:mosaic|process|nodejs)_\w+)/g)].map((m) =>
        (m[1] ?? '').replace(/_(bucket|count|sum)$/, ''),
      ),
    );
    expect(used.size).toBeGreaterThan(5);
    for (const name of used) expect(exported, name).toContain(name);
  });

  it('names every metric of /metrics, and README and the architecture link to it', async () => {
    const doc = await readFile(repo('docs/operations.md'), 'utf8');
    for (const name of (await exportedMetrics()).filter((n) => n.startsWith('mosaic_')))
      expect(doc, name).toContain(`\`${name}`);
    expect(await readFile(repo('README.md'), 'utf8')).toContain('docs/operations.md');
    expect(await readFile(repo('docs/architecture.md'), 'utf8')).toContain('operations.md');
  });
});
