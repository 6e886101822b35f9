/**
 * Replies count as writes. Through a real nats-server configured by brokerAuthConfig():
 * every request an agency may send, with its reply subject set to every subject a hub
 * stream, bucket or service listens on and to every subject of another agency, for every
 * ordered pair of agencies — and the same for the routine operator against the streams'
 * administration. The broker, JetStream and a service that answers whatever reply subject
 * it is handed all answer; nothing may land outside the requester's own account. The same
 * matrix runs again from each agency's leaf node (the configuration `leafNodeConfig`
 * writes, linked with the agency's credentials).
 */
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { freePorts, startServer, type NatsServerHandle } from '@mosaic/testkit';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUDIT_CHECKPOINTS_STREAM,
  AUDIT_CHECKPOINTS_SUBJECT,
  HUB_API_PREFIX,
  HOLDINGS_BUCKET,
  HOLDINGS_STREAM,
  PUBLIC_KEYS_BUCKET,
  PUBLIC_KEYS_STREAM,
  REGISTRY_BUCKET,
  REGISTRY_STREAM,
  Streams,
  alertsConsumerConfig,
  ensureStreams,
  leafAlertsConsumerConfig,
  leafCheckConsumerConfig,
  REQUEST_INFO_HEADER,
  attestedAccount,
} from '@mosaic/protocol';
import {
  brokerAuthConfig,
  contextConnectOptions,
  contextFile,
  createIdentities,
  parseContextFile,
  type NatsIdentity,
} from '../src/index.ts';
import { startLeafNode, type LeafNode } from './support/leaf-node.ts';

// `nl` is a prefix of `nl-police`: an id is never a wildcard for a longer one.
const AGENCIES = ['nl', 'nl-police', 'de-bka', 'ro-dicot'] as const;
const federation = { agencies: AGENCIES.map((id) => ({ id })) };
const ids = await createIdentities(federation);
/** Alerts queued per agency, so every pull in both runs of the matrix hands over a real alert. */
const ALERTS_EACH = 250;

let server: NatsServerHandle;
/** Where agencies' leaf nodes connect. */
let leafPort: number | undefined;
const open: NatsConnection[] = [];
const leaves: LeafNode[] = [];
let admin: NatsConnection;
let jsm: JetStreamManager;
/** What the broker attested for each submission the naive ingest saw, by its body. */
const attested = new Map<string, string | undefined>();
/** The same for the naive selector key service, by its subject. */
const attestedEvaluations: { subject: string; account: string | undefined }[] = [];
/** The same for the naive holdings service. */
const attestedHoldings: { subject: string; account: string | undefined }[] = [];
/** Every subject seen in the hub account, by a break-glass subscriber to `>`. */
const seenInHub: string[] = [];

async function as(identity: NatsIdentity): Promise<NatsConnection> {
  const nc = await connect(
    contextConnectOptions(parseContextFile(contextFile(identity, server.url))),
  );
  open.push(nc);
  return nc;
}

const ALL_STREAMS = [
  ...Object.values(Streams),
  AUDIT_CHECKPOINTS_STREAM,
  REGISTRY_STREAM,
  PUBLIC_KEYS_STREAM,
  HOLDINGS_STREAM,
];

async function streamState(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const name of ALL_STREAMS) out[name] = (await jsm.streams.info(name)).state.messages;
  return out;
}

