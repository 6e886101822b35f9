/**
 * The subscriber side against a real nats-server configured with the hub's permissions.
 * Alerts are written into ALERTS as the router identity (the wire contract of
 * alert-protocol.ts), so every check here is about the agency's side alone.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ErrorCode } from '@mosaic/errors';
import {
  AlertHeaders,
  AlertKind,
  PUBLIC_KEYS_BUCKET,
  REGISTRY_BUCKET,
  Streams,
  alertMsgId,
  alertSubject,
  alertsConsumer,
  alertsConsumerConfig,
  seedRegistry,
  syncPublicKeys,
  HUB_API_PREFIX,
} from '@mosaic/protocol';
import { startBrokerHub, type BrokerHub } from '@mosaic/identities/test-support';
import type { Federation } from '@mosaic/federation';
import { agencyKeys, policeFederation } from '@mosaic/federation/internal';
import { jwksKeyLookup, signReport, type AgencyKeyPair } from '@mosaic/signing';
import { jetstream, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { PermissionViolationError, headers, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAgency, keysFromHub, type Alert, type InvalidAlert } from '../src/index.ts';

const NL = 'nl-police';
const DE = 'de-bka';
const RO = 'ro-dicot';
const AGENCIES = [NL, DE, RO];

let hub: BrokerHub;
let keys: Map<string, AgencyKeyPair>;
let federation: Federation;
let dir: string;
let operator: NatsConnection;
let router: NatsConnection;
let jsm: JetStreamManager;
let keysKv: KV;

/** The test federation; `revokedAt` revokes ro-dicot's key. */
function federationWith(revokedAt?: string): Federation {
  return policeFederation(
    { [NL]: 'NL', [DE]: 'DE', [RO]: 'RO' },
    keys,
    revokedAt === undefined ? {} : { [RO]: revokedAt },
  );
}

beforeAll(async () => {
  keys = await agencyKeys(AGENCIES);
  federation = federationWith();
  hub = await startBrokerHub(federation, { dirPrefix: 'mosaic-sdk-subscribe-' });
  const { ids } = hub;
  ({ jsm, dir } = hub);
  operator = await hub.connectAs(ids.admin);
  router = await hub.connectAs(ids.services.router);
  for (const a of AGENCIES) await jsm.consumers.add(Streams.Alerts, alertsConsumerConfig(a));
  keysKv = await new Kvm(operator).create(PUBLIC_KEYS_BUCKET, { history: 4 });
  await syncPublicKeys(keysKv, federation);
  await seedRegistry(await new Kvm(operator).create(REGISTRY_BUCKET), federation);
  for (const a of AGENCIES) await hub.contextPath(ids.agencies.get(a)!);
});
afterAll(async () => {
  await hub[Symbol.asyncDispose]();
});

function report(issuer: string, overrides: Record<string, unknown> = {}) {
  return {
    schemaVersion: '1.0',
    reportId: randomUUID(),
    issuer,
    issuedAt: new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    origin: issuer === NL ? 'NL' : issuer === DE ? 'DE' : 'RO',
    jurisdictions: ['NL'],
    category: 'recruitment',
    indicators: [{ type: 'phone', number: '+31612345678' }],
    narrative: 'subscriber test',
    grading: { sourceReliability: 'B', informationCredibility: 2, confidence: 70 },
    handling: { tlp: 'GREEN' },
    ...overrides,
  };
}

interface Written {
  seq: number;
  reportId: string;
  issuer: string;
  jws: string;
}

