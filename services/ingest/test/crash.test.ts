import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Streams } from '@mosaic/protocol';
import { connectAgency, type PublishReply } from '@mosaic/sdk';
import { signReport } from '@mosaic/signing';
import { spawnReady, type ReadyChild } from '@mosaic/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NL, report, startTestHub, type TestHub } from './support/hub.ts';

const main = new URL('./support/ingest-main.ts', import.meta.url).pathname;
const root = new URL('../../../', import.meta.url).pathname;

let hub: TestHub;
const children: ReadyChild[] = [];

beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(async () => {
  for (const child of children) await child[Symbol.asyncDispose]();
  await hub[Symbol.asyncDispose]();
});

/** Starts ingest in a child process and waits for its `ready` line (bounded). */
async function startChild(
  context: string,
  federation: string,
  accounts: string,
): Promise<ReadyChild> {
  const child = await spawnReady(
    process.execPath,
    ['--import', 'tsx', main, context, federation, accounts],
    { cwd: root, env: { MOSAIC_LOG_LEVEL: 'warn' }, timeoutMs: 20_000 },
  );
  children.push(child);
  return child;
}

describe('acked means durable', () => {
  it('SIGKILL of ingest with 1,000 reports in flight: after restart and retries every report is stored exactly once', async () => {
    const ingestContext = await hub.contextPath(hub.ids.services.ingest);
    const federationFile = join(hub.dir, 'federation.json');
    await writeFile(federationFile, JSON.stringify(hub.federation));
    const accountsFile = join(hub.dir, 'accounts.json');
    await writeFile(
      accountsFile,
      JSON.stringify(
        Object.fromEntries([...hub.ids.accounts.agencies].map(([id, k]) => [id, k.publicKey])),
      ),
    );
    let child = await startChild(ingestContext, federationFile, accountsFile);

    const key = hub.keys.current.get(NL)!;
    await using agency = await connectAgency({
      context: await hub.contextPath(hub.ids.agencies.get(NL)!),
      key: key.privateJwk,
      timeoutMs: 2_000,
      retry: { attempts: 40, initialDelayMs: 100, maxDelayMs: 1_000 },
    });
    const reports = Array.from({ length: 1000 }, () => report(NL));
    const jwss = await Promise.all(reports.map((r) => signReport(r, key.privateJwk)));

    let answered = 0;
    let answeredAtKill = -1;
    const okBeforeKill = new Set<string>();
    let restarted: Promise<void> | undefined;
    let storedAtKill = -1;
    const started = performance.now();
    const replies: PublishReply[] = await Promise.all(
      jwss.map(async (jws) => {
        const reply = await agency.publishSigned(jws);
        answered++;
        if (answeredAtKill < 0 && reply.ok) okBeforeKill.add(reply.reportId);
        if (answered === 100) {
          answeredAtKill = answered;
          child.child.kill('SIGKILL');
          restarted = (async () => {
            await child.exited;
            storedAtKill = (await hub.jsm.streams.info(Streams.Reports)).state.messages;
            child = await startChild(ingestContext, federationFile, accountsFile);
          })();
        }
        return reply;
      }),
    );
    await restarted;
    const elapsed = performance.now() - started;

    // The kill really happened mid-stream.
    expect(answeredAtKill).toBe(100);
    expect(okBeforeKill.size).toBeGreaterThanOrEqual(100);
    expect((await children[0]?.exited)?.signal).toBe('SIGKILL');
    expect(storedAtKill).toBeGreaterThanOrEqual(100);
    expect(storedAtKill).toBeLessThan(1000);
    expect(replies.every((r) => r.ok)).toBe(true);
    const ids = new Set(reports.map((r) => r.reportId));
    expect(new Set(replies.map((r) => (r.ok ? r.reportId : ''))).size).toBe(1000);

    const info = await hub.jsm.streams.info(Streams.Reports, {
      subjects_filter: `mosaic.reports.*.*.${NL}.*`,
    });
    const subjects = info.state.subjects ?? {};
    const stored = new Map(Object.entries(subjects).map(([s, n]) => [s.split('.').at(-1)!, n]));
    expect(stored.size).toBe(1000);
    for (const id of ids) expect(stored.get(id), id).toBe(1);
    for (const id of okBeforeKill) expect(stored.get(id)).toBe(1);
    const duplicates = replies.filter((r) => r.ok && r.duplicate).length;
    // Figures for the review note, not assertions.
    process.stderr.write(
      `crash test: 1000 reports, ${answeredAtKill} answered and ${storedAtKill} stored at SIGKILL, ` +
        `${duplicates} answered as duplicates after restart, ${Math.round(elapsed)} ms\n`,
    );
    // Signing 1,000 reports and restarting ingest takes a minute on a loaded 2-core machine.
  }, 120_000);
});