/** What `attacker` may send: each request its account imports, with a payload that works. */
function requestsOf(attacker: string): { subject: string; data: string }[] {
  const consumer = `alerts-${attacker}`;
  const p = HUB_API_PREFIX;
  return [
    { subject: `mosaic.ingest.${attacker}`, data: 'a submission' },
    { subject: `${p}.CONSUMER.INFO.ALERTS.${consumer}`, data: '' },
    {
      subject: `${p}.CONSUMER.MSG.NEXT.ALERTS.${consumer}`,
      data: JSON.stringify({ batch: 1, no_wait: true }),
    },
    {
      subject: `${p}.STREAM.MSG.GET.${PUBLIC_KEYS_STREAM}`,
      data: JSON.stringify({ last_by_subj: `$KV.${PUBLIC_KEYS_BUCKET}.${attacker}.k1` }),
    },
    {
      subject: `${p}.DIRECT.GET.${PUBLIC_KEYS_STREAM}`,
      data: JSON.stringify({ last_by_subj: `$KV.${PUBLIC_KEYS_BUCKET}.${attacker}.k1` }),
    },
    {
      subject: `${p}.DIRECT.GET.${PUBLIC_KEYS_STREAM}.$KV.${PUBLIC_KEYS_BUCKET}.${attacker}.k1`,
      data: '',
    },
    { subject: `$JS.ACK.ALERTS.${consumer}.1.1.1.1700000000000000000.0`, data: '+ACK' },
    { subject: `mosaic.selectors.evaluate.${attacker}`, data: '{"op":"key"}' },
    { subject: `mosaic.holdings.${attacker}`, data: '{"op":"prune"}' },
    // What its leaf node's source and the SDK's completeness check send.
    { subject: `${p}.CONSUMER.INFO.ALERTS.leaf-${attacker}`, data: '' },
    { subject: `${p}.CONSUMER.RESET.ALERTS.leaf-${attacker}`, data: '' },
    { subject: `$JS.FC.ALERTS.leaf-${attacker}.AbCd`, data: '' },
    { subject: `${p}.CONSUMER.INFO.ALERTS.leafcheck-${attacker}`, data: '' },
    {
      subject: `${p}.CONSUMER.MSG.NEXT.ALERTS.leafcheck-${attacker}`,
      data: JSON.stringify({ batch: 1, no_wait: true }),
    },
    { subject: `${p}.CONSUMER.RESET.ALERTS.leafcheck-${attacker}`, data: '{"seq":1}' },
  ];
}

/** Where `attacker` must never make a message appear: the hub's and `victim`'s subjects. */
function targetsOf(attacker: string, victim: string): string[] {
  return [
    `mosaic.reports.NL.transport.${victim}.r1`,
    `mosaic.reports.NL.transport.${attacker}.r1`,
    `mosaic.rejections.${victim}`,
    `mosaic.alerts.${victim}.report.${attacker}.r1`,
    `mosaic.alerts.${attacker}.report.${victim}.r1`,
    'mosaic.audit',
    AUDIT_CHECKPOINTS_SUBJECT,
    `$KV.${REGISTRY_BUCKET}.agency.${victim}`,
    `$KV.${PUBLIC_KEYS_BUCKET}.${victim}.k1`,
    `mosaic.ingest.${victim}`,
    `mosaic.selectors.evaluate.${victim}`,
    'mosaic.selectors.evaluate.hub',
    `mosaic.holdings.${victim}`,
    `$KV.${HOLDINGS_BUCKET}.${victim}.tok`,
    `mosaic.alerts.${victim}.hit.${attacker}.c1`,
    'mosaic.hub.audit.holdings',
    `_INBOX_HUB_HOLDINGS.stolen`,
    'mosaic.hub.audit.ingest',
    'mosaic.hub.audit.selector-keys',
    'mosaic.hub.audit.router',
    'mosaic.hub.audit.operator',
    `_INBOX_${victim}.stolen`,
    `_INBOX_HUB_INGEST.stolen`,
    `_INBOX_HUB_SELECTOR-KEYS.stolen`,
    `_INBOX_HUB_OPERATOR.stolen`,
    `$JS.ACK.ALERTS.alerts-${victim}.1.1.1.1700000000000000000.0`,
    `$JS.API.CONSUMER.MSG.NEXT.ALERTS.alerts-${victim}`,
    `${HUB_API_PREFIX}.CONSUMER.MSG.NEXT.ALERTS.alerts-${victim}`,
    `$JS.API.STREAM.DELETE.${Streams.Audit}`,
    `$JS.API.STREAM.PURGE.${Streams.Reports}`,
    `$JS.API.STREAM.CREATE.EVIL`,
    `$JS.API.CONSUMER.CREATE.${Streams.Alerts}.evil`,
    `${HUB_API_PREFIX}.STREAM.DELETE.${Streams.Audit}`,
    '$SYS.REQ.CLAIMS.UPDATE',
    `mosaic.leaf.${victim}.alerts`,
    `$JS.FC.ALERTS.leaf-${victim}.AbCd`,
    `$JS.API.CONSUMER.RESET.ALERTS.leaf-${victim}`,
  ];
}

