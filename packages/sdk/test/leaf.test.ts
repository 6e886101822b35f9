/**
 * An agency's leaf node against the real hub (`startHub`: nats-server with a leafnode
 * listener, ingest, router), run from the configuration `leafNodeConfig` writes, linked
 * through a TCP relay the test can cut:
 * - the agency's applications publish and subscribe through the leaf on the agency's own
 *   identity; its alerts are sourced into ALERTS in the leaf's own JetStream domain;
 * - with the link down for 30 s and back, nothing is lost in either direction: queued
 *   submissions reach the hub once each, alerts routed meanwhile reach the leaf copy;
 * - the SDK's completeness check finds a gap made in the copy and repairs it;
 * - the outbox is forwarded several submissions at a time (a relay on the leaf holds the
 *   hub's answers to count them), never more than `inFlight`; stopped, the forwarder lets
 *   those in flight finish; with `inFlight: 1` it keeps the queue's order.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contextConnectOptions, readContextFile, type NatsContext } from '@mosaic/identities';
import {
  startLeafNode,
  startLinkRelay,
  type LeafNode,
  type LinkRelay,
} from '@mosaic/identities/test-support';
import { startHub, type Hub } from '@mosaic/hub';
import { createLogger } from '@mosaic/log';
import {
  HIT_ALERT_KIND,
  HUB_API_PREFIX,
  ROUTER_CONSUMER,
  Streams,
  ingestSubject,
} from '@mosaic/protocol';
import { canonicalSelector } from '@mosaic/selectors';
import { freePorts } from '@mosaic/testkit';
import { generateAgencyKey, type AgencyKeyPair } from '@mosaic/signing';
import { jetstreamManager } from '@nats-io/jetstream';
import {
  NoRespondersError,
  RequestError,
  connect,
  type Msg,
  type NatsConnection,
} from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LeafStreams,
  checkLeafAlerts,
  checkSelectors,
  connectAgency,
  ensureLeafStreams,
  forwardOutbox,
  queueSubmission,
  registerHoldings,
  type AgencyClient,
  type PublishReply,
} from '../src/index.ts';

const NL = 'nl-police';
const DE = 'de-bka';
const BE = 'be-fedpol';
const IDS = [NL, DE, BE] as const;
const JURISDICTION = { [NL]: 'NL', [DE]: 'DE', [BE]: 'BE' } as const;
/** The acceptance figure: how long the link stays down. */
const LINK_DOWN_MS = 30_000;
/** Submissions queued while the link is down. */
const QUEUED = 30;

let dir: string;
let hub: Hub;
let relay: LinkRelay;
let leaf: LeafNode;
let admin: NatsConnection;
const keys = new Map<string, AgencyKeyPair>();
/** The agency on the leaf (its context pointed at the leaf) and the others on the hub. */
let nlLeaf: AgencyClient;
let nlLocal: NatsConnection;
const onHub = new Map<string, AgencyClient>();

