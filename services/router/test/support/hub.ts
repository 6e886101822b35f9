import { randomUUID } from 'node:crypto';
import {
  REGISTRY_BUCKET,
  ROUTER_CONSUMER,
  ReportHeaders,
  Streams,
  reportSubject,
  seedRegistry,
  watchRegistry,
  type LiveRegistryView,
} from '@mosaic/protocol';
import { startBrokerHub, type BrokerHub } from '@mosaic/identities/test-support';
import { parseFederation, type Federation } from '@mosaic/federation';
import { generateAgencyKey, signReport, type AgencyKeyPair } from '@mosaic/signing';
import { logSink } from '@mosaic/testkit';
import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { headers, nanos } from '@nats-io/transport-node';
import { startRouter, type RouterOptions, type RouterService } from '../../src/index.ts';

export const NL = 'nl-police';
export const DE = 'de-bka';
export const BE = 'be-police';
export const NGO = 'ngo-x';
export const FR = 'fr-police';
export const AGENCIES = [NL, DE, BE, NGO, FR] as const;
export const ISSUERS = [NL, DE, BE] as const;

const ORIGIN: Record<string, string> = {
  [NL]: 'NL',
  [DE]: 'DE',
  [BE]: 'BE',
  [NGO]: 'NL',
  [FR]: 'FR',
};

/**
 * Who wants what: de-bka NL/DE recruitment+transport up to AMBER (and an agreement with
 * nl-police), be-police Benelux recruitment+exploitation up to GREEN, ngo-x NL exploitation,
 * fr-police NL recruitment up to AMBER without any agreement, nl-police DE/BE recruitment.
 */
function testFederation(keys: Map<string, AgencyKeyPair>): Federation {
  const agency = (id: string, jurisdictions: string[], subscriptions: object[]) => ({
    id,
    name: id,
    kind: id.startsWith('ngo') ? 'ngo' : 'police',
    jurisdictions,
    contact: { email: `${id}@example.org` },
    keys: [{ keyId: 'k1', publicJwk: keys.get(id)!.publicJwk }],
    subscriptions,
  });
  return parseFederation(
    JSON.stringify({
      version: 1,
      name: 'router tests',
      groups: [{ id: 'BENELUX', name: 'Benelux', members: ['BE', 'NL', 'LU'] }],
      agencies: [
        agency(
          NL,
          ['NL'],
          [{ jurisdictions: ['DE', 'BE'], categories: ['recruitment'], maxTlp: 'AMBER' }],
        ),
        agency(
          DE,
          ['DE'],
          [
            {
              name: 'nl-de',
              jurisdictions: ['NL', 'DE'],
              categories: ['recruitment', 'transport'],
              maxTlp: 'AMBER',
            },
          ],
        ),
        agency(
          BE,
          ['BE'],
          [
            {
              jurisdictions: ['BENELUX'],
              categories: ['recruitment', 'exploitation'],
              maxTlp: 'GREEN',
            },
          ],
        ),
        agency(
          NGO,
          ['BENELUX'],
          [{ jurisdictions: ['NL'], categories: ['exploitation'], maxTlp: 'GREEN' }],
        ),
        agency(
          FR,
          ['FR'],
          [{ jurisdictions: ['NL'], categories: ['recruitment'], maxTlp: 'AMBER' }],
        ),
      ],
      agreements: [{ from: NL, to: [DE] }],
    }),
  );
}

/** A valid report of `issuer`, issued a minute ago, with a fresh id. */
export function report(issuer: string, overrides: Record<string, unknown> = {}) {
  return {
    schemaVersion: '1.0',
    reportId: randomUUID(),
    issuer,
    issuedAt: new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    origin: ORIGIN[issuer] ?? 'NL',
    jurisdictions: [ORIGIN[issuer] ?? 'NL'],
    category: 'recruitment',
    indicators: [{ type: 'phone', number: '+31612345678' }],
    narrative: 'Test report.',
    grading: { sourceReliability: 'B', informationCredibility: 2, confidence: 70 },
    handling: { tlp: 'GREEN' },
    ...overrides,
  };
}

export type TestReport = ReturnType<typeof report>;

