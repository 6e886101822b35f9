import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AlertKind, ROUTER_CONSUMER, Streams, alertSubject } from '@mosaic/protocol';
import { buildPolicyIndex, route } from '@mosaic/policy';
import { spawnReady, type ReadyChild } from '@mosaic/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ISSUERS, report, startTestHub, type TestHub, type TestReport } from './support/hub.ts';

const main = new URL('./support/router-main.ts', import.meta.url).pathname;
const root = new URL('../../../', import.meta.url).pathname;

const REPORTS = 5_000;
/** Short, so that what the killed router held is redelivered soon after the restart. */
const ACK_WAIT_MS = 2_000;

let hub: TestHub;
const children: ReadyChild[] = [];

beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(async () => {
  for (const child of children) await child[Symbol.asyncDispose]();
  await hub[Symbol.asyncDispose]();
});

/** Starts the router in a child process and waits for its `ready` line (bounded). */
async function startChild(context: string, federation: string): Promise<ReadyChild> {
  const child = await spawnReady(
    process.execPath,
    ['--import', 'tsx', main, context, federation, String(ACK_WAIT_MS)],
    { cwd: root, env: { MOSAIC_LOG_LEVEL: 'warn' }, timeoutMs: 20_000 },
  );
  children.push(child);
  return child;
}

const TLPS = ['CLEAR', 'GREEN', 'AMBER'] as const;
type WorkReport = TestReport & { lineage?: { retracts: string } };
const CATEGORIES = ['recruitment', 'transport', 'exploitation'] as const;

/** A mix of issuers, TLPs, categories and jurisdictions; every 20th report retracts one 9 before (same issuer). */
function workload(): WorkReport[] {
  const reports: WorkReport[] = [];
  for (let i = 0; i < REPORTS; i++) {
    const issuer = ISSUERS[i % ISSUERS.length]!;
    const base = report(issuer, {
      category: CATEGORIES[Math.floor(i / 3) % CATEGORIES.length],
      handling: { tlp: TLPS[Math.floor(i / 9) % TLPS.length] },
    });
    if (i % 7 === 0) base.jurisdictions = [...new Set([base.origin, 'NL'])];
    reports.push(
      i % 20 === 19 ? { ...base, lineage: { retracts: reports[i - 9]!.reportId } } : base,
    );
  }
  return reports;
}

async function consumerState() {
  const info = await hub.jsm.consumers.info(Streams.Reports, ROUTER_CONSUMER);
  return {
    acked: info.ack_floor.stream_seq,
    pending: info.num_pending,
    unacked: info.num_ack_pending,
  };
}

describe('router crash', () => {
  it('SIGKILL of the router while it routes 5,000 reports: after restart every entitled alert is in ALERTS exactly once, and no other', async () => {
    const federationFile = join(hub.dir, 'federation.json');
    await writeFile(federationFile, JSON.stringify(hub.federation));
    const context = await hub.contextPath(hub.ids.services.router);
    const reports = workload();
    const stored = await hub.store(reports);
    const firstSeq = stored[0]!.seq;
    const lastSeq = stored.at(-1)!.seq;
    expect(lastSeq - firstSeq + 1).toBe(REPORTS);

    const started = performance.now();
    const first = await startChild(context, federationFile);
    // Kill it mid-way: some reports acked, some with alerts stored but not acked.
    await expect
      .poll(async () => (await consumerState()).acked, { timeout: 30_000, interval: 20 })
      .toBeGreaterThanOrEqual(firstSeq + 1_500);
    first.child.kill('SIGKILL');
    const killed = await first.exited;
    const killedAfter = performance.now() - started;
    const atKill = await consumerState();
    const alertsAtKill = (await hub.jsm.streams.info(Streams.Alerts)).state.messages;
    expect(killed.signal).toBe('SIGKILL');
    expect(atKill.acked).toBeLessThan(lastSeq);

    const restarted = performance.now();
    const second = await startChild(context, federationFile);
    await hub.drained(60_000);
    const drainedAfter = performance.now() - restarted;

    // Entitlement: the policy on the same federation; a retraction goes to the original's recipients.
    const index = buildPolicyIndex(hub.federation);
    const now = new Date();
    const entitled = new Map<string, string[]>();
    const expected = new Set<string>();
    for (const r of reports) {
      const prior = r.lineage === undefined ? [] : (entitled.get(r.lineage.retracts) ?? []);
      const result = route(r as never, index, now, { priorRecipients: prior });
      expect(result.blocked, r.reportId).toBeUndefined();
      const recipients = result.recipients.map((x) => x.agency);
      entitled.set(r.reportId, recipients);
      const kind = r.lineage === undefined ? AlertKind.Report : AlertKind.Retraction;
      for (const agency of recipients)
        expected.add(alertSubject(agency, kind, r.issuer, r.reportId));
    }
    const actual = await hub.alertSubjects();
    const duplicated = Object.entries(actual).filter(([, n]) => n !== 1);
    expect(duplicated).toEqual([]);
    const unexpected = Object.keys(actual).filter((s) => !expected.has(s));
    expect(unexpected).toEqual([]);
    const missing = [...expected].filter((s) => !(s in actual));
    expect(missing).toEqual([]);
    expect((await hub.jsm.streams.info(Streams.Alerts)).state.messages).toBe(expected.size);
    // The retractions really went through the lineage path to someone.
    const retractions = reports.filter((r) => r.lineage !== undefined);
    expect(
      retractions.filter((r) => (entitled.get(r.reportId) ?? []).length > 0).length,
    ).toBeGreaterThan(retractions.length / 2);

    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);

    process.stderr.write(
      `router crash test: ${REPORTS} reports -> ${expected.size} alerts; SIGKILL after ` +
        `${Math.round(killedAfter)} ms with ${atKill.acked - firstSeq + 1} acked, ` +
        `${atKill.unacked} delivered unacked, ${alertsAtKill} alerts stored; after the restart (ready) the ` +
        `remaining ${lastSeq - atKill.acked} were routed in ${Math.round(drainedAfter)} ms ` +
        `(ack wait ${ACK_WAIT_MS} ms); first run ~${Math.round(
          ((atKill.acked - firstSeq + 1) / killedAfter) * 1000,
        )} reports/s\n`,
    );
  }, 90_000);
});
