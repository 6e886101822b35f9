import {
  AlertHeaders,
  AlertKind,
  ROUTER_CONSUMER,
  Streams,
  alertMsgId,
  alertSubject,
  deliveredSubjectFilter,
} from '@mosaic/protocol';
import { jetstream } from '@nats-io/jetstream';
import { headers, nanos } from '@nats-io/transport-node';
import { logSink } from '@mosaic/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BE, DE, FR, NGO, NL, report, startTestHub, type TestHub } from './support/hub.ts';

/** Shorter than the pauses below, so JetStream's msg-id dedupe cannot hide a second alert. */
const DUPLICATE_WINDOW_MS = 500;
const ACK_WAIT_MS = 600;

let hub: TestHub;

beforeEach(async () => {
  hub = await startTestHub({ alertsDuplicateWindowMs: DUPLICATE_WINDOW_MS });
  await hub.createRouterConsumer(ACK_WAIT_MS);
});
afterEach(async () => {
  await hub[Symbol.asyncDispose]();
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Pulls the next report through the router durable as a router that then dies unacked. */
async function takeUnacked() {
  const nc = await hub.connectAs(hub.ids.services.router);
  const consumer = await jetstream(nc).consumers.get(Streams.Reports, ROUTER_CONSUMER);
  const m = await consumer.next({ expires: 5_000 });
  if (m === null) throw new Error('no report delivered');
  return { nc, m };
}

describe('router redelivery (a crash between alert publish and ack)', () => {
  it('after the dedupe window, a redelivered report adds only the missing alerts, never a second one', async () => {
    const r = report(NL, { handling: { tlp: 'GREEN' } });
    const [stored] = await hub.store([r]);
    const { nc, m } = await takeUnacked();
    // The dead router had stored de-bka's alert (as the router writes one), then died before
    // the others and the ack.
    const h = headers();
    h.set(AlertHeaders.Kind, AlertKind.Report);
    h.set(AlertHeaders.Recipient, DE);
    h.set(AlertHeaders.Issuer, NL);
    h.set(AlertHeaders.ReportId, r.reportId);
    h.set(AlertHeaders.ReportSeq, String(stored!.seq));
    h.set(AlertHeaders.Reason, JSON.stringify({ clause: 'P9-green', via: 'community' }));
    await jetstream(nc).publish(alertSubject(DE, AlertKind.Report, NL, r.reportId), m.data, {
      msgID: alertMsgId(NL, r.reportId, DE),
      headers: h,
    });
    await nc.close();

    // The window really is over: the same msg id is stored again now.
    const probe = jetstream(await hub.connectAs(hub.ids.admin));
    await pause(DUPLICATE_WINDOW_MS + ACK_WAIT_MS);
    const again = await probe.publish('mosaic.alerts.probe.report.x.y', 'p', { msgID: 'probe' });
    await pause(DUPLICATE_WINDOW_MS + 100);
    const later = await probe.publish('mosaic.alerts.probe.report.x.y', 'p', { msgID: 'probe' });
    expect(later.duplicate).toBe(false);
    expect(later.seq).toBeGreaterThan(again.seq);

    const sink = logSink('router');
    await hub.router({ log: sink.log });
    await hub.drained();
    expect(await hub.alertSubjects(deliveredSubjectFilter(NL, r.reportId))).toEqual({
      [alertSubject(BE, AlertKind.Report, NL, r.reportId)]: 1,
      [alertSubject(DE, AlertKind.Report, NL, r.reportId)]: 1,
      [alertSubject(FR, AlertKind.Report, NL, r.reportId)]: 1,
    });
    expect(sink.records.find((x) => x['seq'] === stored!.seq)).toMatchObject({
      msg: 'report routed',
      redelivered: true,
      alreadyStored: 1,
      recipients: [BE, DE, FR],
    });
  });

  it('a retraction delivered before its original is redelivered waits for it, then reaches its recipients', async () => {
    // The dead router's hold outlasts any start-up, however loaded the machine: the original
    // comes back only when the test hands it back, once the retraction was seen waiting.
    await hub.jsm.consumers.update(Streams.Reports, ROUTER_CONSUMER, {
      ack_wait: nanos(600_000),
    });
    const original = report(NL, { category: 'exploitation' });
    await hub.store([original]);
    const { nc, m } = await takeUnacked();
    // Never delivered yet, so offered to the new router at once, ahead of the original.
    // No rule matches its category: only the original's recipients (L1) may get it.
    const retraction = report(NL, {
      category: 'document-fraud',
      lineage: { retracts: original.reportId },
    });
    await hub.store([retraction]);

    const sink = logSink('router');
    await hub.router({ log: sink.log });
    const waits = () =>
      sink.records.some((x) => x['msg'] === 'follow-up waits for the report it refers to');
    for (const deadline = Date.now() + 60_000; !waits() && Date.now() < deadline;) await pause(50);
    expect(waits()).toBe(true);
    // As when the dead router's ack wait runs out: the original is offered again.
    m.nak();
    await nc.flush();
    await nc.close();
    await hub.drained();
    expect(await hub.alertSubjects(deliveredSubjectFilter(NL, original.reportId))).toEqual({
      [alertSubject(BE, AlertKind.Report, NL, original.reportId)]: 1,
      [alertSubject(NGO, AlertKind.Report, NL, original.reportId)]: 1,
    });
    expect(await hub.alertSubjects(deliveredSubjectFilter(NL, retraction.reportId))).toEqual({
      [alertSubject(BE, AlertKind.Retraction, NL, retraction.reportId)]: 1,
      [alertSubject(NGO, AlertKind.Retraction, NL, retraction.reportId)]: 1,
    });
  });
});