beforeAll(async () => {
  [leafPort] = await freePorts(1);
  server = await startServer({
    config: `leafnodes { listen: "127.0.0.1:${String(leafPort)}", no_advertise: true }\n${await brokerAuthConfig(federation, ids)}`,
  });
  admin = await as(ids.admin);
  jsm = await jetstreamManager(admin);
  await ensureStreams(jsm);
  await jsm.streams.add({
    name: AUDIT_CHECKPOINTS_STREAM,
    subjects: [AUDIT_CHECKPOINTS_SUBJECT],
    allow_direct: true,
    deny_delete: true,
    deny_purge: true,
  });
  const kvm = new Kvm(admin);
  await (await kvm.create(REGISTRY_BUCKET)).put('meta', '{}');
  const keys = await kvm.create(PUBLIC_KEYS_BUCKET, { allow_direct: true });
  await kvm.create(HOLDINGS_BUCKET);
  for (const agency of AGENCIES) await keys.put(`${agency}.k1`, `{"kid":"${agency}/k1"}`);

  // The router creates the consumers and queues alerts for every agency.
  const router = await as(ids.services.router);
  const rjsm = await jetstreamManager(router, { checkAPI: false });
  const rjs = jetstream(router);
  for (const agency of AGENCIES) {
    await rjsm.consumers.add(Streams.Alerts, alertsConsumerConfig(agency));
    await rjsm.consumers.add(Streams.Alerts, leafAlertsConsumerConfig(agency));
    await rjsm.consumers.add(Streams.Alerts, leafCheckConsumerConfig(agency));
    await Promise.all(
      Array.from({ length: ALERTS_EACH }, (_, i) =>
        rjs.publish(`mosaic.alerts.${agency}.report.x.${i}`, `alert ${i} for ${agency}`),
      ),
    );
  }

  // Services that answer whatever reply subject they are handed: only the broker stands
  // between a requester and that subject.
  const ingest = await as(ids.services.ingest);
  ingest.subscribe('mosaic.ingest.*', {
    queue: 'ingest',
    callback: (_err, m) => {
      attested.set(m.string(), attestedAccount(m.headers));
      m.respond('answered');
    },
  });
  const selectorKeys = await as(ids.services['selector-keys']);
  selectorKeys.subscribe('mosaic.selectors.evaluate.*', {
    queue: 'selector-keys',
    callback: (_err, m) => {
      attestedEvaluations.push({ subject: m.subject, account: attestedAccount(m.headers) });
      m.respond('{"ok":true,"epoch":1,"publicKey":"AA"}');
    },
  });
  await selectorKeys.flush();
  const holdings = await as(ids.services.holdings);
  holdings.subscribe('mosaic.holdings.*', {
    queue: 'holdings',
    callback: (_err, m) => {
      attestedHoldings.push({ subject: m.subject, account: attestedAccount(m.headers) });
      m.respond('{"ok":true,"op":"prune","withdrawn":0}');
    },
  });
  await holdings.flush();
  const auditor = await as(ids.services.auditor);
  auditor.subscribe('mosaic.hub.audit.*', {
    queue: 'auditor',
    callback: (_err, m) => {
      m.respond('{"ok":true,"seq":1}');
    },
  });
  await ingest.flush();
  await auditor.flush();
  admin.subscribe('>', {
    callback: (_err, m) => {
      seenInHub.push(m.subject);
    },
  });
  await admin.flush();
});

afterAll(async () => {
  await Promise.all(open.map((nc) => nc.close()));
  for (const leaf of leaves) await leaf[Symbol.asyncDispose]();
  await server[Symbol.asyncDispose]();
});

/**
 * Every request once more with a reply into the requester's own inbox, each answered: by
 * then the broker and the services have handled everything sent before on these paths.
 * (A plain subscription, as nats.js `fetch` does: a pulled message is the answer.)
 */
async function barrier(
  nc: NatsConnection,
  inboxPrefix: string,
  requests: { subject: string; data: string }[],
): Promise<void> {
  for (const [i, r] of requests.entries()) {
    // An ack, or a flow control answer, of nothing has no answer.
    if (r.subject.startsWith('$JS.ACK.') || r.subject.startsWith('$JS.FC.')) continue;
    const inbox = `${inboxPrefix}.barrier.${String(i)}.${Date.now().toString(36)}`;
    const sub = nc.subscribe(inbox, { max: 1, timeout: 5000 });
    nc.publish(r.subject, r.data, { reply: inbox });
    let answered = false;
    // A pulled alert keeps its own subject; any message on the inbox is the answer.
    for await (const m of sub) answered = m.data !== undefined;
    if (!answered) throw new Error(`no answer on ${r.subject}`);
  }
}

/**
 * Every request each agency may send, on the connection `attackerConnection` gives it,
 * with its reply subject set to every hub subject and every subject of every other agency:
 * nothing lands outside its own account, no stream changes.
 */
