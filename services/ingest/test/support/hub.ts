import { createPrivateKey, randomUUID, sign } from 'node:crypto';
import { accountDirectory } from '@mosaic/identities';
import { startBrokerHub, type BrokerHub } from '@mosaic/identities/test-support';
import {
  parseFederation,
  staticRegistryView,
  type Federation,
  type RegistryView,
} from '@mosaic/federation';
import { generateAgencyKey, type AgencyKeyPair } from '@mosaic/signing';
import { logSink } from '@mosaic/testkit';
import type { StoredMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { startIngest, type IngestOptions, type IngestService } from '../../src/index.ts';

/** Agencies of the test federation and the jurisdictions they may report for. */
export const NL = 'nl-police';
export const DE = 'de-bka';
export const NGO = 'ngo-x';

/** Key ids of nl-police: a current key, one whose window ended in 2021, one revoked in 2020. */
const KeyIds = { Current: 'k1', Expired: 'old', Revoked: 'lost' } as const;

interface TestKeys {
  /** The current key of each agency. */
  current: Map<string, AgencyKeyPair>;
  expired: AgencyKeyPair;
  revoked: AgencyKeyPair;
}

async function testKeys(): Promise<TestKeys> {
  const current = new Map<string, AgencyKeyPair>();
  for (const agency of [NL, DE, NGO])
    current.set(agency, await generateAgencyKey(agency, { keyId: KeyIds.Current }));
  return {
    current,
    expired: await generateAgencyKey(NL, { keyId: KeyIds.Expired }),
    revoked: await generateAgencyKey(NL, { keyId: KeyIds.Revoked }),
  };
}

function testFederation(keys: TestKeys): Federation {
  const key = (agency: string) => ({
    keyId: KeyIds.Current,
    publicJwk: keys.current.get(agency)!.publicJwk,
  });
  return parseFederation(
    JSON.stringify({
      version: 1,
      name: 'ingest tests',
      groups: [{ id: 'BENELUX', name: 'Benelux', members: ['BE', 'NL', 'LU'] }],
      agencies: [
        {
          id: NL,
          name: 'NL police',
          kind: 'police',
          jurisdictions: ['NL'],
          contact: { email: 'nl@police.example' },
          keys: [
            key(NL),
            {
              keyId: KeyIds.Expired,
              publicJwk: keys.expired.publicJwk,
              notBefore: '2020-01-01T00:00:00Z',
              notAfter: '2021-01-01T00:00:00Z',
            },
            {
              keyId: KeyIds.Revoked,
              publicJwk: keys.revoked.publicJwk,
              revokedAt: '2020-06-01T00:00:00Z',
            },
          ],
        },
        {
          id: DE,
          name: 'BKA',
          kind: 'police',
          jurisdictions: ['DE'],
          contact: { email: 'de@bka.example' },
          keys: [key(DE)],
        },
        {
          id: NGO,
          name: 'NGO X',
          kind: 'ngo',
          jurisdictions: ['BENELUX'],
          contact: { email: 'x@ngo.example' },
          keys: [key(NGO)],
        },
      ],
    }),
  );
}

const ORIGIN: Record<string, string> = { [NL]: 'NL', [DE]: 'DE', [NGO]: 'BE' };

/** A valid report of `issuer`, issued now, with a fresh id. */
export function report(issuer: string, overrides: Record<string, unknown> = {}) {
  return {
    schemaVersion: '1.0',
    reportId: randomUUID(),
    issuer,
    issuedAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    origin: ORIGIN[issuer] ?? 'NL',
    jurisdictions: [ORIGIN[issuer] ?? 'NL'],
    category: 'recruitment',
    indicators: [{ type: 'phone', number: '+31612345678' }],
    narrative: 'Test report.',
    grading: { sourceReliability: 'B', informationCredibility: 2, confidence: 70 },
    handling: { tlp: 'AMBER' },
    ...overrides,
  };
}

const b64 = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString('base64url');

/**
 * A compact JWS built by hand (no checks), for submissions the signing package refuses to
 * make: any header, any payload bytes.
 */
export function rawJws(
  header: Record<string, unknown>,
  payload: Uint8Array | string,
  privateJwk: object,
): string {
  const input = `${b64(JSON.stringify(header))}.${b64(payload)}`;
  const key = createPrivateKey({ key: privateJwk as never, format: 'jwk' });
  return `${input}.${b64(sign(null, Buffer.from(input), key))}`;
}

export interface TestHub extends BrokerHub {
  registry: RegistryView;
  keys: TestKeys;
  /** A connection as the agency. */
  agency(id: string): Promise<NatsConnection>;
  /** Starts an in-process ingest on its own ingest-identity connection. */
  ingest(options?: Partial<IngestOptions>): Promise<IngestService>;
  /** Every message in a stream whose subject matches `filter`. */
  messages(stream: string, filter?: string): Promise<StoredMsg[]>;
}

/** Large enough that a 1 MB submission reaches ingest (the default max_payload is 1 MiB). */
const SERVER_CONFIG = 'max_payload: 2MB';

/**
 * The broker of `@mosaic/identities/test-support` for the test federation, with the hub
 * streams (file-backed), and in-process ingest instances on it.
 */
export async function startTestHub(options: { streams?: boolean } = {}): Promise<TestHub> {
  const keys = await testKeys();
  const federation = testFederation(keys);
  const broker = await startBrokerHub(federation, {
    config: SERVER_CONFIG,
    dirPrefix: 'mosaic-ingest-test-',
    ...options,
  });
  const { ids, jsm, connectAs } = broker;
  const registry = staticRegistryView(federation);
  return {
    ...broker,
    registry,
    keys,
    agency: (id) => connectAs(ids.agencies.get(id)!),
    async ingest(overrides = {}) {
      const nc = await connectAs(ids.services.ingest);
      const service = await startIngest({
        nc,
        registry,
        log: logSink('ingest').log,
        accounts: accountDirectory(ids),
        ...overrides,
      });
      broker.stopOnDispose(service);
      return service;
    },
    async messages(stream, filter = '>') {
      const info = await jsm.streams.info(stream);
      const out: StoredMsg[] = [];
      for (let seq = info.state.first_seq; seq <= info.state.last_seq && seq > 0; seq++) {
        const m = await jsm.streams.getMessage(stream, { seq });
        if (m !== null && matches(filter, m.subject)) out.push(m);
      }
      return out;
    },
  };
}

function matches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return s.length > i;
    if (i >= s.length || (f[i] !== '*' && f[i] !== s[i])) return false;
  }
  return f.length === s.length;
}
