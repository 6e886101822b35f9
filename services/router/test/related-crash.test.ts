/**
 * `related` through a crash: a router routing with the selector index is SIGKILLed mid-way,
 * after a batch whose index entries were written and none of whose alerts were (the state a
 * router killed between its index stage and its alert writes leaves). After the restart,
 * every entitled alert is in ALERTS exactly once, each one's `related` is exactly what a
 * brute-force reference finds, and the index holds each (token, report) once.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AlertHeaders,
  ROUTER_CONSUMER,
  SELECTOR_INDEX_STREAM,
  Streams,
  auditClient,
  ensureSelectorIndexStream,
  relatedHeaderSchema,
  type RelatedReport,
} from '@mosaic/protocol';
import { buildPolicyIndex, route } from '@mosaic/policy';
import { loadOrCreateSelectorKey, startSelectorKeys } from '@mosaic/selector-keys';
import { bounded, spawnReady, type ReadyChild } from '@mosaic/testkit';
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_RELATED } from '@mosaic/protocol';
import { ReportIndexer } from '../src/selector-index.ts';
import { ISSUERS, report, startTestHub, type TestHub, type TestReport } from './support/hub.ts';

const main = new URL('./support/router-main.ts', import.meta.url).pathname;
const root = new URL('../../../', import.meta.url).pathname;

const REPORTS = 360;
/** Reports indexed before the router starts, as by a router killed right after indexing them. */
const PRE_INDEXED = 40;
const NUMBERS = 20;
const ACK_WAIT_MS = 2_000;

let hub: TestHub;
const children: ReadyChild[] = [];

beforeAll(async () => {
  hub = await startTestHub();
  await ensureSelectorIndexStream(hub.jsm);
  const nc = await hub.connectAs(hub.ids.services['selector-keys']);
  const keys = await startSelectorKeys({
    nc,
    key: await loadOrCreateSelectorKey(join(hub.dir, 'selector.key')),
    accounts: { accountOf: () => undefined },
    audit: auditClient(nc, 'selector-keys'),
  });
  hub.stopOnDispose(keys);
});
afterAll(async () => {
  for (const child of children) await child[Symbol.asyncDispose]();
  await hub[Symbol.asyncDispose]();
});

async function startChild(context: string, federation: string): Promise<ReadyChild> {
  const child = await spawnReady(
    process.execPath,
    ['--import', 'tsx', main, context, federation, String(ACK_WAIT_MS), 'index'],
    { cwd: root, env: { MOSAIC_LOG_LEVEL: 'warn' }, timeoutMs: 20_000 },
  );
  children.push(child);
  return child;
}

const TLPS = ['CLEAR', 'GREEN', 'AMBER'] as const;

/**
 * Reports of three issuers, each with one of `NUMBERS` Romanian mobile numbers written one
 * of two ways (with and without the trunk prefix 0 after the country code: one selector).
 */
function workload(): TestReport[] {
  return Array.from({ length: REPORTS }, (_, i) => {
    const digits = `7234567${String(numberOf(i)).padStart(2, '0')}`;
    return report(ISSUERS[i % ISSUERS.length]!, {
      indicators: [{ type: 'phone', number: i % 2 === 0 ? `+40${digits}` : `+400${digits}` }],
      handling: { tlp: TLPS[Math.floor(i / 5) % TLPS.length] },
    });
  });
}

/** Which of the numbers the phone of report `i` is, in either spelling. */
function numberOf(i: number): number {
  return (i * 7) % NUMBERS;
}

interface StoredAlert {
  recipient: string;
  issuer: string;
  reportId: string;
  related: RelatedReport[];
}

async function alerts(): Promise<StoredAlert[]> {
  const total = (await hub.jsm.streams.info(Streams.Alerts)).state.messages;
  const js = jetstream(await hub.connectAs(hub.ids.admin));
  const consumer = await js.consumers.get(Streams.Alerts);
  const out: StoredAlert[] = [];
  while (out.length < total) {
    const batch = await consumer.fetch({ max_messages: 500, expires: 5_000 });
    for await (const m of batch) {
      const related = m.headers?.get(AlertHeaders.Related) ?? '';
      out.push({
        recipient: m.headers?.get(AlertHeaders.Recipient) ?? '',
        issuer: m.headers?.get(AlertHeaders.Issuer) ?? '',
        reportId: m.headers?.get(AlertHeaders.ReportId) ?? '',
        related: related === '' ? [] : relatedHeaderSchema.parse(JSON.parse(related)),
      });
    }
  }
  return out;
}

