/**
 * Regressions of the reply-subject attacks on the broker. With one shared account an agency
 * could make the broker write into any hub subject: it sent a JetStream API request it is
 * allowed to send (info or next message of its own alerts consumer, a get of the public-keys
 * bucket) with the reply subject set to the target, and the broker published the answer there,
 * where a stream captured it. Each test below replays the attack with all three request kinds
 * against a real hub and checks that its consequence cannot be reproduced any more.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  readStream,
  AUDIT_CHECKPOINTS_STREAM,
  AUDIT_CHECKPOINTS_SUBJECT,
  HUB_API_PREFIX,
  PUBLIC_KEYS_BUCKET,
  PUBLIC_KEYS_STREAM,
  REGISTRY_STREAM,
  ROUTER_CONSUMER,
  StreamSubjects,
  Streams,
  alertsConsumer,
  reportSubject,
} from '@mosaic/protocol';
import { ErrorCode } from '@mosaic/errors';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import { logSink } from '@mosaic/testkit';
import type { JetStreamManager } from '@nats-io/jetstream';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectOperator, type OperatorSession } from '@mosaic/operator';
import { startHub, type Hub } from '../src/index.ts';
import { example, quietLog, submit, tempDir } from './helpers.ts';

const ATTACKER = 'ngo-lastrada';
const MOSAIC_BIN = fileURLToPath(new URL('../../../packages/cli/bin/mosaic.js', import.meta.url));

/** Waits (bounded) until `check` holds; a condition on broker state, not a timer. */
async function until(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting until ${what}`);
}

async function connectAs(path: string): Promise<NatsConnection> {
  return connect({ ...contextConnectOptions(await readContextFile(path)), timeout: 5_000 });
}

/** A report of `issuer` built from an example, with a new id, issued now. */
async function reportFrom(
  name: string,
  changes: Record<string, unknown> = {},
): Promise<{ bytes: Uint8Array; reportId: string; body: Record<string, unknown> }> {
  const base = JSON.parse(new TextDecoder().decode(await example(name))) as Record<string, unknown>;
  const reportId = randomUUID();
  const body = { ...base, reportId, issuedAt: new Date().toISOString(), ...changes };
  return { bytes: new TextEncoder().encode(JSON.stringify(body)), reportId, body };
}

interface ConsumerState {
  num_pending: number;
  num_ack_pending: number;
  num_waiting: number;
  delivered: { consumer_seq: number };
}

/** The three kinds of JetStream API request an agency may send, as its account reaches them. */
function apiSubjects(agency: string, keyEntry: string) {
  const consumer = alertsConsumer(agency);
  return {
    info: `${HUB_API_PREFIX}.CONSUMER.INFO.${Streams.Alerts}.${consumer}`,
    next: `${HUB_API_PREFIX}.CONSUMER.MSG.NEXT.${Streams.Alerts}.${consumer}`,
    get: `${HUB_API_PREFIX}.DIRECT.GET.${PUBLIC_KEYS_STREAM}.$KV.${PUBLIC_KEYS_BUCKET}.${keyEntry}`,
  };
}

async function consumerState(nc: NatsConnection, agency: string): Promise<ConsumerState> {
  const { info } = apiSubjects(agency, 'x');
  return (await nc.request(info, '', { timeout: 5_000 })).json<ConsumerState>();
}

interface Env {
  hub: Hub;
  op: OperatorSession;
  conns: Map<string, NatsConnection>;
  records: Record<string, unknown>[];
}

function conn(env: Env, agency: string): NatsConnection {
  const nc = env.conns.get(agency);
  if (nc === undefined) throw new Error(`no connection for ${agency}`);
  return nc;
}

async function openEnv(dataDir: string, log = quietLog): Promise<Env> {
  const hub = await startHub({
    dataDir,
    log,
    checkpointEvery: { entries: 100_000, seconds: 3_600 },
  });
  const conns = new Map<string, NatsConnection>();
  for (const agency of ['nl-police', 'de-bka', 'ro-dicot', 'ngo-lastrada'])
    conns.set(agency, await connectAs(join(hub.contextsDir, `${agency}.json`)));
  const op = await connectOperator(join(hub.contextsDir, 'operator.json'));
  return { hub, op, conns, records: [] };
}

async function closeEnv(env: Env): Promise<void> {
  for (const nc of env.conns.values()) await nc.close();
  await env.op.close();
  await env.hub.stop();
}

async function publish(env: Env, issuer: string, bytes: Uint8Array) {
  return submit(conn(env, issuer), issuer, join(env.hub.keysDir, `${issuer}.jwk`), bytes);
}

/** Waits until the router has acknowledged every stored report (its entries are in AUDIT). */
async function routerIdle(jsm: JetStreamManager): Promise<void> {
  await until(async () => {
    const info = await jsm.consumers.info(Streams.Reports, ROUTER_CONSUMER);
    return info.num_pending + info.num_ack_pending === 0;
  }, 'the router routed every report');
}

/** Two GREEN reports the attacker is entitled to, routed: alerts pending on its consumer. */
async function pendingAlerts(env: Env, count = 2): Promise<void> {
  for (let i = 0; i < count; i++) {
    const { bytes } = await reportFrom('recruitment-advert.json', {
      handling: { tlp: 'GREEN', releasableTo: { jurisdictions: ['RO', 'NL', 'DE'] } },
    });
    const reply = await publish(env, 'ro-dicot', bytes);
    expect(reply, JSON.stringify(reply)).toMatchObject({ ok: true, duplicate: false });
  }
  await routerIdle(env.op.jsm);
  const state = await consumerState(conn(env, ATTACKER), ATTACKER);
  expect(state.num_pending).toBeGreaterThanOrEqual(count);
}

/**
 * The attack: every JetStream API request the attacker may send, each with `target` as its
 * reply subject — consumer info, next message (no wait, and a waiting pull while real alerts
 * are pending) and a direct get of a public key. Returns once the broker has handled all of
 * them: the same requests answered on the attacker's inbox, and no pull of its consumer left
 * waiting. (The broker hands a pulled alert only to a reply subject someone listens on: in
 * the attacker's account that is its own ingest subject alone, where the alert is delivered.)
 */
async function attack(env: Env, target: string, keyEntry = 'de-bka.demo'): Promise<void> {
  const nc = conn(env, ATTACKER);
  const before = await consumerState(nc, ATTACKER);
  expect(before.num_pending, 'alerts pending for the pulls').toBeGreaterThanOrEqual(2);
  const api = apiSubjects(ATTACKER, keyEntry);
  nc.publish(api.info, '', { reply: target });
  nc.publish(api.next, JSON.stringify({ batch: 1, no_wait: true }), { reply: target });
  nc.publish(api.next, JSON.stringify({ batch: 1, expires: 1e9 * 2 }), { reply: target });
  nc.publish(api.get, '', { reply: target });
  const got = await nc.request(api.get, '', { timeout: 5_000 });
  expect(got.headers?.get('Nats-Subject')).toBe(`$KV.${PUBLIC_KEYS_BUCKET}.${keyEntry}`);
  await until(
    async () => (await consumerState(nc, ATTACKER)).num_waiting === 0,
    'no pull of the attack is waiting any more',
  );
}

async function streamSubjects(
  jsm: JetStreamManager,
  stream: string,
  filter: string,
): Promise<Record<string, number>> {
  const info = await jsm.streams.info(stream, { subjects_filter: filter });
  return info.state.subjects ?? {};
}

async function lastSeq(jsm: JetStreamManager, stream: string): Promise<number> {
  return (await jsm.streams.info(stream)).state.last_seq;
}

interface AuditEntry {
  action: string;
  actor: { kind: string; id: string };
  subject?: { reportId?: string; issuer?: string };
  recipients?: { agency: string }[];
}

async function auditEntries(jsm: JetStreamManager, from = 1): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for await (const m of readStream(jsm, Streams.Audit, { from }))
    out.push(JSON.parse(new TextDecoder().decode(m.data)) as AuditEntry);
  return out;
}

describe('reply-subject attacks on the broker (one hub)', () => {
  let dir: AsyncDisposable & { path: string };
  let env: Env;

  beforeAll(async () => {
    dir = await tempDir();
    const sink = logSink('hub', { level: 'info' });
    env = await openEnv(dir.path, sink.log);
    env.records = sink.records;
  });

  afterAll(async () => {
    await closeEnv(env);
    await dir[Symbol.asyncDispose]();
  });

  it('confidentiality: a planted alert does not make the attacker a prior recipient of an AMBER follow-up', async () => {
    const jsm = env.op.jsm;
    const original = await reportFrom('recruitment-advert.json');
    const stored = await publish(env, 'ro-dicot', original.bytes);
    expect(stored).toMatchObject({ ok: true, duplicate: false });
    await pendingAlerts(env);
    const planted = `mosaic.alerts.${ATTACKER}.report.ro-dicot.${original.reportId}`;
    await attack(env, planted);

    expect(await streamSubjects(jsm, Streams.Alerts, planted)).toEqual({});
    const supersede = await reportFrom('superseding-update.json', {
      lineage: { supersedes: [original.reportId] },
    });
    const routed = await publish(env, 'ro-dicot', supersede.bytes);
    expect(routed).toMatchObject({ ok: true, duplicate: false });
    await routerIdle(jsm);

    // Neither report reached the attacker's consumer…
    for (const id of [original.reportId, supersede.reportId])
      expect(
        await streamSubjects(jsm, Streams.Alerts, `mosaic.alerts.${ATTACKER}.*.ro-dicot.${id}`),
      ).toEqual({});
    // …the follow-up went to the real earlier recipients, by lineage, and not to the attacker.
    const disclosed = (await auditEntries(jsm)).find(
      (e) => e.action === 'alert.disclosed' && e.subject?.reportId === supersede.reportId,
    );
    const recipients = disclosed?.recipients?.map((r) => r.agency) ?? [];
    expect(recipients).toContain('nl-police');
    expect(recipients).not.toContain(ATTACKER);
    expect(
      Object.keys(
        await streamSubjects(
          jsm,
          Streams.Alerts,
          `mosaic.alerts.*.*.ro-dicot.${supersede.reportId}`,
        ),
      ).map((s) => s.split('.')[2]),
    ).not.toContain(ATTACKER);
  });

  it('forged attribution: an answer aimed at another agency’s ingest subject is no submission of that agency', async () => {
    const jsm = env.op.jsm;
    const victim = 'de-bka';
    await pendingAlerts(env);
    const rejections = await lastSeq(jsm, Streams.Rejections);
    const audit = await lastSeq(jsm, Streams.Audit);
    const records = env.records.length;
    await attack(env, `mosaic.ingest.${victim}`);

    expect(await streamSubjects(jsm, Streams.Rejections, `mosaic.rejections.${victim}`)).toEqual(
      {},
    );
    expect(await lastSeq(jsm, Streams.Rejections)).toBe(rejections);
    expect(await lastSeq(jsm, Streams.Audit)).toBe(audit);
    // Ingest never saw anything on the victim's subject.
    expect(env.records.slice(records).filter((r) => r['agency'] === victim)).toEqual([]);
  });

  it('report-id squatting: planted reports do not make the issuer’s publish or retry conflict', async () => {
    const jsm = env.op.jsm;
    const existing = await reportFrom('financial-flow.json');
    const future = await reportFrom('financial-flow.json');
    const first = await publish(env, 'de-bka', existing.bytes);
    expect(first).toMatchObject({ ok: true, duplicate: false });
    const subjectOf = (r: { body: Record<string, unknown> }): string =>
      reportSubject(r.body as Parameters<typeof reportSubject>[0]);

    await pendingAlerts(env);
    await attack(env, subjectOf(existing));
    await pendingAlerts(env);
    await attack(env, subjectOf(future));

    const retry = await publish(env, 'de-bka', existing.bytes);
    expect(retry, JSON.stringify(retry)).toEqual({
      ok: true,
      reportId: existing.reportId,
      seq: first.seq,
      duplicate: true,
    });
    const later = await publish(env, 'de-bka', future.bytes);
    expect(later, JSON.stringify(later)).toMatchObject({ ok: true, duplicate: false });
    expect(later.code).not.toBe(ErrorCode.ReportConflict);
    for (const r of [existing, future])
      expect(await streamSubjects(jsm, Streams.Reports, subjectOf(r))).toEqual({
        [subjectOf(r)]: 1,
      });
  });

  it('audit destroyed: answers aimed at the audit log and its checkpoints are not stored; audit verify passes', async () => {
    const jsm = env.op.jsm;
    await pendingAlerts(env);
    await pendingAlerts(env);
    const audit = await lastSeq(jsm, Streams.Audit);
    const checkpoints = await lastSeq(jsm, AUDIT_CHECKPOINTS_STREAM);
    await attack(env, StreamSubjects[Streams.Audit]);
    await attack(env, AUDIT_CHECKPOINTS_SUBJECT);

    expect(await lastSeq(jsm, Streams.Audit)).toBe(audit);
    expect(await lastSeq(jsm, AUDIT_CHECKPOINTS_STREAM)).toBe(checkpoints);
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [MOSAIC_BIN, 'audit', 'verify', '--context', join(env.hub.contextsDir, 'operator.json')],
      { env: { ...process.env, MOSAIC_LOG_LEVEL: 'silent' } },
    );
    expect(JSON.parse(stdout), stderr).toMatchObject({ ok: true, entries: audit });
  });

  it('an answer aimed at the attacker’s own ingest subject is dropped as not attested: no rejection under any name', async () => {
    const jsm = env.op.jsm;
    const target = `mosaic.ingest.${ATTACKER}`;
    await using admin = await connectAs(join(env.hub.dataDir, 'breakglass', 'admin.json'));
    const relayed: Msg[] = [];
    admin.subscribe(target, {
      callback: (_err, msg) => {
        relayed.push(msg);
      },
    });
    await admin.flush();
    await pendingAlerts(env);
    const rejections = await lastSeq(jsm, Streams.Rejections);
    const records = env.records.length;
    await attack(env, target);

    // The four answers do reach the hub's ingest subject through the attacker's import…
    await until(() => relayed.length >= 4, 'the four answers reached mosaic.ingest');
    // …and ingest drops each one without storing or answering it: the answers on the
    // attacker's ingest subject are attested as the hub's own, not the agency's; the two
    // pulled alerts keep their stored subject, which is no ingest subject of anyone.
    const dropped = (): Record<string, unknown>[] =>
      env.records.slice(records).filter((r) => r['code'] === ErrorCode.SenderNotAttested);
    await until(() => dropped().length >= 4, 'ingest dropped the four answers');
    expect(dropped()).toHaveLength(4);
    const [onIngest, pulled] = [
      dropped().filter((r) => r['agency'] !== undefined),
      dropped().filter((r) => r['agency'] === undefined),
    ];
    expect(onIngest.map((r) => r['agency'])).toEqual([ATTACKER, ATTACKER]);
    expect(pulled.map((r) => String(r['subject']).split('.').slice(0, 3).join('.'))).toEqual([
      `mosaic.alerts.${ATTACKER}`,
      `mosaic.alerts.${ATTACKER}`,
    ]);
    expect(await lastSeq(jsm, Streams.Rejections)).toBe(rejections);
    const audit = await auditEntries(jsm);
    expect(audit.filter((e) => e.action === 'report.rejected')).toEqual([]);
  });
});

describe('reply-subject attacks on the key and registry buckets', () => {
  it('DoS: a key record cannot be overwritten nor a registry entry planted; revocation and restart still work', async () => {
    await using dir = await tempDir();
    const planted = `$KV.mosaic-registry.x-${ATTACKER}`;
    const keyEntry = 'de-bka.demo';
    {
      const env = await openEnv(dir.path);
      try {
        const jsm = env.op.jsm;
        await pendingAlerts(env, 4);
        const keysSeq = await lastSeq(jsm, PUBLIC_KEYS_STREAM);
        const record = await jsm.direct.getMessage(PUBLIC_KEYS_STREAM, {
          last_by_subj: `$KV.${PUBLIC_KEYS_BUCKET}.${keyEntry}`,
        });
        await attack(env, `$KV.${PUBLIC_KEYS_BUCKET}.${keyEntry}`, keyEntry);
        await attack(env, planted, keyEntry);

        expect(await lastSeq(jsm, PUBLIC_KEYS_STREAM)).toBe(keysSeq);
        const after = await jsm.direct.getMessage(PUBLIC_KEYS_STREAM, {
          last_by_subj: `$KV.${PUBLIC_KEYS_BUCKET}.${keyEntry}`,
        });
        expect(after?.seq).toBe(record?.seq);
        expect(after?.string()).toBe(record?.string());
        expect(await streamSubjects(jsm, REGISTRY_STREAM, planted)).toEqual({});

        const change = await env.op.revokeKey({
          agency: 'de-bka',
          keyId: 'demo',
          reason: 'revocation after the attack',
        });
        await until(
          () => env.hub.registry.revision() >= change.revision,
          'the live registry applied the revocation',
        );
        expect(env.hub.registry.agency('de-bka')?.keys[0]?.revokedAt).toBeDefined();
      } finally {
        await closeEnv(env);
      }
    }
    await using hub = await startHub({ dataDir: dir.path, log: quietLog });
    expect(hub.registry.agency('de-bka')?.keys[0]?.revokedAt).toBeDefined();
  });
});
