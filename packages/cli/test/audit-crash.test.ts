import { randomInt } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeEntry } from '@mosaic/audit-log';
import { readStream, HUB_API_PREFIX, Streams } from '@mosaic/protocol';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import { connectAgency } from '@mosaic/sdk';
import { isRunning, spawnReady, type ReadyChild } from '@mosaic/testkit';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { mosaic, recruitment } from './helpers.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(repoRoot, 'packages/cli/bin/mosaic.js');
const CYCLES = 4;

const children: ReadyChild[] = [];
const serverPids = new Set<number>();
let dir: string | undefined;

afterAll(async () => {
  for (const child of children) await child[Symbol.asyncDispose]();
  for (const pid of serverPids) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** `mosaic dev` in a child process; resolves once it printed its ready line. */
async function startHubChild(dataDir: string, first: boolean): Promise<ReadyChild> {
  const child = await spawnReady(
    process.execPath,
    [bin, 'dev', '--data-dir', dataDir, ...(first ? ['--port', '0'] : [])],
    {
      cwd: repoRoot,
      env: { MOSAIC_LOG_FORMAT: 'json', MOSAIC_LOG_LEVEL: 'warn' },
      ready: /mosaic: hub ready/,
    },
  );
  children.push(child);
  for (const f of await readdir(dataDir)) {
    const pid = Number(/^nats-server_(\d+)\.ports$/.exec(f)?.[1]);
    if (pid > 0 && isRunning(pid)) serverPids.add(pid);
  }
  return child;
}

/** SIGKILL of the hub and of its nats-server: a machine that lost power, as far as the hub knows. */
async function crash(child: ReadyChild): Promise<void> {
  child.child.kill('SIGKILL');
  await child.exited;
  for (const pid of serverPids)
    if (isRunning(pid)) {
      process.kill(pid, 'SIGKILL');
      for (let deadline = Date.now() + 10_000; isRunning(pid) && Date.now() < deadline;)
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
  serverPids.clear();
}

/** `mosaic audit verify` until it passes (the router may still be routing what was in hand). */
async function verifies(operator: string): Promise<{ recovered: number; reports: number }> {
  let last = { code: -1, stdout: '', stderr: '' };
  for (let deadline = Date.now() + 45_000; Date.now() < deadline;) {
    last = await mosaic(['audit', 'verify', '--context', operator]);
    if (last.code === 0) return JSON.parse(last.stdout) as { recovered: number; reports: number };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`audit verify never passed after the restart:\n${last.stderr}`);
}

describe('crash recovery of the audit trail', () => {
  it(`SIGKILL of the hub at a random point while reports are published, ${CYCLES} cycles: after each restart audit verify passes and no report is collected twice`, async () => {
    dir = await mkdtemp(join(tmpdir(), 'mosaic-crash-'));
    const dataDir = join(dir, 'data');
    const operator = join(dataDir, 'contexts', 'operator.json');
    let recovered = 0;
    let stored = 0;
    for (let cycle = 0; cycle <= CYCLES; cycle++) {
      const child = await startHubChild(dataDir, cycle === 0);
      if (cycle > 0) {
        const verdict = await verifies(operator);
        recovered = verdict.recovered;
        expect(verdict.reports).toBeGreaterThan(stored);
        stored = verdict.reports;
      }
      if (cycle === CYCLES) {
        child.child.kill('SIGTERM');
        await child.exited;
        break;
      }
      const nc = await connect(contextConnectOptions(await readContextFile(operator)));
      const jsm = await jetstreamManager(nc, { apiPrefix: HUB_API_PREFIX, checkAPI: false });
      const before = (await jsm.streams.info(Streams.Reports)).state.last_seq;
      const killAfter = before + randomInt(5, 60);
      const agency = await connectAgency({
        context: join(dataDir, 'contexts', 'nl-police.json'),
        key: join(dataDir, 'keys', 'nl-police.jwk'),
        retry: { attempts: 1 },
        timeoutMs: 5_000,
      });
      const publishing = Array.from({ length: 120 }, () =>
        agency.publish(recruitment()).catch((err: unknown) => err),
      );
      for (let deadline = Date.now() + 30_000; ;) {
        if ((await jsm.streams.info(Streams.Reports)).state.last_seq >= killAfter) break;
        if (Date.now() > deadline) throw new Error('reports were not stored');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await nc.close();
      await crash(child);
      await Promise.all(publishing);
      // Its connection died with the server; closing it may report just that.
      await agency.close().catch((err: unknown) => err);
    }
    expect(recovered, 'the kills left reports without their entry').toBeGreaterThan(0);

    // Every stored report has exactly one collection entry that is not a duplicate answer.
    const child = await startHubChild(dataDir, false);
    const nc = await connect(contextConnectOptions(await readContextFile(operator)));
    const jsm = await jetstreamManager(nc, { apiPrefix: HUB_API_PREFIX, checkAPI: false });
    const collections = new Map<number, number>();
    for await (const m of readStream(jsm, Streams.Audit)) {
      const e = decodeEntry(m.data);
      if (e.action !== 'report.accepted' || e.details?.['duplicate'] === true) continue;
      for (const ref of e.refs ?? [])
        if (ref.stream === Streams.Reports)
          collections.set(ref.seq, (collections.get(ref.seq) ?? 0) + 1);
    }
    const last = (await jsm.streams.info(Streams.Reports)).state.last_seq;
    await nc.close();
    child.child.kill('SIGTERM');
    await child.exited;
    expect(last).toBe(stored);
    for (let seq = 1; seq <= last; seq++)
      expect(collections.get(seq), `REPORTS seq ${seq}`).toBe(1);
    process.stderr.write(
      `[measure] audit crash test: ${CYCLES} SIGKILLs, ${last} reports stored, ${recovered} entries recovered\n`,
    );
  }, 300_000);
});