async function expectNoCrossing(
  attackerConnection: (agency: string) => Promise<NatsConnection>,
): Promise<void> {
  const victims = new Map<string, { nc: NatsConnection; got: string[] }>();
  for (const agency of AGENCIES) {
    const nc = await as(ids.agencies.get(agency)!);
    const got: string[] = [];
    nc.subscribe(`_INBOX_${agency}.>`, {
      callback: (_err, m) => {
        got.push(m.subject);
      },
    });
    await nc.flush();
    victims.set(agency, { nc, got });
  }
  const before = await streamState();
  let attempts = 0;
  const landed: string[] = [];
  for (const attacker of AGENCIES) {
    const nc = await attackerConnection(attacker);
    const requests = requestsOf(attacker);
    const targets = new Set<string>();
    for (const victim of AGENCIES) {
      if (victim === attacker) continue;
      for (const target of targetsOf(attacker, victim)) {
        targets.add(target);
        for (const r of requests) {
          nc.publish(r.subject, r.data, { reply: target });
          attempts++;
        }
      }
    }
    await nc.flush();
    await barrier(nc, `_INBOX_${attacker}`, requests);
    await admin.flush();
    for (const subject of seenInHub)
      if (targets.has(subject)) landed.push(`${attacker} → ${subject}`);
    seenInHub.length = 0;
  }
  for (const [agency, { nc, got }] of victims) {
    await nc.flush();
    for (const subject of got)
      if (subject.includes('stolen')) landed.push(`→ ${agency} ${subject}`);
  }
  expect(attempts).toBe(AGENCIES.length * (AGENCIES.length - 1) * 37 * 15);
  // Every evaluation request reached the key service attested as its sender's account.
  for (const { subject, account } of attestedEvaluations) {
    const agency = subject.split('.').at(-1)!;
    expect(account).toBe(ids.accounts.agencies.get(agency)!.publicKey);
  }
  expect(attestedEvaluations.length).toBeGreaterThan(0);
  // And every holdings request reached the holdings service attested the same way.
  for (const { subject, account } of attestedHoldings) {
    const agency = subject.split('.').at(-1)!;
    expect(account).toBe(ids.accounts.agencies.get(agency)!.publicKey);
  }
  expect(attestedHoldings.length).toBeGreaterThan(0);
  expect(landed).toEqual([]);
  expect(await streamState()).toEqual(before);
  // Every stream is still there, with its protections.
  expect((await jsm.streams.info(Streams.Audit)).config.deny_delete).toBe(true);
  expect(await jsm.streams.info('EVIL').catch((e: unknown) => e)).toBeInstanceOf(Error);
}

