/**
 * Broker isolation through a real nats-server configured by brokerAuthConfig(): agency
 * `nl` must not reach anything of agency `nl-police` (whose id it prefixes) nor the hub's
 * streams, consumers or registry. Every denial is proved two ways where it can be: the
 * operation fails with the broker's permissions violation, and a positive control shows
 * that it would have succeeded (or been observed) had the permission been granted.
 */
import { isMosaicError } from '@mosaic/errors';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { startServer, type NatsServerHandle } from '@mosaic/testkit';
import { encodeUser } from '@nats-io/jwt';
import { createUser } from '@nats-io/nkeys';
import {
  PermissionViolationError,
  connect,
  type NatsConnection,
  type Status,
} from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REGISTRY_BUCKET,
  StreamSubjects,
  Streams,
  alertsConsumerConfig,
  HUB_API_PREFIX,
  readRegistry,
  seedRegistry,
} from '@mosaic/protocol';
import {
  brokerAuthConfig,
  contextConnectOptions,
  contextFile,
  createIdentities,
  parseContextFile,
  type NatsIdentity,
} from '../src/index.ts';
import { parseFederation, type Federation } from '@mosaic/federation';
import { ed25519Jwks, toYaml } from '@mosaic/federation/internal';

const A = 'nl';
const B = 'nl-police';

const federation: Federation = parseFederation(
  toYaml({
    version: 1,
    groups: [{ id: 'BENELUX', name: 'Benelux', members: ['BE', 'NL', 'LU'] }],
    agencies: [
      {
        id: A,
        name: 'A',
        kind: 'border',
        jurisdictions: ['NL'],
        contact: { email: 'a@a.example' },
        keys: [{ keyId: 'k1', publicJwk: ed25519Jwks().publicJwk }],
        subscriptions: [{ jurisdictions: ['BENELUX'], categories: ['transport'], maxTlp: 'AMBER' }],
      },
      {
        id: B,
        name: 'B',
        kind: 'police',
        jurisdictions: ['NL'],
        contact: { email: 'b@b.example' },
      },
      {
        id: 'de-bka',
        name: 'C',
        kind: 'police',
        jurisdictions: ['DE'],
        contact: { email: 'c@c.example' },
      },
    ],
    agreements: [{ from: B, to: [A, 'de-bka'], maxTlp: 'GREEN' }],
  }),
);

/** A connection that records every status it reports. */
interface Watched {
  nc: NatsConnection;
  statuses: Status[];
}

const ids = await createIdentities(federation);
let server: NatsServerHandle;
const open: NatsConnection[] = [];
let admin: Watched;
let router: Watched;
let ingest: Watched;
let agencyA: Watched;
let agencyB: Watched;
let jsm: JetStreamManager;
const ingestSaw: string[] = [];

async function as(identity: NatsIdentity, inboxPrefix?: string): Promise<Watched> {
  // Through a context file, as an agency's SDK would.
  const options = contextConnectOptions(parseContextFile(contextFile(identity, server.url)));
  const nc = await connect(inboxPrefix === undefined ? options : { ...options, inboxPrefix });
  open.push(nc);
  const statuses: Status[] = [];
  void (async () => {
    for await (const s of nc.status()) statuses.push(s);
  })();
  return { nc, statuses };
}

/** Bounded wait for a condition (no sleep-and-hope). */
async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  ms = 5000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function violation(w: Watched, operation: 'publish' | 'subscription', subject: string): boolean {
  return w.statuses.some(
    (s) =>
      s.type === 'error' &&
      s.error instanceof PermissionViolationError &&
      s.error.operation === operation &&
      s.error.subject === subject,
  );
}

/** The broker's permissions violation behind an error (nats.js wraps it in a RequestError). */
function permissionError(err: unknown): PermissionViolationError | undefined {
  for (let e = err; e instanceof Error; e = e.cause)
    if (e instanceof PermissionViolationError) return e;
  return undefined;
}