/** Appends an alert as the router would; `tweak` may falsify what the router would not. */
async function writeAlert(
  recipient: string,
  issuer: string,
  tweak: { jws?: (jws: string) => string; headers?: Record<string, string> } = {},
): Promise<Written> {
  const body = report(issuer);
  const signed = await signReport(body, keys.get(issuer)!.privateJwk);
  const jws = tweak.jws ? tweak.jws(signed) : signed;
  const h = headers();
  const values: Record<string, string> = {
    [AlertHeaders.Kind]: AlertKind.Report,
    [AlertHeaders.Recipient]: recipient,
    [AlertHeaders.Issuer]: issuer,
    [AlertHeaders.ReportId]: body.reportId,
    [AlertHeaders.ReportSeq]: '7',
    [AlertHeaders.Reason]: JSON.stringify({
      clause: 'P9-GREEN',
      via: 'federation',
      rule: { index: 0 },
    }),
    ...tweak.headers,
  };
  for (const [k, v] of Object.entries(values)) h.set(k, v);
  const ack = await jetstream(router).publish(
    alertSubject(recipient, AlertKind.Report, issuer, body.reportId),
    jws,
    { msgID: alertMsgId(issuer, body.reportId, recipient), headers: h },
  );
  return { seq: ack.seq, reportId: body.reportId, issuer, jws };
}

async function agency(id: string) {
  return connectAgency({ context: join(dir, `${id}.json`) });
}

/** Drains whatever an agency has pending, so a test starts from a clean consumer. */
async function drain(id: string): Promise<void> {
  await using a = await agency(id);
  await a.subscribe(() => undefined, { onInvalid: () => undefined });
}