describe('replies cannot cross accounts', () => {
  it('no request of any agency, with any reply subject, lands on a hub subject or another agency’s', async () => {
    await expectNoCrossing((agency) => as(ids.agencies.get(agency)!));
  });

  it('nor through each agency’s leaf node: its applications reach exactly what its account does', async () => {
    for (const agency of AGENCIES) {
      const context = parseContextFile(contextFile(ids.agencies.get(agency)!, server.url));
      leaves.push(await startLeafNode(context, leafPort!));
    }
    await expectNoCrossing(async (agency) => {
      const leaf = leaves[AGENCIES.indexOf(agency as (typeof AGENCIES)[number])]!;
      // The leaf's local clients need no credentials; the link is the agency's identity.
      const nc = await connect({ servers: leaf.url, inboxPrefix: `_INBOX_${agency}` });
      open.push(nc);
      // The link is up once a request through it is answered.
      const deadline = Date.now() + 30_000;
      for (;;) {
        const answered = await nc
          .request(`${HUB_API_PREFIX}.CONSUMER.INFO.ALERTS.alerts-${agency}`, '', {
            timeout: 1000,
          })
          .then(
            () => true,
            () => false,
          );
        if (answered) return nc;
        if (Date.now() > deadline) throw new Error(`the leaf of ${agency} never linked`);
        await new Promise((r) => setTimeout(r, 100));
      }
    });
  });

  it('the routine operator’s requests, with any reply subject, administer nothing and write no stream', async () => {
    const op = await as(ids.operator);
    const p = HUB_API_PREFIX;
    const requests = [
      { subject: `${p}.STREAM.INFO.${Streams.Audit}`, data: '' },
      { subject: `${p}.STREAM.MSG.GET.${Streams.Audit}`, data: JSON.stringify({ seq: 1 }) },
      // What `audit verify` and the fault checker ask: message gets the stream leader
      // answers, by sequence and (what else the API takes) by subject, on every stream.
      ...[Streams.Reports, Streams.Alerts, Streams.Audit, AUDIT_CHECKPOINTS_STREAM].flatMap(
        (stream) => [
          { subject: `${p}.STREAM.MSG.GET.${stream}`, data: JSON.stringify({ seq: 1 }) },
          {
            subject: `${p}.STREAM.MSG.GET.${stream}`,
            data: JSON.stringify({ seq: 1, next_by_subj: '>' }),
          },
          {
            subject: `${p}.STREAM.MSG.GET.${stream}`,
            data: JSON.stringify({ last_by_subj: 'mosaic.alerts.nl.report.x.1' }),
          },
        ],
      ),
      {
        subject: `${p}.STREAM.MSG.GET.KV_${HOLDINGS_BUCKET}`,
        data: JSON.stringify({ last_by_subj: `$KV.${HOLDINGS_BUCKET}.nl.tok` }),
      },
      { subject: `${p}.DIRECT.GET.${Streams.Reports}`, data: JSON.stringify({ seq: 1 }) },
      {
        subject: `${p}.DIRECT.GET.${PUBLIC_KEYS_STREAM}.$KV.${PUBLIC_KEYS_BUCKET}.nl.k1`,
        data: '',
      },
      { subject: `${p}.CONSUMER.INFO.ALERTS.alerts-nl`, data: '' },
      { subject: 'mosaic.hub.audit.operator', data: '{}' },
    ];
    const targets = [
      `$JS.API.STREAM.DELETE.${Streams.Audit}`,
      `$JS.API.STREAM.DELETE.${Streams.Reports}`,
      `$JS.API.STREAM.PURGE.${Streams.Audit}`,
      `$JS.API.STREAM.PURGE.${Streams.Reports}`,
      `$JS.API.STREAM.UPDATE.${Streams.Audit}`,
      `$JS.API.STREAM.MSG.DELETE.${Streams.Reports}`,
      'mosaic.audit',
      AUDIT_CHECKPOINTS_SUBJECT,
      'mosaic.reports.NL.transport.nl.r1',
      'mosaic.alerts.nl.report.de-bka.r1',
      `$KV.${PUBLIC_KEYS_BUCKET}.nl.k1`,
      `$KV.${HOLDINGS_BUCKET}.nl.tok`,
      `$KV.${REGISTRY_BUCKET}.agency.nl`,
      'mosaic.ingest.nl',
      'mosaic.holdings.nl',
      'mosaic.hub.audit.ingest',
      'mosaic.leaf.nl.alerts',
      '$JS.ACK.ALERTS.alerts-nl.1.1.1.1700000000000000000.0',
      `$JS.API.CONSUMER.CREATE.${Streams.Reports}.spy`,
      `$JS.API.STREAM.LEADER.STEPDOWN.${Streams.Reports}`,
      '_INBOX_HUB_INGEST.stolen',
      '_INBOX_nl.stolen',
    ];
    // An agency's inbox is in its own account: whatever lands there is seen by its client.
    const nl = await as(ids.agencies.get('nl')!);
    const stolen: string[] = [];
    nl.subscribe('_INBOX_nl.>', {
      callback: (_err, m) => {
        if (m.subject.includes('stolen')) stolen.push(m.subject);
      },
    });
    await nl.flush();
    const before = await streamState();
    for (const target of targets)
      for (const r of requests) op.publish(r.subject, r.data, { reply: target });
    await op.flush();
    await barrier(op, '_INBOX_HUB_OPERATOR', requests);
    await admin.flush();
    await nl.flush();
    expect(seenInHub.filter((s) => targets.includes(s))).toEqual([]);
    seenInHub.length = 0;
    expect(stolen).toEqual([]);
    expect(await streamState()).toEqual(before);
  });

  it('a forged attestation header is replaced by the broker’s: a submission is its sender’s', async () => {
    const nl = await as(ids.agencies.get('nl')!);
    const h = headers();
    const other = ids.accounts.agencies.get('de-bka')!.publicKey;
    h.set(REQUEST_INFO_HEADER, JSON.stringify({ acc: other, user: 'forged' }));
    const body = `forged-${Date.now()}`;
    await nl.request('mosaic.ingest.nl', body, { headers: h, timeout: 5000 });
    expect(attested.get(body)).toBe(ids.accounts.agencies.get('nl')!.publicKey);
    expect(attested.get(body)).not.toBe(other);
  });

  it('control: the same request sent from inside the hub account does land — what accounts close', async () => {
    const before = (await jsm.streams.info(Streams.Audit)).state.messages;
    admin.publish(`$JS.API.CONSUMER.INFO.${Streams.Alerts}.alerts-nl`, '', {
      reply: 'mosaic.audit',
    });
    await expect
      .poll(async () => (await jsm.streams.info(Streams.Audit)).state.messages, { timeout: 5000 })
      .toBe(before + 1);
    expect(seenInHub).toContain('mosaic.audit');
  });
});
