import {
  AlertHeaders,
  AlertKind,
  RegistryKeys,
  ROUTER_CONSUMER,
  Streams,
  alertMsgId,
  alertSubject,
  alertsConsumer,
  deliveredSubjectFilter,
} from '@mosaic/protocol';
import { type Agency } from '@mosaic/federation';
import { buildPolicyIndex, route } from '@mosaic/policy';
import { jetstream } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { logSink } from '@mosaic/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouterService } from '../src/index.ts';
import {
  AGENCIES,
  BE,
  DE,
  FR,
  NGO,
  NL,
  report,
  startTestHub,
  type TestHub,
  type TestReport,
} from './support/hub.ts';

let hub: TestHub;
let router: RouterService;
const sink = logSink('router');

beforeAll(async () => {
  hub = await startTestHub();
  router = await hub.router({ log: sink.log });
});
afterAll(async () => {
  await router.stop();
  await hub[Symbol.asyncDispose]();
});

/** Recipient → subject of every alert that carried the report. */
async function delivered(r: TestReport): Promise<Record<string, number>> {
  return hub.alertSubjects(deliveredSubjectFilter(r.issuer, r.reportId));
}

async function recipients(r: TestReport): Promise<string[]> {
  return Object.keys(await delivered(r))
    .map((s) => s.split('.')[2]!)
    .sort();
}

/** Stores the reports and waits until the router acked every one of them. */
async function routeAll(...reports: TestReport[]): Promise<{ jws: string; seq: number }[]> {
  const stored = await hub.store(reports);
  await hub.drained();
  return stored;
}

/** Replaces an agency's subscription rules in the registry and waits for the live view. */
async function setRules(agency: string, subscriptions: Agency['subscriptions']): Promise<void> {
  const current = hub.registry.agency(agency)!;
  const revision = await hub.kv.put(
    RegistryKeys.agency(agency),
    JSON.stringify({ ...current, subscriptions }),
  );
  await expect
    .poll(() => hub.registry.revision(), { timeout: 5_000 })
    .toBeGreaterThanOrEqual(revision);
}

