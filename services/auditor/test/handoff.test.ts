/**
 * A restarting auditor of a scaled-out pair reconciles while the other one serves a
 * continuous stream of audit requests: it must come up, and AUDIT must stay one verifying
 * chain that covers every stored report and alert.
 */
import {
  auditCoverage,
  decodeEntry,
  hubJwks,
  hubKeysFromJwks,
  verifyAuditLog,
} from '@mosaic/audit-log';
import {
  AlertHeaders,
  AlertKind,
  ReportHeaders,
  Streams,
  alertSubject,
  auditClient,
  readAuditCheckpoints,
  readStream,
  type AuditRequestOf,
} from '@mosaic/protocol';
import type { NatsServerHandle } from '@mosaic/testkit';
import { jetstream, type JetStreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuditor, type Auditor } from '../src/index.ts';
import { openAuditorTestBed, testLog, type AuditorTestBed } from './support/bed.ts';

let server: NatsServerHandle;
let nc: NatsConnection;
let jsm: JetStreamManager;
let key: AuditorTestBed['key'];
let bed: AuditorTestBed;
const log = testLog;

beforeAll(async () => {
  bed = await openAuditorTestBed([Streams.Reports, Streams.Alerts, Streams.Audit]);
  ({ server, nc, jsm, key } = bed);
});
afterAll(async () => {
  await bed.close();
});

/**
 * Reports (each with one alert to `de-bka`) stored as a crash leaves them: without entries.
 * Returns their report ids and REPORTS sequences.
 */
async function storeWithoutEntries(
  prefix: string,
  count: number,
): Promise<{ reportId: string; seq: number }[]> {
  const js = jetstream(nc);
  const stored: { reportId: string; seq: number }[] = [];
  for (let i = 0; i < count; i++) {
    const reportId = `${prefix}-${i}`;
    const h = headers();
    h.set(ReportHeaders.MsgId, `nl-police/${reportId}`);
    h.set(ReportHeaders.Agency, 'nl-police');
    const { seq } = await js.publish(`mosaic.reports.nl-police.${reportId}`, `report ${i}`, {
      headers: h,
    });
    const a = headers();
    a.set(AlertHeaders.MsgId, `de-bka/nl-police/${reportId}`);
    a.set(AlertHeaders.Kind, AlertKind.Report);
    a.set(AlertHeaders.Recipient, 'de-bka');
    a.set(AlertHeaders.Issuer, 'nl-police');
    a.set(AlertHeaders.ReportId, reportId);
    a.set(AlertHeaders.ReportSeq, String(seq));
    await js.publish(alertSubject('de-bka', AlertKind.Report, 'nl-police', reportId), `a ${i}`, {
      headers: a,
    });
    stored.push({ reportId, seq });
  }
  return stored;
}

/** AUDIT's entries, checked to verify as one chain with every checkpoint. */
async function verifiedAudit(): Promise<{ index: number; seq: number; data: Uint8Array }[]> {
  const items: { index: number; seq: number; data: Uint8Array }[] = [];
  for await (const m of readStream(jsm, Streams.Audit))
    items.push({ index: items.length, seq: m.seq, data: m.data });
  const cps = (await readAuditCheckpoints(jsm)).map((c) => c.text);
  const keys = hubKeysFromJwks(hubJwks([{ name: key.name, publicJwk: key.publicJwk }]));
  expect(await verifyAuditLog(items, cps, keys)).toMatchObject({ ok: true });
  return items;
}

/** Every one of `lost` has its collection and its disclosure entry, each recovered once. */
function expectRecoveredOnce(
  items: { index: number; seq: number; data: Uint8Array }[],
  lost: { reportId: string; seq: number }[],
): void {
  const coverage = auditCoverage(items);
  for (const { reportId, seq } of lost) {
    expect(coverage.collects(Streams.Reports, seq), `REPORTS seq ${seq}`).toBe(true);
    expect(
      coverage.discloses({ recipient: 'de-bka', issuer: 'nl-police', reportId }),
      `alert of ${reportId}`,
    ).toBe(true);
  }
  const ids = new Set(lost.map((l) => l.reportId));
  const recovered = items
    .map((i) => decodeEntry(i.data))
    .filter((e) => e.recovered === true && ids.has(e.subject?.reportId ?? ''));
  expect(recovered).toHaveLength(2 * lost.length);
}

const collected = (n: number): AuditRequestOf<'ingest'> => ({
  actor: { kind: 'agency', id: 'nl-police' },
  action: 'report.accepted',
  subject: { reportId: `busy-${n}`, issuer: 'nl-police', contentHash: '0'.repeat(64) },
  refs: [{ stream: Streams.Rejections, seq: n }],
});