export interface TestHub extends BrokerHub {
  keys: Map<string, AgencyKeyPair>;
  /** The registry bucket (operator), to change rules at runtime. */
  kv: KV;
  /** A live view of the registry, as the hub gives the router. */
  registry: LiveRegistryView;
  /** Signs and stores reports in REPORTS as the ingest identity would (same subject, headers). */
  store(reports: readonly object[]): Promise<{ jws: string; seq: number }[]>;
  /** Starts an in-process router on its own router-identity connection. */
  router(options?: Partial<RouterOptions>): Promise<RouterService>;
  /** Creates the `router` durable as the router would, with a short ack wait. */
  createRouterConsumer(ackWaitMs: number): Promise<void>;
  /** Subject → message count of ALERTS under `filter`. */
  alertSubjects(filter?: string): Promise<Record<string, number>>;
  /** Waits (bounded) until the router durable has acknowledged every report stored so far. */
  drained(timeoutMs?: number): Promise<void>;
}

/**
 * The broker of `@mosaic/identities/test-support` for the test federation with the hub
 * streams, a KV registry seeded with it and a live view of it, and in-process routers.
 */
export async function startTestHub(options: { alertsDuplicateWindowMs?: number } = {}) {
  const keys = new Map<string, AgencyKeyPair>();
  for (const id of AGENCIES) keys.set(id, await generateAgencyKey(id, { keyId: 'k1' }));
  const federation = testFederation(keys);
  const broker = await startBrokerHub(federation, { dirPrefix: 'mosaic-router-test-' });
  const { ids, jsm, connectAs } = broker;
  if (options.alertsDuplicateWindowMs !== undefined) {
    const info = await jsm.streams.info(Streams.Alerts);
    await jsm.streams.update(Streams.Alerts, {
      ...info.config,
      duplicate_window: nanos(options.alertsDuplicateWindowMs),
    });
  }
  const operator = await connectAs(ids.admin);
  const kv = await new Kvm(operator).create(REGISTRY_BUCKET, { history: 16, storage: 'file' });
  await seedRegistry(kv, federation);
  const registry = watchRegistry(kv);
  await registry.ready;
  // Registered first, so closed after every router on it has stopped.
  broker.stopOnDispose({ stop: () => registry.close() });
  const ingest = jetstream(await connectAs(ids.services.ingest));

  const hub: TestHub = {
    ...broker,
    keys,
    kv,
    registry,
    async store(reports) {
      const signed = await Promise.all(
        reports.map(async (r) => {
          const { issuer } = r as { issuer: string };
          return {
            report: r as TestReport,
            jws: await signReport(r, keys.get(issuer)!.privateJwk),
          };
        }),
      );
      const out: { jws: string; seq: number }[] = [];
      // In order: a follow-up is stored after the report it refers to, as ingest ensures.
      for (let i = 0; i < signed.length; i += 500) {
        const batch = signed.slice(i, i + 500);
        const acks = await Promise.all(
          batch.map(({ report: r, jws }) => {
            const h = headers();
            h.set(ReportHeaders.Agency, r.issuer);
            h.set(ReportHeaders.Kid, `${r.issuer}/k1`);
            return ingest.publish(reportSubject(r), jws, {
              msgID: `${r.issuer}/${r.reportId}`,
              headers: h,
              expect: { streamName: Streams.Reports },
            });
          }),
        );
        acks.forEach((ack, j) => out.push({ jws: batch[j]!.jws, seq: ack.seq }));
      }
      return out;
    },
    async router(overrides = {}) {
      const nc = await connectAs(ids.services.router);
      const service = await startRouter({ nc, registry, log: logSink('router').log, ...overrides });
      broker.stopOnDispose(service);
      return service;
    },
    async createRouterConsumer(ackWaitMs) {
      await jsm.consumers.add(Streams.Reports, {
        durable_name: ROUTER_CONSUMER,
        ack_policy: 'explicit',
        deliver_policy: 'all',
        ack_wait: nanos(ackWaitMs),
        max_ack_pending: 1024,
        max_deliver: -1,
      } as never);
    },
    async alertSubjects(filter = 'mosaic.alerts.>') {
      const info = await jsm.streams.info(Streams.Alerts, { subjects_filter: filter });
      return info.state.subjects ?? {};
    },
    async drained(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      // Every report stored so far, by sequence: nothing pending is not enough, since a
      // loaded server can answer the consumer's info before it counts a message just stored.
      const last = (await jsm.streams.info(Streams.Reports)).state.last_seq;
      for (;;) {
        const info = await jsm.consumers.info(Streams.Reports, ROUTER_CONSUMER);
        if (
          info.num_pending === 0 &&
          info.num_ack_pending === 0 &&
          info.ack_floor.stream_seq >= last
        )
          return;
        if (Date.now() > deadline)
          throw new Error(
            `router not drained in ${timeoutMs} ms: ${info.num_pending} pending, ${info.num_ack_pending} unacked, ack floor ${info.ack_floor.stream_seq} of ${last}`,
          );
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
  return hub;
}
