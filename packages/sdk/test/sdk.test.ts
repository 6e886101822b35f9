import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { ErrorCode, isMosaicError } from '@mosaic/errors';
import { INGEST_WILDCARD, QueueGroups } from '@mosaic/protocol';
import { contextFile, parseContextFile } from '@mosaic/identities';
import { startBrokerHub, type BrokerHub } from '@mosaic/identities/test-support';
import { staticRegistryView } from '@mosaic/federation';
import { agencyKeys, policeFederation } from '@mosaic/federation/internal';
import { verifyReport, type AgencyKeyPair } from '@mosaic/signing';
import type { Msg } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectAgency, type PublishReply } from '../src/index.ts';

const NL = 'nl-police';
const DE = 'de-bka';

let hub: BrokerHub;
let keys: Map<string, AgencyKeyPair>;
let registry: ReturnType<typeof staticRegistryView>;

/** What the stand-in hub does with the n-th submission (1-based) it receives. */
type Behaviour = (msg: Msg, n: number) => Promise<PublishReply | 'ignore'>;
let behaviour: Behaviour;
let received: Uint8Array[] = [];

beforeAll(async () => {
  keys = await agencyKeys([NL, DE]);
  const federation = policeFederation({ [NL]: 'NL', [DE]: 'DE' }, keys);
  registry = staticRegistryView(federation);
  hub = await startBrokerHub(federation, { streams: false, dirPrefix: 'mosaic-sdk-' });
  // A stand-in for ingest on the real broker, with the ingest identity and its permissions.
  const hubSide = await hub.connectAs(hub.ids.services.ingest);
  hubSide.subscribe(INGEST_WILDCARD, {
    queue: QueueGroups.Ingest,
    callback: (_err, msg) => {
      received.push(msg.data);
      void behaviour(msg, received.length).then((reply) => {
        if (reply !== 'ignore') msg.respond(JSON.stringify(reply));
      });
    },
  });
  await hubSide.flush();
});
afterEach(() => {
  received = [];
});
afterAll(async () => {
  await hub[Symbol.asyncDispose]();
});

const contextPath = (agency: string): Promise<string> =>
  hub.contextPath(hub.ids.agencies.get(agency)!);

function report(issuer: string) {
  return {
    schemaVersion: '1.0',
    reportId: randomUUID(),
    issuer,
    issuedAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    origin: 'NL',
    jurisdictions: ['NL'],
    category: 'recruitment',
    indicators: [{ type: 'phone', number: '+31612345678' }],
    narrative: 'SDK test.',
    grading: { sourceReliability: 'B', informationCredibility: 2, confidence: 70 },
    handling: { tlp: 'GREEN' },
  };
}

const accept: Behaviour = async (msg) => {
  const { report: r } = await verifyReport(msg.data, registry);
  return { ok: true, reportId: r.reportId, seq: 7, duplicate: false };
};

const fast = { attempts: 4, initialDelayMs: 20, maxDelayMs: 50 };