function report(issuer: string, narrative: string): Record<string, unknown> {
  return {
    schemaVersion: '1.0',
    reportId: randomUUID(),
    issuer,
    issuedAt: new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    origin: JURISDICTION[issuer as keyof typeof JURISDICTION],
    jurisdictions: ['NL', 'DE', 'BE'],
    category: 'recruitment',
    indicators: [{ type: 'phone', number: '+31612345678' }],
    narrative,
    grading: { sourceReliability: 'B', informationCredibility: 2, confidence: 80 },
    handling: { tlp: 'GREEN' },
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function hubJsm() {
  return jetstreamManager(admin, { checkAPI: false });
}

/** ALERTS sequences on the hub of the agency's alerts. */
async function hubAlertSeqs(agency: string): Promise<number[]> {
  const jsm = await hubJsm();
  const seqs: number[] = [];
  const info = await jsm.streams.info(Streams.Alerts);
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && seq > 0; seq++) {
    const m = await jsm.streams.getMessage(Streams.Alerts, { seq });
    if (m?.subject.startsWith(`mosaic.alerts.${agency}.`)) seqs.push(seq);
  }
  return seqs;
}

async function leafAlertCount(): Promise<number> {
  const jsm = await jetstreamManager(nlLocal);
  return (await jsm.streams.info(LeafStreams.Alerts)).state.messages;
}

/** Bounded wait until the router has routed every stored report. */
async function routed(): Promise<void> {
  const jsm = await hubJsm();
  await until('the router', async () => {
    const [reports, router] = await Promise.all([
      jsm.streams.info(Streams.Reports),
      jsm.consumers.info(Streams.Reports, ROUTER_CONSUMER).catch(() => undefined),
    ]);
    return router !== undefined &&
      router.ack_floor.stream_seq >= reports.state.last_seq &&
      router.num_pending === 0 &&
      router.num_ack_pending === 0
      ? true
      : undefined;
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-leaf-e2e-'));
  for (const id of IDS) keys.set(id, await generateAgencyKey(id, { keyId: 'k1' }));
  const federation = {
    version: 1,
    agencies: IDS.map((id) => ({
      id,
      name: id,
      kind: 'police',
      jurisdictions: [JURISDICTION[id]],
      contact: { email: `${id}@example.org` },
      keys: [{ keyId: 'k1', publicJwk: keys.get(id)!.publicJwk }],
      subscriptions: [
        { jurisdictions: ['NL', 'DE', 'BE'], categories: ['recruitment'], maxTlp: 'AMBER' },
      ],
    })),
    agreements: [],
  };
  const federationPath = join(dir, 'federation.json');
  await writeFile(federationPath, JSON.stringify(federation));
  const [leafPort] = await freePorts(1);
  hub = await startHub({
    dataDir: join(dir, 'data'),
    federationPath,
    port: 0,
    leafnodes: { host: '127.0.0.1', port: leafPort! },
    log: createLogger({ service: 'hub', level: 'silent' }),
  });
  admin = await connect({
    ...contextConnectOptions(await readContextFile(join(hub.dataDir, 'breakglass', 'admin.json'))),
    maxReconnectAttempts: -1,
  });
  // The router makes the leaf consumers with the agency's alerts consumer.
  const jsm = await hubJsm();
  await until(
    'the leaf consumers',
    async () =>
      (await jsm.consumers.info(Streams.Alerts, `leaf-${NL}`).catch(() => undefined)) &&
      (await jsm.consumers.info(Streams.Alerts, `leafcheck-${NL}`).catch(() => undefined)),
  );

  relay = await startLinkRelay(leafPort!);
  const context: NatsContext = await readContextFile(join(hub.contextsDir, `${NL}.json`));
  leaf = await startLeafNode(context, relay.port);
  // The agency's applications use the same context, pointed at their leaf.
  nlLeaf = await connectAgency({
    context: { ...context, url: leaf.url },
    key: keys.get(NL)!.privateJwk,
    timeoutMs: 2_000,
    retry: { attempts: 2, initialDelayMs: 50, maxDelayMs: 200 },
  });
  nlLocal = nlLeaf.connection;
  await ensureLeafStreams(nlLocal, NL);
  for (const id of [DE, BE])
    onHub.set(
      id,
      await connectAgency({
        context: join(hub.contextsDir, `${id}.json`),
        key: keys.get(id)!.privateJwk,
      }),
    );
  // The link is up once a request through it is answered.
  await until('the leaf link', async () => {
    const r = await nlLeaf.publish(report(NL, 'link check')).catch(() => undefined);
    return r?.ok === true ? r : undefined;
  });
}, 120_000);

afterAll(async () => {
  for (const c of onHub.values()) await c.close();
  await nlLeaf?.close();
  await admin?.close();
  await leaf?.[Symbol.asyncDispose]();
  await relay?.[Symbol.asyncDispose]();
  await hub?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('an agency leaf node', () => {
  it('the written configuration has the agency’s own JetStream domain and one remote with its credentials', () => {
    expect(leaf.config).toContain(`domain: "leaf-${NL}"`);
    expect(leaf.config).toContain('sync_interval: always');
    expect(leaf.config).toMatch(/credentials: ".*nl-police\.creds"/);
  });

  it('publishes and subscribes through the leaf, and sources its alerts into its own domain', async () => {
    const mine = await nlLeaf.publish(report(NL, 'from the leaf'));
    expect(mine.ok).toBe(true);
    const theirs = await onHub.get(DE)!.publish(report(DE, 'for the leaf'));
    expect(theirs.ok).toBe(true);
    await routed();
    // Subscribe through the leaf (the hub's alerts-<agency> consumer, verified end to end).
    const got: string[] = [];
    const summary = await nlLeaf.subscribe((alert) => {
      got.push(alert.report.narrative);
    });
    expect(summary.invalid).toBe(0);
    expect(got).toContain('for the leaf');
    // The report from the leaf reached the others.
    const be: string[] = [];
    await onHub.get(BE)!.subscribe((alert) => {
      be.push(alert.report.narrative);
    });
    expect(be).toContain('from the leaf');
    // The copy in the leaf's domain holds every alert of the agency on the hub.
    const onHubSeqs = await hubAlertSeqs(NL);
    await until('the leaf copy', async () =>
      (await leafAlertCount()) === onHubSeqs.length ? true : undefined,
    );
    const check = await checkLeafAlerts(nlLocal, NL);
    expect(check).toEqual({
      hub: onHubSeqs.length,
      present: onHubSeqs.length,
      missing: [],
      repaired: 0,
    });
  });

  it(
    'with the link down for 30 s and back, nothing is lost in either direction',
    async () => {
      const replies: PublishReply[] = [];
      const ac = new AbortController();
      // The default inFlight: several submissions on the way at once.
      const forwarding = forwardOutbox(nlLeaf, {
        signal: ac.signal,
        retryDelayMs: 500,
        onReply: (r) => replies.push(r),
      });
      const alertsBefore = (await hubAlertSeqs(NL)).length;
      const copyBefore = await leafAlertCount();

      await relay.cut();
      const cutAt = Date.now();
      // Submissions made on the leaf while the link is down: queued there.
      const queued: string[] = [];
      for (let i = 0; i < QUEUED; i++) {
        const r = report(NL, `queued ${String(i)}`);
        const jws = await nlLeaf.sign(r);
        await queueSubmission(nlLocal, NL, jws, r['reportId'] as string);
        queued.push(r['reportId'] as string);
      }
      // Alerts routed to the agency meanwhile: stored on the hub, not yet on the leaf.
      for (let i = 0; i < 20; i++)
        expect((await onHub.get(DE)!.publish(report(DE, `while down ${String(i)}`))).ok).toBe(true);
      await routed();
      expect(await leafAlertCount()).toBe(copyBefore);
      expect(replies).toEqual([]);
      // The acceptance figure: the link stays down 30 s (a scenario, not a synchronisation).
      await new Promise((r) => setTimeout(r, LINK_DOWN_MS - (Date.now() - cutAt)));
      await relay.restore();

      const accepted = await until('the queued submissions', () =>
        Promise.resolve(replies.length >= queued.length ? replies : undefined),
      );
      ac.abort();
      await forwarding;
      expect(accepted.every((r) => r.ok)).toBe(true);
      expect(new Set(accepted.map((r) => (r.ok ? r.reportId : ''))).size).toBe(queued.length);
      expect(accepted.map((r) => (r.ok ? r.reportId : '')).sort()).toEqual([...queued].sort());
      expect(accepted.filter((r) => r.ok && r.duplicate)).toEqual([]);
      expect(
        (await (await jetstreamManager(nlLocal)).streams.info(LeafStreams.Outbox)).state.messages,
      ).toBe(0);

      await routed();
      const onHubSeqs = await hubAlertSeqs(NL);
      expect(onHubSeqs.length).toBe(alertsBefore + 20);
      await until('the leaf copy after the link is back', async () =>
        (await leafAlertCount()) === onHubSeqs.length ? true : undefined,
      );
      const check = await checkLeafAlerts(nlLocal, NL);
      expect(check.missing).toEqual([]);
      expect(check.hub).toBe(onHubSeqs.length);
      // The queued reports reached the other agencies once each.
      const be: string[] = [];
      await onHub.get(BE)!.subscribe((alert) => {
        be.push(alert.report.reportId);
      });
      for (const id of queued) expect(be.filter((x) => x === id)).toHaveLength(1);
    },
    LINK_DOWN_MS + 120_000,
  );

  it('the completeness check finds a gap in the leaf copy and repairs it from the hub', async () => {
    const jsm = await jetstreamManager(nlLocal);
    const info = await jsm.streams.info(LeafStreams.Alerts);
    // A gap: one alert lost from the copy (as an upstream sourcing defect would).
    const victim = info.state.first_seq + 1;
    expect(await jsm.streams.deleteMessage(LeafStreams.Alerts, victim, true)).toBe(true);
    const found = await checkLeafAlerts(nlLocal, NL);
    expect(found.missing).toHaveLength(1);
    expect(found.repaired).toBe(0);
    const repaired = await checkLeafAlerts(nlLocal, NL, { repair: true });
    expect(repaired.missing).toEqual(found.missing);
    expect(repaired.repaired).toBe(1);
    const again = await checkLeafAlerts(nlLocal, NL);
    expect(again.missing).toEqual([]);
    expect(again.present).toBe(again.hub);
    // The repaired alert is the hub's own: same signed payload.
    const hubCopy = await (
      await hubJsm()
    ).streams.getMessage(Streams.Alerts, {
      seq: found.missing[0]!,
    });
    if (hubCopy === null) throw new Error('the hub lost the alert');
    const local = await jsm.streams.getMessage(LeafStreams.Alerts, {
      last_by_subj: hubCopy.subject,
    });
    expect(local?.string()).toBe(hubCopy.string());
    expect(local?.header.get('Mosaic-Hub-Seq')).toBe(String(found.missing[0]));
  });

  it('a hit alert counts like any other alert: in the leaf copy and in the check', async () => {
    const phone = canonicalSelector('phone', { number: '+31 6 5555 0101' });
    await registerHoldings(nlLeaf.connection, NL, [{ selector: phone, reference: 'nl-hit-1' }]);
    const checked = await checkSelectors(onHub.get(DE)!.connection, DE, [phone]);
    expect(checked.results.get(phone)?.hit).toBe(true);
    const hubSeqs = await until('the hit alert on the hub', async () => {
      const seqs = await hubAlertSeqs(NL);
      for (const seq of seqs) {
        const m = await (await hubJsm()).streams.getMessage(Streams.Alerts, { seq });
        if (m?.subject.startsWith(`mosaic.alerts.${NL}.${HIT_ALERT_KIND}.`) === true)
          return { seqs, hit: seq };
      }
      return undefined;
    });
    await until('the leaf copy', async () =>
      (await leafAlertCount()) === hubSeqs.seqs.length ? true : undefined,
    );
    const check = await checkLeafAlerts(nlLocal, NL);
    expect(check).toEqual({
      hub: hubSeqs.seqs.length,
      present: hubSeqs.seqs.length,
      missing: [],
      repaired: 0,
    });
    expect(hubSeqs.seqs).toContain(hubSeqs.hit);
  }, 120_000);

  it('the outbox is forwarded several at a time, never more than inFlight; stopped, those in flight finish', async () => {
    const jsm = await jetstreamManager(nlLocal);
    const context = await readContextFile(join(hub.contextsDir, `${NL}.json`));
    // With the link cut, the only answerer of the leaf's ingest requests is this relay: it
    // holds every request until 8 (the default inFlight) of different reports await their
    // answer, then passes each to the hub and the hub's answer back.
    await relay.cut();
    // Down once the leaf has no route to ingest (no responders, not merely a slow answer).
    await until('the link down', () =>
      nlLocal.request(ingestSubject(NL), new Uint8Array(), { timeout: 5_000 }).then(
        () => undefined,
        (err: unknown) =>
          err instanceof NoRespondersError || (err instanceof RequestError && err.isNoResponders())
            ? true
            : undefined,
      ),
    );
    const queued: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = report(NL, `in flight ${String(i)}`);
      await queueSubmission(nlLocal, NL, await nlLeaf.sign(r), r['reportId'] as string);
      queued.push(r['reportId'] as string);
    }
    const toHub = await connect(contextConnectOptions(context));
    const onLeaf = await connect({ servers: leaf.url });
    const unanswered = new Map<string, number>();
    let most = 0;
    let released = false;
    const held: Msg[] = [];
    const reportIdOf = (m: Msg): string =>
      (
        JSON.parse(Buffer.from(m.string().split('.')[1] ?? '', 'base64url').toString()) as {
          reportId: string;
        }
      ).reportId;
    const pass = (m: Msg): void => {
      void toHub.request(ingestSubject(NL), m.data, { timeout: 30_000 }).then(
        (answer) => {
          const id = reportIdOf(m);
          const left = (unanswered.get(id) ?? 1) - 1;
          if (left === 0) unanswered.delete(id);
          else unanswered.set(id, left);
          m.respond(answer.data);
        },
        () => undefined,
      );
    };
    const first = new AbortController();
    const then = new AbortController();
    onLeaf.subscribe(ingestSubject(NL), {
      callback: (err, m) => {
        if (err !== null) return;
        const id = reportIdOf(m);
        unanswered.set(id, (unanswered.get(id) ?? 0) + 1);
        most = Math.max(most, unanswered.size);
        if (released) {
          pass(m);
          return;
        }
        held.push(m);
        if (unanswered.size < 8) return;
        // The forwarder is stopped with 8 in flight, then they are answered.
        first.abort();
        released = true;
        for (const h of held.splice(0)) pass(h);
      },
    });
    await onLeaf.flush();

    // Its own client: no request of it times out (and is sent again) while the relay holds it.
    const forwarder = await connectAgency({
      context: { ...context, url: leaf.url },
      key: keys.get(NL)!.privateJwk,
      timeoutMs: 60_000,
      retry: { attempts: 1 },
    });
    const replies: PublishReply[] = [];
    const onReply = (r: PublishReply): void => {
      replies.push(r);
    };
    let forwarding = forwardOutbox(forwarder, { signal: first.signal, onReply });
    try {
      // Stopped, it ends once the 8 in flight were answered and acknowledged.
      const stopped = await Promise.race([
        forwarding,
        new Promise<undefined>((r) => setTimeout(r, 90_000, undefined)),
      ]);
      expect(stopped).toEqual({ forwarded: 8 });
      expect(replies).toHaveLength(8);
      expect((await jsm.streams.info(LeafStreams.Outbox)).state.messages).toBe(queued.length - 8);
      // The next forwarder sends the rest.
      forwarding = forwardOutbox(forwarder, { signal: then.signal, onReply });
      await until('the queued submissions', () =>
        Promise.resolve(replies.length >= queued.length ? true : undefined),
      );
    } finally {
      first.abort();
      then.abort();
      await forwarding;
      await forwarder.close();
      await onLeaf.close();
      await toHub.close();
      await relay.restore();
    }
    expect(most).toBe(8);
    expect(replies.every((r) => r.ok && !r.duplicate)).toBe(true);
    expect(replies.map((r) => (r.ok ? r.reportId : '')).sort()).toEqual([...queued].sort());
    expect((await jsm.streams.info(LeafStreams.Outbox)).state.messages).toBe(0);
    const consumer = await jsm.consumers.info(LeafStreams.Outbox, 'forwarder');
    expect(consumer.config.max_ack_pending).toBe(8);
    // Longer than one request of this client can take (60 s), so never redelivered in flight.
    expect(consumer.config.ack_wait).toBeGreaterThan(60_000 * 1_000_000);
    await until('the leaf link back', async () => {
      const r = await nlLeaf.publish(report(NL, 'link back')).catch(() => undefined);
      return r?.ok === true ? r : undefined;
    });
  }, 180_000);

  it('with inFlight 1 the outbox is forwarded one after the other, in queue order', async () => {
    const jsm = await jetstreamManager(nlLocal);
    const queued: string[] = [];
    for (let i = 0; i < 12; i++) {
      const r = report(NL, `in order ${String(i)}`);
      await queueSubmission(nlLocal, NL, await nlLeaf.sign(r), r['reportId'] as string);
      queued.push(r['reportId'] as string);
    }
    const answered: string[] = [];
    const ac = new AbortController();
    const forwarding = forwardOutbox(nlLeaf, {
      signal: ac.signal,
      inFlight: 1,
      onReply: (r) => answered.push(r.ok ? r.reportId : r.code),
    });
    try {
      await until('the queued submissions', () =>
        Promise.resolve(answered.length >= queued.length ? true : undefined),
      );
    } finally {
      ac.abort();
      await forwarding;
    }
    expect(answered).toEqual(queued);
    // The consumer the earlier forwarder left with 8 and a 90 s ack wait was brought to 1 and
    // to this client's: 2 attempts of 2 s, 50 ms between them, plus a margin.
    const { config } = await jsm.consumers.info(LeafStreams.Outbox, 'forwarder');
    expect(config.max_ack_pending).toBe(1);
    expect(nlLeaf.longestRequestMs).toBe(4_050);
    expect(config.ack_wait).toBeGreaterThan(nlLeaf.longestRequestMs * 1_000_000);
    expect(config.ack_wait).toBeLessThan(60_000 * 1_000_000);
    expect((await jsm.streams.info(LeafStreams.Outbox)).state.messages).toBe(0);
  }, 120_000);

  it('the leaf cannot reach the hub’s JetStream API beyond its imports', async () => {
    const hubApi = await jetstreamManager(nlLocal, { apiPrefix: HUB_API_PREFIX, checkAPI: false });
    await expect(hubApi.streams.info(Streams.Alerts)).rejects.toThrow();
    await expect(hubApi.consumers.info(Streams.Alerts, `leaf-${DE}`)).rejects.toThrow();
    await expect(hubApi.consumers.reset(Streams.Alerts, `leafcheck-${DE}`, 1)).rejects.toThrow();
  });
});