async function until(what: string, condition: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('agency.subscribe', () => {
  it('hands over verified alerts in stream order, returns when drained, resumes later', async () => {
    await drain(NL);
    const written = [
      await writeAlert(NL, DE),
      await writeAlert(NL, RO),
      await writeAlert(DE, RO), // another agency's: never seen by nl-police
      await writeAlert(NL, DE),
    ];
    const got: Alert[] = [];
    {
      await using a = await agency(NL);
      const summary = await a.subscribe((alert) => {
        got.push(alert);
      });
      expect(summary).toMatchObject({ delivered: 3, invalid: 0, skipped: 0, stopped: 'drained' });
      expect(summary.lastSeq).toBe(written[3]!.seq);
    }
    const mine = written.filter((_, i) => i !== 2);
    expect(got.map((a) => a.seq)).toEqual(mine.map((w) => w.seq));
    const first = got[0]!;
    expect(first).toMatchObject({
      id: `${DE}/${mine[0]!.reportId}/${NL}`,
      kind: 'report',
      originator: DE,
      kid: `${DE}/k1`,
      reason: { clause: 'P9-GREEN', via: 'federation', rule: { index: 0 } },
      reportSeq: 7,
      jws: mine[0]!.jws,
      redelivered: false,
    });
    expect(first.report.reportId).toBe(mine[0]!.reportId);
    expect(new TextDecoder().decode(first.payload)).toBe(
      Buffer.from(mine[0]!.jws.split('.')[1]!, 'base64url').toString('utf8'),
    );
    expect(Math.abs(first.storedAt.getTime() - Date.now())).toBeLessThan(10_000);

    await using again = await agency(NL);
    expect(await again.subscribe(() => undefined)).toMatchObject({ delivered: 0 });
    const later = await writeAlert(NL, RO);
    const seen: number[] = [];
    await again.subscribe((a) => {
      seen.push(a.seq);
    });
    expect(seen).toEqual([later.seq]);
  });

  it('acknowledges only after the handler resolved: a failing handler gets the alert again', async () => {
    await drain(NL);
    const w = [await writeAlert(NL, DE), await writeAlert(NL, DE), await writeAlert(NL, DE)];
    {
      await using a = await agency(NL);
      let calls = 0;
      await expect(
        a.subscribe(async (alert) => {
          calls++;
          await new Promise((r) => setTimeout(r, 5));
          if (alert.seq === w[1]!.seq) throw new Error('application down');
        }),
      ).rejects.toThrow('application down');
      expect(calls).toBe(2);
    }
    await using b = await agency(NL);
    const seen: Alert[] = [];
    await b.subscribe((alert) => {
      seen.push(alert);
    });
    expect(seen.map((a) => a.seq)).toEqual([w[1]!.seq, w[2]!.seq]);
    expect(seen[0]!.redelivered).toBe(true);
  });

  it('stops after max alerts; the rest come next time, in order', async () => {
    await drain(DE);
    const w: Written[] = [];
    for (let i = 0; i < 5; i++) w.push(await writeAlert(DE, NL));
    await using a = await agency(DE);
    const seen: number[] = [];
    const handler = (alert: Alert): void => {
      seen.push(alert.seq);
    };
    expect(await a.subscribe(handler, { max: 2 })).toMatchObject({ delivered: 2, stopped: 'max' });
    expect(await a.subscribe(handler, { max: 1 })).toMatchObject({ delivered: 1, stopped: 'max' });
    expect(await a.subscribe(handler)).toMatchObject({ delivered: 2, stopped: 'drained' });
    expect(seen).toEqual(w.map((x) => x.seq));
    await expect(a.subscribe(handler, { max: 0 })).rejects.toMatchObject({
      code: ErrorCode.Usage,
    });
  });

  it('refuses a tampered alert: not handed over, terminated, counted and reported', async () => {
    await drain(NL);
    const good1 = await writeAlert(NL, DE);
    const tampered = await writeAlert(NL, DE, {
      jws: (jws) => {
        const [h, p, s] = jws.split('.');
        const body = JSON.parse(Buffer.from(p!, 'base64url').toString('utf8')) as {
          narrative: string;
        };
        body.narrative = 'rewritten by the hub';
        return `${h}.${Buffer.from(JSON.stringify(body)).toString('base64url')}.${s}`;
      },
    });
    const lying = await writeAlert(NL, DE, { headers: { [AlertHeaders.Issuer]: RO } });
    const good2 = await writeAlert(NL, RO);
    await using a = await agency(NL);
    const seen: number[] = [];
    const refused: InvalidAlert[] = [];
    const summary = await a.subscribe((alert) => void seen.push(alert.seq), {
      onInvalid: (bad) => refused.push(bad),
    });
    expect(summary).toMatchObject({ delivered: 2, invalid: 2 });
    expect(seen).toEqual([good1.seq, good2.seq]);
    expect(refused.map((r) => [r.seq, r.code])).toEqual([
      [tampered.seq, ErrorCode.SignatureInvalid],
      [lying.seq, ErrorCode.AlertInvalid],
    ]);
    // Terminated, not left for redelivery: nothing is pending or awaiting an ack.
    const info = await jetstream(a.connection, { apiPrefix: HUB_API_PREFIX }).consumers.get(
      Streams.Alerts,
      alertsConsumer(NL),
    );
    await until('terms applied', async () => {
      const i = await info.info();
      return i.num_pending === 0 && i.num_ack_pending === 0;
    });
    expect(await a.subscribe(() => undefined)).toMatchObject({ delivered: 0, invalid: 0 });
  });

  it('refuses an alert whose headers lie about its kind, the reports it refers to or its id', async () => {
    await drain(NL);
    /** An alert written with the break-glass identity, headers as given. */
    const doctored = async (
      body: ReturnType<typeof report>,
      kind: AlertKind,
      extra: { refers?: string; msgId?: string } = {},
    ): Promise<number> => {
      const h = headers();
      h.set(AlertHeaders.Kind, kind);
      h.set(AlertHeaders.Recipient, NL);
      h.set(AlertHeaders.Issuer, DE);
      h.set(AlertHeaders.ReportId, body.reportId);
      h.set(AlertHeaders.ReportSeq, '7');
      h.set(AlertHeaders.Reason, JSON.stringify({ clause: 'P9-green', via: 'community' }));
      if (extra.refers !== undefined) h.set(AlertHeaders.Refers, extra.refers);
      const ack = await jetstream(operator).publish(
        alertSubject(NL, kind, DE, body.reportId),
        await signReport(body, keys.get(DE)!.privateJwk),
        { msgID: extra.msgId ?? alertMsgId(DE, body.reportId, NL), headers: h },
      );
      return ack.seq;
    };
    const earlier = randomUUID();
    const update = () => report(DE, { lineage: { supersedes: [earlier] } });
    const lies = [
      await doctored(report(DE), AlertKind.Supersede, { refers: earlier }),
      await doctored(report(DE), AlertKind.Retraction, { refers: earlier }),
      await doctored(report(DE), AlertKind.Report, { refers: earlier }),
      await doctored(update(), AlertKind.Report),
      await doctored(update(), AlertKind.Supersede, { refers: randomUUID() }),
      await doctored(update(), AlertKind.Supersede, {
        refers: earlier,
        msgId: alertMsgId(DE, randomUUID(), NL),
      }),
    ];
    const honest = await doctored(update(), AlertKind.Supersede, { refers: earlier });
    await using a = await agency(NL);
    const seen: Alert[] = [];
    const refused: InvalidAlert[] = [];
    const summary = await a.subscribe((alert) => void seen.push(alert), {
      onInvalid: (bad) => refused.push(bad),
    });
    expect(summary).toMatchObject({ delivered: 1, invalid: lies.length });
    expect(refused.map((r) => [r.seq, r.code])).toEqual(
      lies.map((seq) => [seq, ErrorCode.AlertInvalid]),
    );
    expect(seen.map((alert) => [alert.seq, alert.kind, alert.refersTo])).toEqual([
      [honest, AlertKind.Supersede, [earlier]],
    ]);
  });

  it('verifies with pinned keys instead of the hub’s when given them', async () => {
    await drain(RO);
    const fromNl = await writeAlert(RO, NL);
    const fromDe = await writeAlert(RO, DE);
    await using a = await agency(RO);
    const pinned = jwksKeyLookup({ keys: [keys.get(DE)!.publicJwk] });
    const seen: number[] = [];
    const refused: InvalidAlert[] = [];
    await a.subscribe((alert) => void seen.push(alert.seq), {
      keys: pinned,
      onInvalid: (bad) => refused.push(bad),
    });
    expect(seen).toEqual([fromDe.seq]);
    expect(refused).toMatchObject([{ seq: fromNl.seq, code: ErrorCode.KeyUnknown }]);
  });

  it('accepts alerts stored before a revocation and refuses those stored after it', async () => {
    await drain(DE);
    const before = await writeAlert(DE, RO);
    await new Promise((r) => setTimeout(r, 20));
    await syncPublicKeys(keysKv, federationWith(new Date().toISOString()));
    try {
      await new Promise((r) => setTimeout(r, 20));
      const after = await writeAlert(DE, RO);
      await using a = await agency(DE);
      const seen: number[] = [];
      const refused: InvalidAlert[] = [];
      await a.subscribe((alert) => void seen.push(alert.seq), {
        onInvalid: (bad) => refused.push(bad),
      });
      expect(seen).toEqual([before.seq]);
      expect(refused).toMatchObject([{ seq: after.seq, code: ErrorCode.KeyRevoked }]);
    } finally {
      await syncPublicKeys(keysKv, federation);
    }
  });

  it('with since, acknowledges older alerts unseen', async () => {
    await drain(NL);
    await writeAlert(NL, DE);
    await new Promise((r) => setTimeout(r, 20));
    const since = new Date();
    const newer = await writeAlert(NL, DE);
    await using a = await agency(NL);
    const seen: number[] = [];
    expect(await a.subscribe((alert) => void seen.push(alert.seq), { since })).toMatchObject({
      delivered: 1,
      skipped: 1,
    });
    expect(seen).toEqual([newer.seq]);
    expect(await a.subscribe(() => undefined)).toMatchObject({ delivered: 0, skipped: 0 });
  });

  it('with follow, waits for new alerts until aborted', async () => {
    await drain(DE);
    await using a = await agency(DE);
    const controller = new AbortController();
    const seen: number[] = [];
    const running = a.subscribe(
      (alert) => {
        seen.push(alert.seq);
        if (seen.length === 2) controller.abort();
      },
      { follow: true, signal: controller.signal },
    );
    await new Promise((r) => setTimeout(r, 300));
    const w1 = await writeAlert(DE, NL);
    const w2 = await writeAlert(DE, RO);
    expect(await running).toMatchObject({ delivered: 2, stopped: 'aborted' });
    expect(seen).toEqual([w1.seq, w2.seq]);
  });

  it('fails with ERR_UNAVAILABLE when the hub has not created the consumer', async () => {
    await jsm.consumers.delete(Streams.Alerts, alertsConsumer(RO));
    try {
      await using a = await agency(RO);
      await expect(a.subscribe(() => undefined)).rejects.toMatchObject({
        code: ErrorCode.Unavailable,
      });
    } finally {
      await jsm.consumers.add(Streams.Alerts, alertsConsumerConfig(RO));
    }
  });
});

describe('the public-keys projection', () => {
  it('an agency reads single keys from it', async () => {
    await using a = await agency(NL);
    const record = await keysFromHub(a).resolve(`${DE}/k1`);
    expect(record).toMatchObject({ kid: `${DE}/k1`, agency: DE, keyId: 'k1' });
    expect(record?.publicJwk.x).toBe(keys.get(DE)!.publicJwk.x);
    expect(await keysFromHub(a, { missWaitMs: 0 }).resolve(`${DE}/nope`)).toBeUndefined();
    expect(await keysFromHub(a).resolve('not-a-kid')).toBeUndefined();
  });

  it('an agency cannot write it, nor read the registry', async () => {
    await using a = await agency(NL);
    const kv = await new Kvm(a.connection).open(PUBLIC_KEYS_BUCKET);
    const write: unknown = await kv.put(`${NL}.k2`, '{}').catch((e: unknown) => e);
    expect(write).toBeInstanceOf(Error);
    expect(await keysKv.get(`${NL}.k2`)).toBeNull();
    const registry = await new Kvm(a.connection).open(REGISTRY_BUCKET);
    const read: unknown = await registry.get('meta').catch((e: unknown) => e);
    let e: unknown = read;
    while (e instanceof Error && !(e instanceof PermissionViolationError)) e = e.cause;
    expect(e).toBeInstanceOf(PermissionViolationError);
  });

  it('follows the registry: unchanged keys are not rewritten, keys of a removed agency are retired', async () => {
    const status = await keysKv.status();
    const before = status.values;
    expect(await syncPublicKeys(keysKv, federation)).toEqual({
      written: [],
      retired: [],
      deleted: [],
    });
    expect((await keysKv.status()).values).toBe(before);
    const smaller = { ...federation, agencies: federation.agencies.filter((x) => x.id !== RO) };
    const removedAt = new Date();
    try {
      expect(await syncPublicKeys(keysKv, smaller, removedAt)).toEqual({
        written: [],
        retired: [`${RO}.k1`],
        deleted: [],
      });
      // Kept, revoked at the removal: what it signed before stays verifiable, nothing later.
      await using a = await agency(NL);
      expect(await keysFromHub(a, { missWaitMs: 0 }).resolve(`${RO}/k1`)).toMatchObject({
        kid: `${RO}/k1`,
        revokedAt: removedAt.toISOString(),
      });
      expect(await syncPublicKeys(keysKv, smaller)).toEqual({
        written: [],
        retired: [],
        deleted: [],
      });
    } finally {
      expect(await syncPublicKeys(keysKv, federation)).toEqual({
        written: [`${RO}.k1`],
        retired: [],
        deleted: [],
      });
    }
  });
});