describe('a restarted auditor while another serves', () => {
  it('reconciles under a continuous stream of appends: it serves, AUDIT is one chain, every report and alert is covered', async () => {
    const LOST = 400;
    const aNc = await connect({ servers: server.url });
    const bNc = await connect({ servers: server.url });
    const busyNc = await connect({ servers: server.url });
    let serving: Auditor | undefined;
    let restarted: Auditor | undefined;
    let busy = true;
    let recorded = 0;
    let lost: { reportId: string; seq: number }[] = [];
    const failures: unknown[] = [];
    const load: Promise<void>[] = [];
    // A copy of every hand-over (outside the queue group): the restart asked the other auditor.
    let handedOver = 0;
    const watch = busyNc.subscribe('mosaic.hub.audit.auditor', {
      callback: () => {
        handedOver++;
      },
    });
    await busyNc.flush();
    try {
      serving = await startAuditor({
        nc: aNc,
        hubKey: key,
        log,
        consultations: false,
        reconcileWith: jsm,
      });
      lost = await storeWithoutEntries('lost', LOST);

      // The hub is busy: 32 senders each send their next request as soon as the last is answered.
      const client = auditClient(busyNc, 'ingest');
      let n = 0;
      for (let s = 0; s < 32; s++)
        load.push(
          (async () => {
            while (busy) {
              try {
                await client.record(collected(++n));
                recorded++;
              } catch (err) {
                failures.push(err);
              }
            }
          })(),
        );
      // The stream of appends is under way before the second auditor starts.
      for (let i = 0; i < 1_000 && recorded < 200; i++)
        await new Promise((resolve) => setTimeout(resolve, 10));
      expect(recorded).toBeGreaterThanOrEqual(200);

      restarted = await startAuditor({
        nc: bNc,
        hubKey: key,
        log,
        consultations: false,
        reconcileWith: jsm,
      });
      // It serves: its own appends (the queue group hands it requests too) are stored.
      const before = recorded;
      for (let i = 0; i < 1_000 && recorded < before + 200; i++)
        await new Promise((resolve) => setTimeout(resolve, 10));
      expect(recorded).toBeGreaterThanOrEqual(before + 200);
      expect(await restarted.append(collected(1_000_000))).toBeGreaterThan(0);
    } finally {
      busy = false;
      await Promise.all(load);
      watch.unsubscribe();
      await restarted?.stop();
      await serving?.stop();
      await Promise.all([aNc, bNc, busyNc].map((c) => c.close()));
    }
    expect(failures).toEqual([]);

    const items = await verifiedAudit();
    expectRecoveredOnce(items, lost);
    // Nothing else is recovered.
    expect(auditCoverage(items).recovered).toBe(2 * LOST);
    expect(handedOver).toBe(2 * LOST);
  }, 180_000);

  it('appends its recovered entries itself when the auditor answering the hand-over refuses them, stops answering or is not there', async () => {
    for (const answer of ['refuses', 'stops answering', 'is not there'] as const) {
      // More entries than the 64 handed over at once and the 64 woken as those end.
      const lost = await storeWithoutEntries(`lost-${answer.replaceAll(' ', '-')}`, 100);
      // An auditor of another version that refuses, or one that dies holding the request.
      const other = await connect({ servers: server.url });
      let asked = 0;
      const sub = other.subscribe(
        answer === 'is not there' ? 'mosaic.hub.audit.nobody' : 'mosaic.hub.audit.auditor',
        {
          queue: 'auditor',
          callback: (_err, msg) => {
            asked++;
            if (answer === 'refuses')
              msg.respond(JSON.stringify({ ok: false, code: 'ERR_UNAVAILABLE', message: 'no' }));
          },
        },
      );
      await other.flush();
      const restartedNc = await connect({ servers: server.url });
      try {
        const restarted = await startAuditor({
          nc: restartedNc,
          hubKey: key,
          log,
          consultations: false,
          reconcileWith: jsm,
        });
        await restarted.stop();
      } finally {
        sub.unsubscribe();
        await Promise.all([other.close(), restartedNc.close()]);
      }
      // Refused: each was asked once and appended here. Unanswered: those in flight (at
      // most 64) were asked, the rest appended here without asking. Not there: none asked.
      if (answer === 'refuses') expect(asked).toBe(2 * lost.length);
      else if (answer === 'stops answering') {
        expect(asked).toBeGreaterThan(0);
        expect(asked).toBeLessThanOrEqual(64);
      } else expect(asked).toBe(0);
      expectRecoveredOnce(await verifiedAudit(), lost);
    }
  }, 120_000);
});