describe('connectAgency + publish', () => {
  it('signs with the key, submits on the agency subject and returns the typed reply', async () => {
    behaviour = accept;
    await using agency = await connectAgency({
      context: await contextPath(NL),
      key: keys.get(NL)!.privateJwk,
    });
    expect(agency.agency).toBe(NL);
    const body = report(NL);
    const reply = await agency.publish(body);
    expect(reply).toEqual({ ok: true, reportId: body.reportId, seq: 7, duplicate: false });
    expect(received).toHaveLength(1);
  });

  it('returns a rejection as a reply, without retrying', async () => {
    behaviour = () =>
      Promise.resolve({ ok: false, code: ErrorCode.SignatureInvalid, message: 'bad', details: {} });
    await using agency = await connectAgency({ context: await contextPath(NL) });
    const reply = await agency.publishSigned('a.b.c');
    expect(reply).toMatchObject({ ok: false, code: ErrorCode.SignatureInvalid });
    expect(received).toHaveLength(1);
  });

  it('retries a timed-out request with the same bytes', async () => {
    behaviour = (msg, n) => (n < 3 ? Promise.resolve('ignore') : accept(msg, n));
    await using agency = await connectAgency({
      context: await contextPath(NL),
      key: keys.get(NL)!.privateJwk,
      timeoutMs: 200,
      retry: fast,
    });
    const reply = await agency.publish(report(NL));
    expect(reply.ok).toBe(true);
    expect(received).toHaveLength(3);
    expect(new Set(received.map((d) => Buffer.from(d).toString('hex'))).size).toBe(1);
  });

  it('retries a retryable ERR_UNAVAILABLE reply', async () => {
    behaviour = (msg, n) =>
      n === 1
        ? Promise.resolve({
            ok: false,
            code: ErrorCode.Unavailable,
            message: 'JetStream down',
            retryable: true,
          })
        : accept(msg, n);
    await using agency = await connectAgency({
      context: await contextPath(NL),
      key: keys.get(NL)!.privateJwk,
      retry: fast,
    });
    expect((await agency.publish(report(NL))).ok).toBe(true);
    expect(received).toHaveLength(2);
  });

  it.each([
    ['a retryable code, even without the flag', ErrorCode.Unavailable, false, 2],
    ['a code of a newer hub with the flag', 'ERR_FROM_A_NEWER_HUB', true, 2],
    ['a code of a newer hub without the flag', 'ERR_FROM_A_NEWER_HUB', false, 1],
    [
      'not a refusal the catalogue calls final, whatever the flag',
      ErrorCode.SignatureInvalid,
      true,
      1,
    ],
  ])('decides by the catalogue whether to retry: %s', async (_name, code, flag, attempts) => {
    behaviour = (msg, n) =>
      n === 1
        ? Promise.resolve({
            ok: false,
            // As a newer hub may send it: a string this version's ErrorCode does not list.
            code: code as ErrorCode,
            message: 'first answer',
            ...(flag ? { retryable: true } : {}),
          })
        : accept(msg, n);
    await using agency = await connectAgency({
      context: await contextPath(NL),
      key: keys.get(NL)!.privateJwk,
      retry: fast,
    });
    const reply = await agency.publish(report(NL));
    expect(reply.ok).toBe(attempts === 2);
    expect(received).toHaveLength(attempts);
  });

  it('gives up with ERR_UNAVAILABLE after the bounded attempts when nobody answers', async () => {
    behaviour = () => Promise.resolve('ignore');
    await using agency = await connectAgency({
      context: await contextPath(NL),
      key: keys.get(NL)!.privateJwk,
      timeoutMs: 100,
      retry: { attempts: 3, initialDelayMs: 10, maxDelayMs: 20 },
    });
    const err = await agency.publish(report(NL)).catch((e: unknown) => e);
    expect(isMosaicError(err, ErrorCode.Unavailable)).toBe(true);
    expect(received).toHaveLength(3);
  });

  it('throws ERR_UNAVAILABLE when the hub cannot be reached', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    const context = parseContextFile(
      contextFile(hub.ids.agencies.get(NL)!, `nats://127.0.0.1:${port}`),
    );
    const err = await connectAgency({ context }).catch((e: unknown) => e);
    expect(isMosaicError(err, ErrorCode.Unavailable)).toBe(true);
  });

  it('refuses another agency’s key, a non-agency context and signing without a key', async () => {
    const wrongKey = await connectAgency({
      context: await contextPath(NL),
      key: keys.get(DE)!.privateJwk,
    }).catch((e: unknown) => e);
    expect(isMosaicError(wrongKey, ErrorCode.SignerNotConnected)).toBe(true);
    const operator = await connectAgency({
      context: parseContextFile(contextFile(hub.ids.operator, hub.server.url)),
    }).catch((e: unknown) => e);
    expect(isMosaicError(operator, ErrorCode.ContextFile)).toBe(true);
    await using keyless = await connectAgency({ context: await contextPath(NL) });
    const noKey = await keyless.publish(report(NL)).catch((e: unknown) => e);
    expect(isMosaicError(noKey, ErrorCode.Usage)).toBe(true);
  });

  it('refuses to sign an invalid report (the signing code, nothing sent)', async () => {
    behaviour = accept;
    await using agency = await connectAgency({
      context: await contextPath(NL),
      key: keys.get(NL)!.privateJwk,
    });
    const err = await agency.publish({ ...report(NL), grading: 'A1' }).catch((e: unknown) => e);
    expect(isMosaicError(err, ErrorCode.Schema)).toBe(true);
    expect(received).toHaveLength(0);
  });
});