describe('router', () => {
  it('creates the alerts consumer of every agency', async () => {
    for (const agency of AGENCIES) {
      const info = await hub.jsm.consumers.info(Streams.Alerts, alertsConsumer(agency));
      expect(info.config.filter_subject).toBe(`mosaic.alerts.${agency}.>`);
    }
  });

  it('routes a report to exactly the recipients of the policy, with the reason, the verbatim JWS and never to the originator', async () => {
    const r = report(NL, { handling: { tlp: 'GREEN' } });
    const [stored] = await routeAll(r);
    const expected = route(r as never, buildPolicyIndex(hub.federation), new Date());
    expect(expected.recipients.map((x) => x.agency)).toEqual([BE, DE, FR]);
    expect(await recipients(r)).toEqual([BE, DE, FR]);
    expect(await recipients(r)).not.toContain(NL);

    for (const { agency, reason } of expected.recipients) {
      const subject = alertSubject(agency, AlertKind.Report, NL, r.reportId);
      const m = await hub.jsm.streams.getMessage(Streams.Alerts, { last_by_subj: subject });
      expect(m).not.toBeNull();
      expect(new TextDecoder().decode(m!.data)).toBe(stored!.jws);
      expect(m!.header.get('Nats-Msg-Id')).toBe(alertMsgId(NL, r.reportId, agency));
      expect(m!.header.get(AlertHeaders.Kind)).toBe(AlertKind.Report);
      expect(m!.header.get(AlertHeaders.Recipient)).toBe(agency);
      expect(m!.header.get(AlertHeaders.Issuer)).toBe(NL);
      expect(m!.header.get(AlertHeaders.ReportId)).toBe(r.reportId);
      expect(m!.header.get(AlertHeaders.ReportSeq)).toBe(String(stored!.seq));
      expect(JSON.parse(m!.header.get(AlertHeaders.Reason))).toEqual(reason);
      expect(m!.header.has(AlertHeaders.Refers)).toBe(false);
    }
    const de = JSON.parse(
      (await hub.jsm.streams.getMessage(Streams.Alerts, {
        last_by_subj: alertSubject(DE, AlertKind.Report, NL, r.reportId),
      }))!.header.get(AlertHeaders.Reason),
    ) as { rule?: { name?: string } };
    expect(de.rule?.name).toBe('nl-de');
  });

  it('under AMBER delivers only to the agency covered by an agreement with the originator', async () => {
    const r = report(NL, { handling: { tlp: 'AMBER' } });
    await routeAll(r);
    expect(await recipients(r)).toEqual([DE]);
  });

  it('routes an expired report to nobody and logs the clause', async () => {
    const r = report(NL, {
      issuedAt: new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      handling: {
        tlp: 'CLEAR',
        validUntil: new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      },
    });
    const [stored] = await routeAll(r);
    expect(await delivered(r)).toEqual({});
    const record = sink.records.find((x) => x['seq'] === stored!.seq);
    expect(record).toMatchObject({
      service: 'router',
      msg: 'report routed to nobody',
      clause: 'P2-not-expired',
      issuer: NL,
      reportId: r.reportId,
    });
  });

  it('terminates a stored message that is not a report, with a structured error record, and goes on', async () => {
    const ingest = await hub.connectAs(hub.ids.services.ingest);
    const id = crypto.randomUUID();
    const { jetstream } = await import('@nats-io/jetstream');
    const ack = await jetstream(ingest).publish(
      `mosaic.reports.NL.recruitment.${NL}.${id}`,
      'not a jws',
    );
    const next = report(NL);
    await routeAll(next);
    const record = sink.records.find((x) => x['seq'] === ack.seq);
    expect(record).toMatchObject({
      level: 50,
      code: 'ERR_JWS_MALFORMED',
      msg: 'stored report cannot be parsed; not routed (terminated)',
    });
    expect(await recipients(next)).toEqual([BE, DE, FR]);
    const info = await hub.jsm.consumers.info(Streams.Reports, ROUTER_CONSUMER);
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_redelivered).toBe(0);
  });

  it('a retraction reaches every prior recipient after its rules excluded the category; a new report of the category then does not', async () => {
    const original = report(NL, { category: 'exploitation', handling: { tlp: 'GREEN' } });
    await routeAll(original);
    expect(await recipients(original)).toEqual([BE, NGO]);

    // ngo-x no longer wants exploitation reports from NL.
    await setRules(NGO, [
      { jurisdictions: ['NL'], categories: ['online-advertising'], maxTlp: 'GREEN' },
    ]);
    try {
      const retraction = report(NL, {
        category: 'exploitation',
        handling: { tlp: 'GREEN' },
        lineage: { retracts: original.reportId },
      });
      const supersede = report(NL, {
        category: 'exploitation',
        handling: { tlp: 'GREEN' },
        lineage: { supersedes: [original.reportId] },
      });
      const fresh = report(NL, { category: 'exploitation', handling: { tlp: 'GREEN' } });
      await routeAll(retraction, supersede, fresh);

      expect(await delivered(retraction)).toEqual({
        [alertSubject(BE, AlertKind.Retraction, NL, retraction.reportId)]: 1,
        [alertSubject(NGO, AlertKind.Retraction, NL, retraction.reportId)]: 1,
      });
      expect(await delivered(supersede)).toEqual({
        [alertSubject(BE, AlertKind.Supersede, NL, supersede.reportId)]: 1,
        [alertSubject(NGO, AlertKind.Supersede, NL, supersede.reportId)]: 1,
      });
      const m = await hub.jsm.streams.getMessage(Streams.Alerts, {
        last_by_subj: alertSubject(NGO, AlertKind.Retraction, NL, retraction.reportId),
      });
      expect(m!.header.get(AlertHeaders.Refers)).toBe(original.reportId);
      expect(JSON.parse(m!.header.get(AlertHeaders.Reason))).toMatchObject({ lineage: true });
      expect(await recipients(fresh)).toEqual([BE]);
    } finally {
      await setRules(NGO, hub.federation.agencies.find((a) => a.id === NGO)!.subscriptions);
    }
  });

  it('counts as an earlier recipient only an alert the router wrote: doctored ALERTS messages are ignored and logged', async () => {
    const original = report(NL, { handling: { tlp: 'AMBER' } });
    const other = report(NL, { handling: { tlp: 'AMBER' } });
    const [stored, otherStored] = await routeAll(original, other);
    expect(await recipients(original)).toEqual([DE]);
    const admin = jetstream(await hub.connectAs(hub.ids.admin));
    // One forgery per subject (the router reads the last alert of each): FR, BE and ngo-x are
    // none of them entitled to an AMBER report of NL.
    const forge = async (
      recipient: string,
      kind: AlertKind,
      data: string,
      values: Record<string, string>,
      msgID: string,
    ): Promise<number> => {
      const h = headers();
      for (const [k, v] of Object.entries(values)) h.set(k, v);
      const subject = alertSubject(recipient, kind, NL, original.reportId);
      return (await admin.publish(subject, data, { msgID, headers: h })).seq;
    };
    const routerHeaders = (recipient: string, kind: AlertKind): Record<string, string> => ({
      [AlertHeaders.Kind]: kind,
      [AlertHeaders.Recipient]: recipient,
      [AlertHeaders.Issuer]: NL,
      [AlertHeaders.ReportId]: original.reportId,
      [AlertHeaders.ReportSeq]: String(stored!.seq),
      [AlertHeaders.Reason]: JSON.stringify({ clause: 'P9-amber', via: 'agreement' }),
    });
    const records = sink.records.length;
    const forged = [
      // The verbatim report without the router's headers…
      await forge(FR, AlertKind.Report, stored!.jws, {}, 'forged-1'),
      // …the router's headers around another report…
      await forge(
        BE,
        AlertKind.Report,
        otherStored!.jws,
        routerHeaders(BE, AlertKind.Report),
        alertMsgId(NL, original.reportId, BE),
      ),
      // …a message id the router does not give…
      await forge(NGO, AlertKind.Report, stored!.jws, routerHeaders(NGO, AlertKind.Report), 'x'),
      // …and a kind the report's lineage does not give.
      await forge(
        FR,
        AlertKind.Supersede,
        stored!.jws,
        routerHeaders(FR, AlertKind.Supersede),
        alertMsgId(NL, original.reportId, FR),
      ),
    ];

    const supersede = report(NL, {
      handling: { tlp: 'AMBER' },
      lineage: { supersedes: [original.reportId] },
    });
    await routeAll(supersede);
    expect(await recipients(supersede)).toEqual([DE]);
    const ignored = sink.records
      .slice(records)
      .filter((r) => String(r['msg']).startsWith('ALERTS message not written by the router'));
    expect(ignored.map((r) => r['alertSeq']).sort()).toEqual([...forged].sort());
  });

  it('a retraction stored right behind its original, routed concurrently, still reaches its recipients', async () => {
    const batch: TestReport[] = [];
    for (let i = 0; i < 20; i++) {
      const original = report(NL, { category: 'exploitation' });
      batch.push(
        original,
        report(NL, { category: 'exploitation', lineage: { retracts: original.reportId } }),
      );
    }
    await routeAll(...batch);
    for (let i = 0; i < batch.length; i += 2)
      expect(await recipients(batch[i + 1]!), `retraction ${i / 2}`).toEqual(
        await recipients(batch[i]!),
      );
    expect(await recipients(batch[0]!)).toEqual([BE, NGO]);
  });

  it('a rule change is not retroactive: it applies only to reports routed after it', async () => {
    const before = report(DE, { origin: 'DE', jurisdictions: ['DE'], category: 'transport' });
    await routeAll(before);
    expect(await recipients(before)).toEqual([]);

    // fr-police starts wanting DE transport; de-bka's earlier report must not reach it now.
    const fr = hub.federation.agencies.find((a) => a.id === FR)!;
    await setRules(FR, [
      ...fr.subscriptions,
      { jurisdictions: ['DE'], categories: ['transport'], maxTlp: 'GREEN' },
    ]);
    try {
      const after = report(DE, { origin: 'DE', jurisdictions: ['DE'], category: 'transport' });
      await routeAll(after);
      expect(await recipients(after)).toEqual([FR]);
      expect(await recipients(before)).toEqual([]);
    } finally {
      await setRules(FR, fr.subscriptions);
    }
    const later = report(DE, { origin: 'DE', jurisdictions: ['DE'], category: 'transport' });
    await routeAll(later);
    expect(await recipients(later)).toEqual([]);
  });

  it('creates the alerts consumer of an agency added to the registry', async () => {
    // Registry-only: the broker of this test hub does not know the agency, so the router
    // retries until it may; here it is enough that the router tries and does not stall.
    const lu = {
      ...hub.registry.agency(BE)!,
      id: 'lu-police',
      name: 'lu-police',
      jurisdictions: ['LU'],
      keys: [],
      subscriptions: [],
    };
    const revision = await hub.kv.put(RegistryKeys.agency('lu-police'), JSON.stringify(lu));
    await expect
      .poll(() => hub.registry.revision(), { timeout: 5_000 })
      .toBeGreaterThanOrEqual(revision);
    await expect
      .poll(() => sink.records.some((x) => x['agency'] === 'lu-police'), { timeout: 5_000 })
      .toBe(true);
    const r = report(NL);
    await routeAll(r);
    expect(await recipients(r)).toEqual([BE, DE, FR]);
    await hub.kv.delete(RegistryKeys.agency('lu-police'));
  });
});
