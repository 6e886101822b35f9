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
import { DEMO_FEDERATION_PATH, loadFederation, staticRegistryView } from '@mosaic/federation';
import { holderNamedTo } from '@mosaic/policy';
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

/**
 * What a restart must leave alone: stored reports, consultations (alerts named by
 * alert.consulted entries, which collect an agency's acks of a short window), alerts waiting
 * per agency.
 */
async function state(dataDir: string): Promise<{
  reports: number;
  consulted: number;
  waiting: Record<string, number>;
}> {
  await using hub = await startHub({ dataDir, port: 0, log: quiet });
  await using op = await connectOperator(join(hub.contextsDir, 'operator.json'));
  await routerIdle(op.jsm);
  let consulted = 0;
  for await (const m of readStream(op.jsm, Streams.Audit)) {
    const entry = decodeEntry(m.data);
    if (entry.action === 'alert.consulted') consulted += entry.refs?.length ?? 0;
  }
  const waiting: Record<string, number> = {};
  for (const agency of AGENCIES) {
    const info = await op.jsm.consumers.info(Streams.Alerts, alertsConsumer(agency));
    waiting[agency] = info.num_pending + info.num_ack_pending;
  }
  const reports = (await op.jsm.streams.info(Streams.Reports)).state.messages;
  return { reports, consulted, waiting };
}

/** The report id of the demo's reply to publishing `file` (the JSON line after "accepted"). */
function publishedId(stdout: string, file: string, issuer: string): string {
  const lines = stdout.split('\n');
  const at = lines.findIndex((l) =>
    new RegExp(`^ {2}${file.replace(/\./g, '\\.')} +${issuer} +accepted {2}seq \\d+$`).test(l),
  );
  expect(at, `${file} accepted`).toBeGreaterThanOrEqual(0);
  const reply = JSON.parse(lines[at + 1] ?? '') as { ok: boolean; reportId: string };
  expect(reply.ok).toBe(true);
  return reply.reportId;
}

/** The lines of one block of the demo's output: from `header` to the next line as shallow. */
function block(stdout: string, header: RegExp): string[] {
  const lines = stdout.split('\n');
  const at = lines.findIndex((l) => header.test(l));
  expect(at, String(header)).toBeGreaterThanOrEqual(0);
  const depth = /^ */.exec(lines[at] ?? '')?.[0].length ?? 0;
  const rest = lines.slice(at + 1);
  const end = rest.findIndex((l) => (/^ */.exec(l)?.[0].length ?? 0) <= depth);
  return end < 0 ? rest : rest.slice(0, end);
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
    'the first run publishes, links reports, checks holdings and reads only its own alerts; a restart publishes and consumes nothing',
    { timeout: 300_000 },
    async () => {
      const first = await devUntil(['--data-dir', dataDir, '--demo'], /mosaic demo: done/);
      expect(first.stdout).toMatch(/accepted {2}seq 1/);

      // The link: nl-police reports the phone number ro-dicot reported earlier; ro-dicot,
      // which receives nl-police's report, is shown its own earlier report as related.
      const earlier = publishedId(first.stdout, 'forced-labour-recruiter.json', 'ro-dicot');
      const later = publishedId(first.stdout, 'greenhouse-workers.json', 'nl-police');
      expect(earlier).not.toBe(later);
      const roAlerts = block(first.stdout, /^ {2}ro-dicot +\d+ alerts?$/);
      const at = roAlerts.findIndex((l) =>
        /^ {4}\S+ +greenhouse-workers\.json +from nl-police /.test(l),
      );
      expect(at, roAlerts.join('\n')).toBeGreaterThanOrEqual(0);
      const related = block(roAlerts.join('\n'), /greenhouse-workers\.json +from nl-police/);
      expect(related).toEqual([
        expect.stringMatching(
          new RegExp(
            `^ {6}related: forced-labour-recruiter\\.json, report ${earlier} by ro-dicot \\(REPORTS seq \\d+\\), shares a phone selector$`,
          ),
        ),
      ]);
      // nl-police received ro-dicot's report first: nothing earlier shares its selectors.
      const nlAlerts = block(first.stdout, /^ {2}nl-police +\d+ alerts?$/);
      expect(nlAlerts.join('\n')).toMatch(/forced-labour-recruiter\.json +from ro-dicot/);
      expect(nlAlerts.join('\n')).not.toContain(`report ${earlier}`);

      // The hit: nl-police's private holding answers each asker's check; the holder is named
      // only to an asker its hit policy lists, and gets a hit alert for every check.
      const registry = staticRegistryView(await loadFederation({ path: DEMO_FEDERATION_PATH }));
      expect(first.stdout).toContain(
        '  nl-police     registers phone 06 1234 5678 (NL) as a private holding, its own reference NL-2026-OPS-0417',
      );
      const checks = [
        { asker: 'de-bka', held: '+31 6 12 34 56 78', unknown: '+49 151 2345 6789' },
        { asker: 'ro-dicot', held: '0031 6 1234 5678 (RO)', unknown: '0744 000 111 (RO)' },
      ];
      const named = checks.map((c) => holderNamedTo(registry, 'nl-police', c.asker));
      expect(named).toEqual([true, false]);
      for (const [i, { asker, held, unknown }] of checks.entries()) {
        const lines = block(first.stdout, new RegExp(`^ {2}${asker} +checks 2 phone numbers$`));
        expect(lines).toEqual([
          `    ${held.padEnd(24)} ${named[i] === true ? 'hit: held by nl-police' : 'hit: the holder has been notified'}`,
          `    ${unknown.padEnd(24)} no-hit`,
        ]);
      }
      expect(block(first.stdout, /^ {2}nl-police +2 hit alerts$/)).toEqual(
        checks.map(
          ({ asker }, i) =>
            `    hit        ${asker} checked the phone of its holding NL-2026-OPS-0417; ${asker} ${named[i] === true ? 'was told nl-police holds it' : 'was not told who holds it'}`,
        ),
      );
      expect(first.stdout).not.toContain('correlation is not running');

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