/** The request must be refused by the broker for `w`, and reported as such. */
async function expectDeniedRequest(
  w: Watched,
  subject: string,
  payload: unknown = {},
): Promise<void> {
  const err: unknown = await w.nc.request(subject, JSON.stringify(payload), { timeout: 5000 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(permissionError(err), `request on ${subject}: ${String(err)}`).toMatchObject({
    operation: 'publish',
    subject,
  });
  await until(`violation status for ${subject}`, () => violation(w, 'publish', subject));
}

beforeAll(async () => {
  server = await startServer({ config: await brokerAuthConfig(federation, ids) });
  // The break-glass identity sets the scene; every test below runs as someone else.
  admin = await as(ids.admin);
  jsm = await jetstreamManager(admin.nc);
  for (const name of Object.values(Streams))
    await jsm.streams.add({
      name,
      subjects: [StreamSubjects[name]],
      allow_direct: true,
      ...(name === Streams.Alerts ? {} : { deny_delete: true, deny_purge: true }),
    });
  const ojs = jetstream(admin.nc);
  await ojs.publish('mosaic.reports.NL.transport', 'report-1');
  await ojs.publish('mosaic.rejections.nl', 'rejected-1');
  await ojs.publish('mosaic.audit', 'entry-1');

  // The router creates the agencies' consumers and the alerts with its own identity.
  router = await as(ids.services.router);
  const rjsm = await jetstreamManager(router.nc, { checkAPI: false });
  for (const agency of [A, B])
    await rjsm.consumers.add(Streams.Alerts, alertsConsumerConfig(agency));
  await rjsm.consumers.add(Streams.Reports, { durable_name: 'router', ack_policy: 'explicit' });
  const rjs = jetstream(router.nc);
  await rjs.publish(`mosaic.alerts.${B}.report`, `for ${B}`);
  await rjs.publish(`mosaic.alerts.${A}.report`, `for ${A}`);

  // A deliberately naive ingest: it answers whatever reply subject it is given, so that
  // only the broker stands between a requester and that subject.
  ingest = await as(ids.services.ingest);
  ingest.nc.subscribe('mosaic.ingest.*', {
    queue: 'ingest',
    callback: (_err, msg) => {
      ingestSaw.push(msg.subject);
      msg.respond(JSON.stringify({ ok: true, subject: msg.subject }));
    },
  });
  await ingest.nc.flush();

  agencyA = await as(ids.agencies.get(A)!);
  agencyB = await as(ids.agencies.get(B)!);
});

afterAll(async () => {
  await Promise.all(open.map((nc) => nc.close()));
  await server[Symbol.asyncDispose]();
});

describe('an agency CAN', () => {
  it('submit on its ingest subject and get the ingest service’s answer', async () => {
    const reply = await agencyA.nc.request(`mosaic.ingest.${A}`, 'report', { timeout: 5000 });
    expect(reply.json()).toEqual({ ok: true, subject: `mosaic.ingest.${A}` });
  });

  it('fetch only its own alerts from its consumer and ack them', async () => {
    const consumer = await jetstream(agencyA.nc, { apiPrefix: HUB_API_PREFIX }).consumers.get(
      Streams.Alerts,
      `alerts-${A}`,
    );
    const batch = await consumer.fetch({ max_messages: 10, expires: 1000 });
    const got: string[] = [];
    for await (const m of batch) {
      got.push(`${m.subject}=${m.string()}`);
      expect(await m.ackAck()).toBe(true);
    }
    expect(got).toEqual([`mosaic.alerts.${A}.report=for ${A}`]);
    const info = await jsm.consumers.info(Streams.Alerts, `alerts-${A}`);
    expect(info.ack_floor.stream_seq).toBe(2);
    expect(info.num_ack_pending).toBe(0);
    // B's alert is untouched by A.
    expect((await jsm.consumers.info(Streams.Alerts, `alerts-${B}`)).num_pending).toBe(1);
  });
});

describe('an agency CANNOT', () => {
  it('publish to another agency’s ingest subject', async () => {
    await expectDeniedRequest(agencyA, `mosaic.ingest.${B}`);
    // Control: a later, allowed request on the same connection arrives; the denied one never did.
    await agencyA.nc.request(`mosaic.ingest.${A}`, 'x', { timeout: 5000 });
    expect(ingestSaw).not.toContain(`mosaic.ingest.${B}`);
    expect(ingestSaw).toContain(`mosaic.ingest.${A}`);
  });

  it('receive replies without its own inbox prefix', async () => {
    const plain = await as(ids.agencies.get(A)!, '_INBOX');
    const err: unknown = await plain.nc
      .request(`mosaic.ingest.${A}`, 'x', { timeout: 5000 })
      .catch((e: unknown) => e);
    expect(permissionError(err)).toMatchObject({ operation: 'subscription' });
  });

  it.each([
    ['another agency’s alerts', `mosaic.alerts.${B}.>`, `mosaic.alerts.${B}.report`],
    ['all alerts', 'mosaic.alerts.>', `mosaic.alerts.${B}.report`],
    ['its own alerts outside its consumer', `mosaic.alerts.${A}.>`, `mosaic.alerts.${A}.report`],
    ['everything', '>', `mosaic.alerts.${B}.report`],
    ['another agency’s inbox', `_INBOX_${B}.>`, `_INBOX_${B}.reply`],
    ['the generic inbox', '_INBOX.>', '_INBOX.reply'],
    ['reports', 'mosaic.reports.>', 'mosaic.reports.NL.transport'],
    ['the registry’s subjects', '$KV.mosaic-registry.>', '$KV.mosaic-registry.agency.nl'],
    ['ingest requests of others', 'mosaic.ingest.*', `mosaic.ingest.${B}`],
  ])('subscribe to %s (%s)', async (_what, subject, probe) => {
    const received: string[] = [];
    const denied = agencyA.nc.subscribe(subject, {
      callback: (err, m) => {
        if (err === null) received.push(m.subject);
      },
    });
    await agencyA.nc.flush();
    admin.nc.publish(probe, 'secret');
    await admin.nc.flush();
    // A round trip of A through the hub after the probe was published.
    await agencyA.nc.request(`mosaic.ingest.${A}`, 'x', { timeout: 5000 });
    expect(received).toEqual([]);
    await until(`subscription violation for ${subject}`, () =>
      violation(agencyA, 'subscription', subject),
    );
    expect(await denied.closed).toBeInstanceOf(PermissionViolationError);
  });

  it.each<[string, string, unknown?]>([
    ['account info', '$JS.API.INFO'],
    ['stream names', '$JS.API.STREAM.NAMES'],
    ['stream list', '$JS.API.STREAM.LIST'],
    ...Object.values(Streams).flatMap((s): [string, string, unknown?][] => [
      [`stream info of ${s}`, `$JS.API.STREAM.INFO.${s}`],
      [`message get on ${s}`, `$JS.API.STREAM.MSG.GET.${s}`, { seq: 1 }],
      [`direct get on ${s}`, `$JS.API.DIRECT.GET.${s}`, { seq: 1 }],
      [
        `direct get by subject on ${s}`,
        `$JS.API.DIRECT.GET.${s}.${StreamSubjects[s].replace('>', 'x')}`,
      ],
      [
        `consumer creation on ${s}`,
        `$JS.API.CONSUMER.CREATE.${s}.spy`,
        { stream_name: s, config: { name: 'spy', ack_policy: 'none' } },
      ],
      [
        `durable consumer creation on ${s}`,
        `$JS.API.CONSUMER.DURABLE.CREATE.${s}.spy`,
        { stream_name: s, config: { durable_name: 'spy', ack_policy: 'none' } },
      ],
      [`consumer list of ${s}`, `$JS.API.CONSUMER.LIST.${s}`],
      [`consumer names of ${s}`, `$JS.API.CONSUMER.NAMES.${s}`],
      [`stream purge of ${s}`, `$JS.API.STREAM.PURGE.${s}`],
      [`stream delete of ${s}`, `$JS.API.STREAM.DELETE.${s}`],
    ]),
    ['info of another agency’s consumer', `$JS.API.CONSUMER.INFO.ALERTS.alerts-${B}`],
    [
      'pull from another agency’s consumer',
      `$JS.API.CONSUMER.MSG.NEXT.ALERTS.alerts-${B}`,
      { batch: 1, no_wait: true },
    ],
    [
      're-creating its own consumer with a wider filter',
      `$JS.API.CONSUMER.CREATE.ALERTS.alerts-${A}`,
      {
        stream_name: 'ALERTS',
        config: {
          durable_name: `alerts-${A}`,
          filter_subject: 'mosaic.alerts.>',
          ack_policy: 'explicit',
        },
      },
    ],
    ['deleting its own consumer', `$JS.API.CONSUMER.DELETE.ALERTS.alerts-${A}`],
    ['info of the router’s consumer', '$JS.API.CONSUMER.INFO.REPORTS.router'],
    [
      'pull from the router’s consumer',
      '$JS.API.CONSUMER.MSG.NEXT.REPORTS.router',
      { batch: 1, no_wait: true },
    ],
    ['a report written straight into REPORTS', 'mosaic.reports.NL.transport'],
    ['a forged alert for itself', `mosaic.alerts.${A}.report`],
    ['an audit entry', 'mosaic.audit'],
    ['a rejection', `mosaic.rejections.${A}`],
    ['a registry write', `$KV.${REGISTRY_BUCKET}.agency.${A}`],
    ['an audit request', 'mosaic.hub.audit.ingest'],
    ['a recovered entry handed to the auditor', 'mosaic.hub.audit.auditor'],
  ])('use %s', async (_what, subject, payload) => {
    await expectDeniedRequest(agencyA, subject, payload);
  });

  it('ack another agency’s alert', async () => {
    const subject = `$JS.ACK.ALERTS.alerts-${B}.1.1.1.1700000000000000000.0`;
    const before = await jsm.consumers.info(Streams.Alerts, `alerts-${B}`);
    agencyA.nc.publish(subject, '+ACK');
    await until('ack violation', () => violation(agencyA, 'publish', subject));
    const after = await jsm.consumers.info(Streams.Alerts, `alerts-${B}`);
    expect(after.ack_floor).toEqual(before.ack_floor);
    expect(after.num_pending).toBe(before.num_pending);
  });

  it('turn the ingest service into a deputy through a forged reply subject', async () => {
    const target = `$JS.API.STREAM.DELETE.${Streams.Reports}`;
    const seen = ingestSaw.length;
    agencyA.nc.publish(`mosaic.ingest.${A}`, 'x', { reply: target });
    await until('ingest to answer', () => ingestSaw.length > seen);
    // Ingest answered on the broker's response subject; the answer went back into A's
    // account, to A's own `$JS.API…` name, where no JetStream and no stream exists.
    await agencyA.nc.request(`mosaic.ingest.${A}`, 'x', { timeout: 5000 });
    expect((await jsm.streams.info(Streams.Reports)).config.name).toBe(Streams.Reports);
    expect(violation(ingest, 'publish', target)).toBe(false);
  });
});

describe('hub identities', () => {
  it('ingest serves only in its queue group', async () => {
    const sub = ingest.nc.subscribe('mosaic.ingest.*');
    expect(await sub.closed).toBeInstanceOf(PermissionViolationError);
  });

  it('the router cannot create consumers on other streams nor touch AUDIT', async () => {
    await expectDeniedRequest(router, '$JS.API.CONSUMER.CREATE.AUDIT.spy', {
      stream_name: 'AUDIT',
      config: { name: 'spy', ack_policy: 'none' },
    });
    await expectDeniedRequest(router, 'mosaic.audit');
  });

  it('a restarting auditor hands a serving one its recovered entries; no other service can', async () => {
    const serving = await as(ids.services.auditor);
    const restarting = await as(ids.services.auditor);
    const sub = serving.nc.subscribe('mosaic.hub.audit.*', { queue: 'auditor' });
    void (async () => {
      for await (const m of sub) m.respond(JSON.stringify({ ok: true, seq: 1 }));
    })();
    await serving.nc.flush();
    // Its answer goes into the restarting auditor's own inbox.
    const reply = await restarting.nc.request('mosaic.hub.audit.auditor', '{}', {
      timeout: 5000,
    });
    expect(reply.json()).toEqual({ ok: true, seq: 1 });
    sub.unsubscribe();
    await expectDeniedRequest(router, 'mosaic.hub.audit.auditor');
    await expectDeniedRequest(ingest, 'mosaic.hub.audit.auditor');
  });

  it('agency B is as confined as agency A (the shorter id is no wildcard)', async () => {
    await expectDeniedRequest(agencyB, `mosaic.ingest.${A}`);
    await expectDeniedRequest(agencyB, `${HUB_API_PREFIX}.CONSUMER.MSG.NEXT.ALERTS.alerts-${A}`, {
      batch: 1,
      no_wait: true,
    });
    const reply = await agencyB.nc.request(`mosaic.ingest.${B}`, 'r', { timeout: 5000 });
    expect(reply.json()).toEqual({ ok: true, subject: `mosaic.ingest.${B}` });
  });

  it('a hub user whose JWT outgrows the 4 KB default CONNECT line still connects', async () => {
    const kp = createUser();
    const subjects = Array.from({ length: 120 }, (_, i) => `mosaic.hub.service-${String(i)}.>`);
    const jwt = await encodeUser('mosaic-router', kp.getPublicKey(), ids.accounts.hub.seed, {
      pub: { allow: subjects },
      sub: { allow: [`${ids.services.router.inboxPrefix}.>`] },
      subs: -1,
      data: -1,
      payload: -1,
    });
    expect(jwt.length).toBeGreaterThan(4096);
    const big = await as({
      ...ids.services.router,
      publicKey: kp.getPublicKey(),
      seed: new TextDecoder().decode(kp.getSeed()),
      jwt,
    });
    await big.nc.flush();
    expect(big.nc.isClosed()).toBe(false);
  });
});

describe('the KV registry', () => {
  it('is seeded by the hub and read back by a hub service as the same federation', async () => {
    const kv = await new Kvm(jetstream(admin.nc)).create(REGISTRY_BUCKET, { history: 5 });
    const keys = await seedRegistry(kv, federation);
    expect(keys).toEqual(
      expect.arrayContaining([
        'meta',
        'group.BENELUX',
        `agency.${A}`,
        `agency.${B}`,
        'agency.de-bka',
        'agreement.000000',
      ]),
    );
    const serviceKv = await new Kvm(jetstream(router.nc)).open(REGISTRY_BUCKET);
    const sorted = {
      ...federation,
      agencies: [...federation.agencies].sort((x, y) => x.id.localeCompare(y.id)),
    };
    expect(await readRegistry(serviceKv)).toEqual(sorted);

    // Re-seeding a smaller federation removes what is gone.
    const smaller = {
      ...federation,
      agencies: federation.agencies.filter((a) => a.id !== 'de-bka'),
      agreements: [],
    };
    await seedRegistry(kv, smaller);
    const back = await readRegistry(serviceKv);
    expect(back.agencies.map((a) => a.id)).toEqual([A, B]);
    expect(back.agreements).toEqual([]);
    await seedRegistry(kv, federation);
  });

  it('cannot be written by a hub service', async () => {
    const serviceKv = await new Kvm(jetstream(router.nc)).open(REGISTRY_BUCKET);
    const err: unknown = await serviceKv.put(`agency.${A}`, '{}').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    await until('registry write violation', () =>
      violation(router, 'publish', `$KV.${REGISTRY_BUCKET}.agency.${A}`),
    );
  });

  it('cannot be read by an agency', async () => {
    const kv = await new Kvm(jetstream(agencyA.nc)).open(REGISTRY_BUCKET);
    const err: unknown = await kv.get('meta').catch((e: unknown) => e);
    expect(permissionError(err)).toBeInstanceOf(PermissionViolationError);
    await expectDeniedRequest(
      agencyA,
      `$JS.API.DIRECT.GET.KV_${REGISTRY_BUCKET}.$KV.${REGISTRY_BUCKET}.meta`,
    );
    await expectDeniedRequest(agencyA, `$JS.API.STREAM.MSG.GET.KV_${REGISTRY_BUCKET}`, {
      last_by_subj: `$KV.${REGISTRY_BUCKET}.meta`,
    });
    await expectDeniedRequest(agencyA, `$JS.API.CONSUMER.CREATE.KV_${REGISTRY_BUCKET}.spy`, {
      stream_name: `KV_${REGISTRY_BUCKET}`,
      config: { name: 'spy', ack_policy: 'none', deliver_subject: `_INBOX_${A}.spy` },
    });
  });

  it('reports a corrupt entry as ERR_REGISTRY', async () => {
    const kv = await new Kvm(jetstream(admin.nc)).open(REGISTRY_BUCKET);
    await kv.put('agency.zz', 'not json');
    const err: unknown = await readRegistry(kv).catch((e: unknown) => e);
    expect(isMosaicError(err, 'ERR_REGISTRY')).toBe(true);
    expect((err as { details: unknown }).details).toEqual({ key: 'agency.zz' });
    await kv.delete('agency.zz');
    await kv.put('nonsense', '{}');
    expect(await readRegistry(kv).catch((e: unknown) => e)).toMatchObject({
      code: 'ERR_REGISTRY',
      details: { key: 'nonsense' },
    });
    await kv.delete('nonsense');
    await kv.put(`agency.${A}`, JSON.stringify({ ...federation.agencies[0], kind: 'army' }));
    expect(await readRegistry(kv).catch((e: unknown) => e)).toMatchObject({ code: 'ERR_REGISTRY' });
    await seedRegistry(kv, federation);
    expect((await readRegistry(kv)).agencies).toHaveLength(3);
  });

  it('with onInvalidEntry, leaves out and reports each bad entry and keeps the rest', async () => {
    const kv = await new Kvm(jetstream(admin.nc)).open(REGISTRY_BUCKET);
    const a = federation.agencies.find((x) => x.id === A)!;
    const junk: [string, string][] = [
      ['agency.zz', 'not json'],
      ['nonsense', '{"type":"io.nats.jetstream.api.v1.consumer_info_response"}'],
      // Names one agency, holds another: would shadow the real one.
      ['agency.zz-shadow', JSON.stringify({ ...a, id: B })],
      ['agency.zz-army', JSON.stringify({ ...a, id: 'zz-army', kind: 'army' })],
      ['agency.zz-lost', JSON.stringify({ ...a, id: 'zz-lost', jurisdictions: ['NOWHERE'] })],
      ['agreement.999999', JSON.stringify({ from: 'zz-lost', to: [A] })],
    ];
    for (const [key, value] of junk) await kv.put(key, value);
    const skipped: { key: string; code: string }[] = [];
    const back = await readRegistry(kv, {
      onInvalidEntry: (key, err) => skipped.push({ key, code: err.code }),
    });
    expect(skipped.map((s) => s.key).sort()).toEqual(junk.map(([key]) => key).sort());
    expect(new Set(skipped.map((s) => s.code))).toEqual(new Set(['ERR_REGISTRY']));
    expect(back).toEqual({
      ...federation,
      agencies: [...federation.agencies].sort((x, y) => x.id.localeCompare(y.id)),
    });
    // Strict without the option; a broken meta fails either way.
    expect(await readRegistry(kv).catch((e: unknown) => e)).toMatchObject({ code: 'ERR_REGISTRY' });
    await kv.put('meta', '{"type":"io.nats.jetstream.api.v1.consumer_info_response"}');
    expect(
      await readRegistry(kv, { onInvalidEntry: () => undefined }).catch((e: unknown) => e),
    ).toMatchObject({ code: 'ERR_REGISTRY' });
    await seedRegistry(kv, federation);
    expect((await readRegistry(kv)).agencies).toHaveLength(3);
  });
});

describe('an agency CANNOT, through the hub API prefix of its account either', () => {
  it.each<[string, string, unknown?]>([
    ['info of another agency’s consumer', `CONSUMER.INFO.ALERTS.alerts-${B}`],
    [
      'pull from another agency’s consumer',
      `CONSUMER.MSG.NEXT.ALERTS.alerts-${B}`,
      { batch: 1, no_wait: true },
    ],
    ['stream info of ALERTS', 'STREAM.INFO.ALERTS'],
    ['direct get on AUDIT', 'DIRECT.GET.AUDIT', { seq: 1 }],
    // The leader's message gets `audit verify` reads with are the operator's, not an agency's.
    ['message get on REPORTS', 'STREAM.MSG.GET.REPORTS', { seq: 1 }],
    ['message get on AUDIT', 'STREAM.MSG.GET.AUDIT', { seq: 1 }],
    ['message get on ALERTS by subject', 'STREAM.MSG.GET.ALERTS', { seq: 1, next_by_subj: '>' }],
    ['message get on AUDIT_CHECKPOINTS', 'STREAM.MSG.GET.AUDIT_CHECKPOINTS', { seq: 1 }],
    ['the registry', `DIRECT.GET.KV_${REGISTRY_BUCKET}.$KV.${REGISTRY_BUCKET}.meta`],
    ['stream delete of REPORTS', 'STREAM.DELETE.REPORTS'],
  ])('use %s', async (_what, tokens, payload) => {
    await expectDeniedRequest(agencyA, `${HUB_API_PREFIX}.${tokens}`, payload);
  });
});

describe('the routine operator', () => {
  let op: Watched;
  beforeAll(async () => {
    op = await as(ids.operator);
  });
  const opJsm = () => jetstreamManager(op.nc, { apiPrefix: HUB_API_PREFIX, checkAPI: false });

  it('reads every stream and consumer through its imports', async () => {
    const m = await jsm.streams.getMessage(Streams.Audit, { seq: 1 });
    const mine = await (await opJsm()).streams.getMessage(Streams.Audit, { seq: 1 });
    expect(mine?.string()).toBe(m?.string());
    expect((await (await opJsm()).streams.info(Streams.Reports)).state.messages).toBeGreaterThan(0);
    expect((await (await opJsm()).consumers.info(Streams.Alerts, `alerts-${A}`)).name).toBe(
      `alerts-${A}`,
    );
  });

  it.each<[string, string, unknown?]>([
    ['stream delete of AUDIT', 'STREAM.DELETE.AUDIT'],
    ['stream delete of REPORTS', 'STREAM.DELETE.REPORTS'],
    ['stream purge of AUDIT', 'STREAM.PURGE.AUDIT'],
    [
      'stream update of AUDIT',
      'STREAM.UPDATE.AUDIT',
      { name: 'AUDIT', subjects: ['mosaic.audit'], deny_delete: false },
    ],
    ['message delete in REPORTS', 'STREAM.MSG.DELETE.REPORTS', { seq: 1 }],
    [
      'a push consumer on REPORTS delivering to ALERTS',
      'CONSUMER.CREATE.REPORTS.spy',
      {
        stream_name: 'REPORTS',
        config: { name: 'spy', ack_policy: 'none', deliver_subject: `mosaic.alerts.${A}.report` },
      },
    ],
    ['consumer delete', `CONSUMER.DELETE.ALERTS.alerts-${A}`],
  ])('cannot %s', async (_what, tokens, payload) => {
    await expectDeniedRequest(op, `${HUB_API_PREFIX}.${tokens}`, payload);
    await expectDeniedRequest(op, `$JS.API.${tokens}`, payload);
    expect((await jsm.streams.info(Streams.Audit)).config.deny_delete).toBe(true);
  });

  it.each([
    ['an alert', `mosaic.alerts.${A}.report`],
    ['an audit entry', 'mosaic.audit'],
    ['a report', 'mosaic.reports.NL.transport'],
    ['a hub service’s audit request', 'mosaic.hub.audit.ingest'],
  ])('cannot publish %s', async (_what, subject) => {
    await expectDeniedRequest(op, subject);
  });
});