describe('related across a router crash', () => {
  it('after a SIGKILL and a batch indexed but not alerted, every alert is stored once with exactly its related reports, and every index entry once', async () => {
    const federationFile = join(hub.dir, 'federation.json');
    await writeFile(federationFile, JSON.stringify(hub.federation));
    const context = await hub.contextPath(hub.ids.services.router);
    const reports = workload();
    const stored = await hub.store(reports);
    const firstSeq = stored[0]!.seq;

    // The last reports' entries are in the index already, and none of their alerts.
    const routerNc = await hub.connectAs(hub.ids.services.router);
    const indexer = new ReportIndexer(routerNc, jetstream(routerNc), 10_000);
    const tail = await Promise.all(
      stored.slice(-PRE_INDEXED).map(async (s, i) => ({
        report: reports[REPORTS - PRE_INDEXED + i]! as never,
        seq: s.seq,
        storedAt: (await hub.jsm.streams.getMessage(Streams.Reports, { seq: s.seq }))!.time,
      })),
    );
    await indexer.index(tail);
    await routerNc.close();
    expect((await hub.jsm.streams.info(SELECTOR_INDEX_STREAM)).state.messages).toBe(PRE_INDEXED);

    const started = performance.now();
    const first = await startChild(context, federationFile);
    await expect
      .poll(
        async () =>
          (await hub.jsm.consumers.info(Streams.Reports, ROUTER_CONSUMER)).ack_floor.stream_seq,
        { timeout: 120_000, interval: 20 },
      )
      .toBeGreaterThanOrEqual(firstSeq + 100);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const killedAfter = performance.now() - started;
    const atKill = (await hub.jsm.consumers.info(Streams.Reports, ROUTER_CONSUMER)).ack_floor
      .stream_seq;

    const restarted = performance.now();
    const second = await startChild(context, federationFile);
    await hub.drained(240_000);
    const drainedAfter = performance.now() - restarted;

    // Reference: who each report reaches under the same federation, and the earlier reports
    // with the same number that each recipient then holds (received, or issued itself).
    const policy = buildPolicyIndex(hub.federation);
    const now = new Date();
    const seqOf = new Map(reports.map((r, i) => [r.reportId, stored[i]!.seq]));
    const recipientsOf = new Map(
      reports.map((r) => [
        r.reportId,
        new Set(route(r as never, policy, now).recipients.map((x) => x.agency)),
      ]),
    );
    const expectedRelated = (recipient: string, s: number): RelatedReport[] =>
      reports
        .filter(
          (r, i) =>
            i < s &&
            numberOf(i) === numberOf(s) &&
            (r.issuer === recipient || recipientsOf.get(r.reportId)!.has(recipient)),
        )
        .slice(-MAX_RELATED)
        .map((r) => ({
          issuer: r.issuer,
          reportId: r.reportId,
          seq: seqOf.get(r.reportId)!,
          kinds: ['phone'],
        }));

    const got = await bounded(alerts(), 120_000, 'reading ALERTS');
    const byKey = new Map<string, StoredAlert>();
    for (const a of got) {
      const key = `${a.reportId}/${a.recipient}`;
      expect(byKey.has(key), `${key} stored twice`).toBe(false);
      byKey.set(key, a);
    }
    let expectedAlerts = 0;
    let linked = 0;
    for (const [i, r] of reports.entries())
      for (const recipient of recipientsOf.get(r.reportId)!) {
        expectedAlerts++;
        const alert = byKey.get(`${r.reportId}/${recipient}`);
        expect(alert, `alert of ${r.reportId} for ${recipient}`).toBeDefined();
        expect(alert!.related, `related of ${r.reportId} for ${recipient}`).toEqual(
          expectedRelated(recipient, i),
        );
        linked += alert!.related.length;
      }
    expect(got).toHaveLength(expectedAlerts);
    expect(linked).toBeGreaterThan(expectedAlerts);
    // One entry per report (one phone each): the pre-indexed batch and the killed router's
    // batches were indexed again without a second copy.
    expect((await hub.jsm.streams.info(SELECTOR_INDEX_STREAM)).state.messages).toBe(REPORTS);

    second.child.kill('SIGTERM');
    expect((await bounded(second.exited, 60_000, 'router stop')).code).toBe(0);
    process.stderr.write(
      `related crash test: ${REPORTS} reports, ${expectedAlerts} alerts naming ${linked} related reports; ` +
        `SIGKILL after ${Math.round(killedAfter)} ms with ${atKill - firstSeq + 1} acked; the rest routed ` +
        `in ${Math.round(drainedAfter)} ms after the restart (ack wait ${ACK_WAIT_MS} ms)\n`,
    );
  }, 900_000);
});
