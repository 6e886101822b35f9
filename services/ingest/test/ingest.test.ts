import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import {
  ReportHeaders,
  Streams,
  ingestSubject,
  parseIngestReply,
  reportLookupSubject,
  type AuditClient,
  type AuditRequest,
  type IngestReply,
} from '@mosaic/protocol';
import { staticRegistryView, type RegistryView } from '@mosaic/federation';
import { connectAgency } from '@mosaic/sdk';
import { generateAgencyKey, signReport, verifyReport } from '@mosaic/signing';
import type { StoredMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { logSink, type LogSink } from '@mosaic/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RejectionRecord } from '../src/index.ts';
import { DE, NGO, NL, rawJws, report, startTestHub, type TestHub } from './support/hub.ts';

let hub: TestHub;
let sink: LogSink;
const conns = new Map<string, NatsConnection>();

beforeAll(async () => {
  hub = await startTestHub();
  sink = logSink('ingest');
  await hub.ingest({ log: sink.log });
  for (const agency of [NL, DE, NGO]) conns.set(agency, await hub.agency(agency));
});
afterAll(async () => {
  await hub[Symbol.asyncDispose]();
});

const key = (agency: string) => hub.keys.current.get(agency)!;

async function submit(agency: string, data: Uint8Array | string): Promise<IngestReply> {
  return submitOn(conns.get(agency)!, agency, data);
}

async function submitOn(
  nc: NatsConnection,
  agency: string,
  data: Uint8Array | string,
): Promise<IngestReply> {
  const msg = await nc.request(ingestSubject(agency), data, { timeout: 10_000 });
  const reply = parseIngestReply(msg.data);
  if (reply === undefined) throw new Error(`not a reply: ${msg.string()}`);
  return reply;
}

async function signed(agency: string, body: object): Promise<string> {
  return signReport(body, key(agency).privateJwk);
}

const sha256 = (data: Uint8Array | string): string =>
  createHash('sha256').update(data).digest('hex');

/** The REJECTIONS record of a submission, found by its hash; bounded polling. */
async function rejectionOf(agency: string, data: Uint8Array | string): Promise<RejectionRecord> {
  const hash = sha256(data);
  const deadline = Date.now() + 5000;
  for (;;) {
    const found = (await hub.messages(Streams.Rejections, `mosaic.rejections.${agency}`))
      .map((m) => m.json<RejectionRecord>())
      .find((r) => r.submission.sha256 === hash);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no rejection stored for ${hash}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function storedCopies(issuer: string, reportId: string): Promise<number> {
  const info = await hub.jsm.streams.info(Streams.Reports, {
    subjects_filter: reportLookupSubject(issuer, reportId),
  });
  return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
}

async function expectStillServing(): Promise<void> {
  const body = report(NL);
  const reply = await submit(NL, await signed(NL, body));
  expect(reply).toMatchObject({ ok: true, reportId: body.reportId, duplicate: false });
}

const DAY_MS = 86_400_000;

/** An RFC 3339 time in whole seconds, as the contract takes it. */
const secondsIso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

const deepJson = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

describe('accepted reports', () => {
  it('accepts a report published with the SDK, and its retry as a duplicate', async () => {
    await using agency = await connectAgency({
      context: await hub.contextPath(hub.ids.agencies.get(NGO)!),
      key: key(NGO).privateJwk,
    });
    const body = report(NGO);
    const first = await agency.publish(body);
    expect(first).toMatchObject({ ok: true, reportId: body.reportId, duplicate: false });
    expect(await agency.publish(body)).toEqual({ ...first, duplicate: true });
  });

  it('stores the exact submitted JWS, re-verifiable, with msg id and agency/kid headers', async () => {
    const body = report(NL);
    const jws = await signed(NL, body);
    const reply = await submit(NL, jws);
    expect(reply).toEqual({
      ok: true,
      reportId: body.reportId,
      seq: expect.any(Number) as number,
      duplicate: false,
    });
    if (!reply.ok) return;
    const stored = (await hub.jsm.streams.getMessage(Streams.Reports, { seq: reply.seq }))!;
    expect(stored.subject).toBe(`mosaic.reports.NL.recruitment.${NL}.${body.reportId}`);
    expect(Buffer.from(stored.data).equals(Buffer.from(jws))).toBe(true);
    expect(stored.header.get(ReportHeaders.MsgId)).toBe(`${NL}/${body.reportId}`);
    expect(stored.header.get(ReportHeaders.Agency)).toBe(NL);
    expect(stored.header.get(ReportHeaders.Kid)).toBe(key(NL).kid);
    const again = await verifyReport(stored.data, hub.registry);
    expect(again.report.reportId).toBe(body.reportId);
    const record = sink.records.find(
      (r) => r['msg'] === 'report stored' && r['reportId'] === body.reportId,
    );
    expect(record).toMatchObject({ service: 'ingest', agency: NL, seq: reply.seq });
  });

  it('answers the same report again with duplicate: true, the same seq and no second copy', async () => {
    const body = report(NL);
    const jws = await signed(NL, body);
    const first = await submit(NL, jws);
    const second = await submit(NL, jws);
    expect(first).toMatchObject({ ok: true, duplicate: false });
    expect(second).toEqual({ ...first, duplicate: true });
    expect(await storedCopies(NL, body.reportId)).toBe(1);
  });

  it('stores concurrent retries of one report once', async () => {
    const body = report(DE);
    const jws = await signed(DE, body);
    const replies = await Promise.all(Array.from({ length: 10 }, () => submit(DE, jws)));
    const seqs = new Set(replies.map((r) => (r.ok ? r.seq : -1)));
    expect(seqs.size).toBe(1);
    expect(seqs.has(-1)).toBe(false);
    expect(replies.filter((r) => r.ok && !r.duplicate)).toHaveLength(1);
    expect(await storedCopies(DE, body.reportId)).toBe(1);
  });

  it('finds a stored report by lookup, beyond the JetStream dedupe window', async () => {
    // Stored without a msg id, as if long ago: only the lookup can recognise it.
    const body = report(NL);
    const jws = await signed(NL, body);
    const operator = await hub.connectAs(hub.ids.admin);
    const { jetstream } = await import('@nats-io/jetstream');
    const ack = await jetstream(operator).publish(
      `mosaic.reports.NL.recruitment.${NL}.${body.reportId}`,
      jws,
    );
    expect(await submit(NL, jws)).toEqual({
      ok: true,
      reportId: body.reportId,
      seq: ack.seq,
      duplicate: true,
    });
    expect(await storedCopies(NL, body.reportId)).toBe(1);
  });

  it('accepts a retraction and a supersede of the issuer’s own stored reports', async () => {
    const original = report(NL);
    expect(await submit(NL, await signed(NL, original))).toMatchObject({ ok: true });
    const update = report(NL, { lineage: { supersedes: [original.reportId] } });
    expect(await submit(NL, await signed(NL, update))).toMatchObject({ ok: true });
    const retraction = report(NL, { indicators: [], lineage: { retracts: update.reportId } });
    expect(await submit(NL, await signed(NL, retraction))).toMatchObject({ ok: true });
  });

  it('lets an agency listing a group report for a member country and for the group', async () => {
    expect(await submit(NGO, await signed(NGO, report(NGO, { origin: 'LU' })))).toMatchObject({
      ok: true,
    });
    expect(await submit(NGO, await signed(NGO, report(NGO, { origin: 'BENELUX' })))).toMatchObject({
      ok: true,
    });
  });
});

interface RejectionCase {
  code: ErrorCode;
  name: string;
  agency?: string;
  make(): Promise<Uint8Array | string>;
}

const header = (kid: string, extra: Record<string, unknown> = {}) => ({
  alg: 'EdDSA',
  kid,
  typ: 'application/mosaic-report+jws',
  ...extra,
});

const cases: RejectionCase[] = [
  {
    code: ErrorCode.PayloadTooLarge,
    name: '1 MB of random garbage',
    make: () => Promise.resolve(randomBytes(1024 * 1024)),
  },
  {
    code: ErrorCode.JwsMalformed,
    name: 'JSON nested 10,000 deep, sent as is',
    make: () => Promise.resolve(deepJson(10_000)),
  },
  {
    code: ErrorCode.JsonDepth,
    name: 'JSON nested 10,000 deep as the signed payload',
    make: () => Promise.resolve(rawJws(header(key(NL).kid), deepJson(10_000), key(NL).privateJwk)),
  },
  {
    code: ErrorCode.JwsMalformed,
    name: 'an empty body',
    make: () => Promise.resolve(new Uint8Array(0)),
  },
  {
    code: ErrorCode.JwsMalformed,
    name: 'bytes that are not UTF-8',
    make: () => Promise.resolve(Uint8Array.from([0xff, 0xfe, 0x2e, 0xc3, 0x28, 0x2e, 0x80])),
  },
  {
    code: ErrorCode.JwsAlgorithm,
    name: 'a JWS with alg: none',
    make: async () => {
      const jws = await signed(NL, report(NL));
      const [, payload] = jws.split('.');
      const none = Buffer.from(JSON.stringify(header(key(NL).kid, { alg: 'none' }))).toString(
        'base64url',
      );
      return `${none}.${payload}.`;
    },
  },
  {
    code: ErrorCode.JwsHeader,
    name: 'an embedded jwk header',
    make: () =>
      Promise.resolve(
        rawJws(
          header(key(NL).kid, { jwk: key(NL).publicJwk }),
          JSON.stringify(report(NL)),
          key(NL).privateJwk,
        ),
      ),
  },
  {
    code: ErrorCode.JwsCrit,
    name: 'a crit header',
    make: () =>
      Promise.resolve(
        rawJws(
          header(key(NL).kid, { crit: ['exp'] }),
          JSON.stringify(report(NL)),
          key(NL).privateJwk,
        ),
      ),
  },
  {
    code: ErrorCode.JwsType,
    name: 'typ JWT',
    make: () =>
      Promise.resolve(
        rawJws(header(key(NL).kid, { typ: 'JWT' }), JSON.stringify(report(NL)), key(NL).privateJwk),
      ),
  },
  {
    code: ErrorCode.KeyUnknown,
    name: 'an unregistered kid',
    make: () =>
      Promise.resolve(rawJws(header(`${NL}/nope`), JSON.stringify(report(NL)), key(NL).privateJwk)),
  },
  {
    code: ErrorCode.SignatureInvalid,
    name: 'a signature by another key than the kid’s',
    make: () =>
      Promise.resolve(rawJws(header(key(NL).kid), JSON.stringify(report(NL)), key(DE).privateJwk)),
  },
  {
    code: ErrorCode.JsonSyntax,
    name: 'a signed payload that is not JSON',
    make: () => Promise.resolve(rawJws(header(key(NL).kid), 'not json', key(NL).privateJwk)),
  },
  {
    code: ErrorCode.JsonDuplicateKey,
    name: 'a signed payload repeating a key',
    make: () =>
      Promise.resolve(
        rawJws(
          header(key(NL).kid),
          JSON.stringify(report(NL)).replace('{', '{"issuer":"de-bka",'),
          key(NL).privateJwk,
        ),
      ),
  },
  {
    code: ErrorCode.JsonForbiddenKey,
    name: 'a signed payload with __proto__',
    make: () =>
      Promise.resolve(
        rawJws(
          header(key(NL).kid),
          JSON.stringify(report(NL)).replace('{', '{"__proto__":{},'),
          key(NL).privateJwk,
        ),
      ),
  },
  {
    code: ErrorCode.Schema,
    name: 'a signed report missing fields',
    make: () =>
      Promise.resolve(
        rawJws(
          header(key(NL).kid),
          JSON.stringify({ ...report(NL), grading: undefined }),
          key(NL).privateJwk,
        ),
      ),
  },
  {
    code: ErrorCode.IssuerMismatch,
    name: 'a report naming another issuer than the key’s agency',
    make: () =>
      Promise.resolve(rawJws(header(key(NL).kid), JSON.stringify(report(DE)), key(NL).privateJwk)),
  },
  {
    code: ErrorCode.KeyExpired,
    name: 'a key whose validity window has ended',
    make: () => signReport(report(NL), hub.keys.expired.privateJwk),
  },
  {
    code: ErrorCode.KeyRevoked,
    name: 'a revoked key',
    make: () => signReport(report(NL), hub.keys.revoked.privateJwk),
  },
  {
    code: ErrorCode.SignerNotConnected,
    name: 'a JWS of agency de-bka sent on the connection of nl-police',
    make: () => signed(DE, report(DE)),
  },
  {
    code: ErrorCode.JurisdictionUnknown,
    name: 'a jurisdiction group the federation does not define',
    make: () => signed(NL, report(NL, { jurisdictions: ['NL', 'NOWHERE'] })),
  },
  {
    code: ErrorCode.JurisdictionUnknown,
    name: 'an unknown group in releasableTo',
    make: () =>
      signed(
        NL,
        report(NL, { handling: { tlp: 'AMBER', releasableTo: { jurisdictions: ['ATLANTIS'] } } }),
      ),
  },
  {
    code: ErrorCode.JurisdictionNotAllowed,
    name: 'an origin the agency may not report for',
    make: () => signed(NL, report(NL, { origin: 'DE', jurisdictions: ['DE'] })),
  },
  {
    code: ErrorCode.JurisdictionNotAllowed,
    name: 'a group origin for an agency listing only a member country',
    make: () => signed(NL, report(NL, { origin: 'BENELUX' })),
  },
  {
    code: ErrorCode.AgencyUnknown,
    name: 'an unknown agency in releasableTo',
    make: () =>
      signed(NL, report(NL, { handling: { tlp: 'AMBER', releasableTo: { agencies: ['ghost'] } } })),
  },
  {
    code: ErrorCode.IssuedInFuture,
    name: 'issuedAt an hour ahead',
    make: () =>
      signed(
        NL,
        report(NL, {
          issuedAt: new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        }),
      ),
  },
  {
    code: ErrorCode.IssuedTooOld,
    name: 'issuedAt 1970-01-01',
    make: () => signed(NL, report(NL, { issuedAt: '1970-01-01T00:00:00Z' })),
  },
  {
    code: ErrorCode.IssuedTooOld,
    name: 'issuedAt 0001-01-01',
    make: () => signed(NL, report(NL, { issuedAt: '0001-01-01T00:00:00Z' })),
  },
  {
    code: ErrorCode.IssuedTooOld,
    name: 'issuedAt 31 days ago, beyond the default maximum age',
    make: () => signed(NL, report(NL, { issuedAt: secondsIso(Date.now() - 31 * DAY_MS) })),
  },
  {
    code: ErrorCode.ValidityWindow,
    name: 'validUntil already passed',
    make: () =>
      signed(
        NL,
        report(NL, {
          handling: {
            tlp: 'AMBER',
            validFrom: '2024-01-01T00:00:00Z',
            validUntil: '2024-02-01T00:00:00Z',
          },
        }),
      ),
  },
  {
    code: ErrorCode.LineageUnknown,
    name: 'a retraction of a report that does not exist',
    make: () => signed(NL, report(NL, { indicators: [], lineage: { retracts: randomUUID() } })),
  },
  {
    code: ErrorCode.LineageUnknown,
    name: 'a supersede of another agency’s report',
    make: async () => {
      const theirs = report(DE);
      expect(await submit(DE, await signed(DE, theirs))).toMatchObject({ ok: true });
      return signed(NL, report(NL, { lineage: { supersedes: [theirs.reportId] } }));
    },
  },
  {
    code: ErrorCode.ReportConflict,
    name: 'a stored report id with different signed bytes',
    make: async () => {
      const body = report(NL);
      expect(await submit(NL, await signed(NL, body))).toMatchObject({ ok: true });
      return signed(NL, { ...body, narrative: 'Changed after publication.' });
    },
  },
];

describe('rejections', () => {
  it.each(cases.map((c) => [c.code, c.name, c] as const))(
    '%s: %s — replied, stored in REJECTIONS, nothing in REPORTS, service still up',
    async (code, _name, c) => {
      const agency = c.agency ?? NL;
      const before = (await hub.jsm.streams.info(Streams.Reports)).state.messages;
      const data = await c.make();
      const setupWrites = (await hub.jsm.streams.info(Streams.Reports)).state.messages - before;
      const reply = await submit(agency, data);
      expect(reply).toMatchObject({ ok: false, code, message: expect.any(String) as string });
      expect(reply).not.toHaveProperty('retryable');
      const record = await rejectionOf(agency, data);
      const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
      expect(record).toMatchObject({ code, agency, submission: { size } });
      expect(record.submission.truncated).toBe(size > 64 * 1024);
      expect(Date.parse(record.receivedAt)).not.toBeNaN();
      const after = (await hub.jsm.streams.info(Streams.Reports)).state.messages;
      expect(after - before).toBe(setupWrites);
      const logged = sink.records.find(
        (r) => r['msg'] === 'submission rejected' && r['code'] === code && r['agency'] === agency,
      );
      expect(logged).toMatchObject({ service: 'ingest', level: 30 });
      await expectStillServing();
    },
  );

  it('names the report in the log record and the rejection once it is verified', async () => {
    const body = report(NL, { origin: 'DE', jurisdictions: ['DE'] });
    const jws = await signed(NL, body);
    expect(await submit(NL, jws)).toMatchObject({ code: ErrorCode.JurisdictionNotAllowed });
    expect(await rejectionOf(NL, jws)).toMatchObject({ reportId: body.reportId });
    expect(
      sink.records.find(
        (r) => r['msg'] === 'submission rejected' && r['reportId'] === body.reportId,
      ),
    ).toMatchObject({ service: 'ingest', agency: NL, code: ErrorCode.JurisdictionNotAllowed });
  });

  it('keeps the first 64 KiB of a large submission as base64, with its size and hash', async () => {
    const data = randomBytes(1024 * 1024);
    await submit(NL, data);
    const record = await rejectionOf(NL, data);
    expect(record.submission).toMatchObject({
      size: data.byteLength,
      sha256: sha256(data),
      encoding: 'base64',
      truncated: true,
    });
    expect(Buffer.from(record.submission.data, 'base64').equals(data.subarray(0, 65536))).toBe(
      true,
    );
  });

  it('stores but does not answer a submission without a reply subject (ERR_REPLY_SUBJECT)', async () => {
    const jws = await signed(NL, report(NL));
    conns.get(NL)!.publish(ingestSubject(NL), jws);
    const record = await rejectionOf(NL, jws);
    expect(record.code).toBe(ErrorCode.ReplySubject);
    expect(record.replySubject).toBeUndefined();
    await expectStillServing();
  });

  it('never aims a reply into another agency’s inbox: the reply stays in the sender’s account', async () => {
    const victim = conns.get(DE)!;
    const got: string[] = [];
    const spy = victim.subscribe('_INBOX_de-bka.stolen.>', {
      callback: (_err, msg) => {
        got.push(msg.string());
      },
    });
    await victim.flush();
    const body = report(NL);
    const jws = await signed(NL, body);
    conns.get(NL)!.publish(ingestSubject(NL), jws, { reply: '_INBOX_de-bka.stolen.1' });
    // The broker handed ingest a response subject of its own making: the report is taken and
    // answered, and the answer goes back into nl-police's account under the name nl-police
    // chose — de-bka's account never sees it.
    const deadline = Date.now() + 5000;
    while ((await storedCopies(NL, body.reportId)) === 0) {
      if (Date.now() > deadline) throw new Error('the report was not stored');
      await new Promise((r) => setTimeout(r, 20));
    }
    await expectStillServing();
    await victim.flush();
    expect(got).toEqual([]);
    spy.unsubscribe();
  });
});

describe('time bounds and key rotation, judged at the hub’s receive time', () => {
  it('accepts a report issued 29 days ago, within the default maximum age', async () => {
    const body = report(NL, { issuedAt: secondsIso(Date.now() - 29 * DAY_MS) });
    expect(await submit(NL, await signed(NL, body))).toMatchObject({ ok: true });
  });

  it('takes the maximum age from the ingest options', async () => {
    await using local = await startTestHub();
    await local.ingest({ maxReportAgeMs: 60_000 });
    const nl = await local.agency(NL);
    const submitLocal = async (body: object) =>
      submitOn(nl, NL, await signReport(body, local.keys.current.get(NL)!.privateJwk));
    expect(await submitLocal(report(NL))).toMatchObject({ ok: true });
    const reply = await submitLocal(report(NL, { issuedAt: secondsIso(Date.now() - 120_000) }));
    expect(reply).toMatchObject({
      ok: false,
      code: ErrorCode.IssuedTooOld,
      details: { maxAgeMs: 60_000 },
    });
  });

  it('after a rotation retiring the old key now, refuses a backdated report signed with it; the stored one still verifies on replay', async () => {
    await using local = await startTestHub();
    let current = local.registry;
    // A view that follows registry changes, as the hub's live KV view does.
    const live: RegistryView = {
      federation: () => current.federation(),
      agency: (id) => current.agency(id),
      group: (id) => current.group(id),
      resolve: (kid) => current.resolve(kid),
    };
    await local.ingest({ registry: live });
    const nl = await local.agency(NL);
    const submitLocal = (jws: string) => submitOn(nl, NL, jws);
    const old = local.keys.current.get(NL)!;
    const accepted = await submitLocal(await signReport(report(NL), old.privateJwk));
    expect(accepted).toMatchObject({ ok: true });
    const seq = accepted.ok ? accepted.seq : 0;

    // What `mosaic keys rotate --retire-old-at now` writes: the old key ends now, a new one starts.
    const next = await generateAgencyKey(NL, { keyId: 'k2' });
    const retiredAt = new Date().toISOString();
    const federation = local.federation;
    current = staticRegistryView({
      ...federation,
      agencies: federation.agencies.map((a) =>
        a.id !== NL
          ? a
          : {
              ...a,
              keys: [
                ...a.keys.map((k) => (k.keyId === old.keyId ? { ...k, notAfter: retiredAt } : k)),
                { keyId: next.keyId, publicJwk: next.publicJwk },
              ],
            },
      ),
    });

    // Signed after the retirement, claiming an issuedAt inside the old key's window.
    const backdated = report(NL, { issuedAt: secondsIso(Date.parse(retiredAt) - 3_600_000) });
    const refused = await submitLocal(await signReport(backdated, old.privateJwk));
    expect(refused).toMatchObject({
      ok: false,
      code: ErrorCode.KeyExpired,
      details: { kid: old.kid, notAfter: retiredAt },
    });
    expect(
      Date.parse((refused as { details: { receivedAt: string } }).details.receivedAt),
    ).toBeGreaterThanOrEqual(Date.parse(retiredAt));
    expect(await submitLocal(await signReport(report(NL), next.privateJwk))).toMatchObject({
      ok: true,
    });

    // Replay re-verifies the report stored before the rotation at its stored time.
    const stored = (await local.jsm.streams.getMessage(Streams.Reports, { seq }))!;
    expect(stored.time.getTime()).toBeLessThan(Date.parse(retiredAt));
    const replayed = await verifyReport(stored.data, live, { acceptRevokedBefore: stored.time });
    expect(replayed.kid).toBe(old.kid);
  });
});

describe('unexpected failures', () => {
  it('rejects with ERR_INTERNAL when the registry throws, and keeps serving', async () => {
    await using local = await startTestHub();
    const failing: RegistryView = {
      ...local.registry,
      resolve: (kid) =>
        kid.endsWith('/k1') && kid.startsWith(DE)
          ? Promise.reject(new Error('registry exploded'))
          : local.registry.resolve(kid),
    };
    const logs = logSink('ingest');
    await local.ingest({ registry: failing, log: logs.log });
    const de = await local.agency(DE);
    const jws = await signReport(report(DE), local.keys.current.get(DE)!.privateJwk);
    const reply = parseIngestReply(
      (await de.request(ingestSubject(DE), jws, { timeout: 5000 })).data,
    );
    expect(reply).toMatchObject({ ok: false, code: ErrorCode.Internal });
    expect(logs.records.find((r) => r['msg'] === 'unexpected failure')).toMatchObject({
      level: 50,
      err: { message: 'registry exploded' },
    });
    const stored = await local.messages(Streams.Rejections);
    expect(stored.map((m: StoredMsg) => m.json<RejectionRecord>().code)).toEqual([
      ErrorCode.Internal,
    ]);
    const nl = await local.agency(NL);
    const ok = parseIngestReply(
      (
        await nl.request(
          ingestSubject(NL),
          await signReport(report(NL), local.keys.current.get(NL)!.privateJwk),
          { timeout: 5000 },
        )
      ).data,
    );
    expect(ok).toMatchObject({ ok: true });
  });
});

describe('retryable failures', () => {
  it('answers a retryable code with retryable: true and stores no rejection', async () => {
    await using local = await startTestHub();
    const failing: RegistryView = {
      ...local.registry,
      resolve: () =>
        Promise.reject(new MosaicError(ErrorCode.Registry, 'the registry view is not loaded yet')),
    };
    const logs = logSink('ingest');
    await local.ingest({ registry: failing, log: logs.log });
    const nl = await local.agency(NL);
    const jws = await signReport(report(NL), local.keys.current.get(NL)!.privateJwk);
    const reply = parseIngestReply(
      (await nl.request(ingestSubject(NL), jws, { timeout: 5000 })).data,
    );
    expect(reply).toEqual({
      ok: false,
      code: ErrorCode.Registry,
      message: 'the registry view is not loaded yet',
      retryable: true,
    });
    expect(await local.messages(Streams.Rejections)).toEqual([]);
    expect(logs.records.find((r) => r['code'] === ErrorCode.Registry)).toMatchObject({
      level: 40,
      msg: 'not decided now (retryable); nothing stored',
    });
  });
});

describe('storage unavailable', () => {
  it('answers ERR_UNAVAILABLE (retryable), never ok, until the streams exist; then stores', async () => {
    await using local = await startTestHub({ streams: false });
    await local.ingest({ replyTimeoutMs: 1000 });
    const nl = await local.agency(NL);
    const send = async (data: Uint8Array | string) =>
      parseIngestReply((await nl.request(ingestSubject(NL), data, { timeout: 10_000 })).data);
    const body = report(NL);
    const jws = await signReport(body, local.keys.current.get(NL)!.privateJwk);
    expect(await send(jws)).toMatchObject({
      ok: false,
      code: ErrorCode.Unavailable,
      retryable: true,
    });
    // A rejection that cannot be stored is not answered as a rejection either.
    expect(await send('garbage')).toMatchObject({
      ok: false,
      code: ErrorCode.Unavailable,
      retryable: true,
    });
    const { ensureStreams } = await import('@mosaic/protocol');
    await ensureStreams(local.jsm);
    expect(await send(jws)).toMatchObject({ ok: true, reportId: body.reportId, duplicate: false });
    expect(await send('garbage')).toMatchObject({ ok: false, code: ErrorCode.JwsMalformed });
  });
});

describe('audit trail unavailable', () => {
  it('a decision stored while its entry cannot be written is answered ERR_UNAVAILABLE, and its entry is written once the trail is back, with no retry of the agency', async () => {
    await using local = await startTestHub();
    // The audit trail as ingest sees it: down (every write refused as the client does when
    // no auditor answers), then up.
    let down = true;
    const written: AuditRequest[] = [];
    const audit: AuditClient = {
      record(entry) {
        if (down)
          return Promise.reject(
            new MosaicError(ErrorCode.Unavailable, 'the audit entry was not written: timeout'),
          );
        written.push(entry);
        return Promise.resolve({ seq: written.length });
      },
    };
    const logs = logSink('ingest');
    await local.ingest({ audit, log: logs.log });
    const nl = await local.agency(NL);
    const send = async (data: Uint8Array | string) =>
      parseIngestReply((await nl.request(ingestSubject(NL), data, { timeout: 10_000 })).data);
    const body = report(NL);
    const jws = await signReport(body, local.keys.current.get(NL)!.privateJwk);
    expect(await send(jws)).toMatchObject({
      ok: false,
      code: ErrorCode.Unavailable,
      retryable: true,
    });
    expect(await send('garbage')).toMatchObject({ ok: false, code: ErrorCode.Unavailable });
    // Both decisions are stored; nothing is on the record yet.
    const [stored] = await local.messages(Streams.Reports);
    expect(stored?.header.get(ReportHeaders.MsgId)).toBe(`${NL}/${body.reportId}`);
    const [rejection] = await local.messages(Streams.Rejections);
    expect(rejection).toBeDefined();
    expect(written).toEqual([]);

    down = false;
    await expect.poll(() => written.length, { timeout: 60_000, interval: 100 }).toBe(2);
    expect(written).toEqual(
      expect.arrayContaining([
        {
          actor: { kind: 'agency', id: NL },
          action: 'report.accepted',
          subject: { reportId: body.reportId, issuer: NL, contentHash: sha256(jws) },
          refs: [{ stream: Streams.Reports, seq: stored?.seq }],
        },
        expect.objectContaining({
          action: 'report.rejected',
          refs: [{ stream: Streams.Rejections, seq: rejection?.seq }],
        }),
      ]),
    );
    expect(logs.records.filter((r) => r['msg'] === 'audit entry written after all')).toHaveLength(
      2,
    );
  });
});

describe('several instances', () => {
  it('share the load in queue group ingest, and stop() drains: every request is answered', async () => {
    await using local = await startTestHub();
    const a = logSink('ingest');
    const b = logSink('ingest');
    const first = await local.ingest({ log: a.log });
    await local.ingest({ log: b.log });
    const nl = await local.agency(NL);
    const nlKey = local.keys.current.get(NL)!.privateJwk;
    const jwss = await Promise.all(
      Array.from({ length: 200 }, () => signReport(report(NL), nlKey)),
    );
    const send = async (jws: string) =>
      parseIngestReply((await nl.request(ingestSubject(NL), jws, { timeout: 10_000 })).data);
    const stored = (m: typeof a) => m.records.filter((r) => r['msg'] === 'report stored').length;
    // The queue group picks a member at random, so a burst sent all at once can find the
    // first instance stopped before it received anything. Send one at a time until each
    // instance has stored a report (an instance logs it before it answers), then stop the
    // first while the rest are arriving.
    const answered: Awaited<ReturnType<typeof send>>[] = [];
    let sent = 0;
    while (sent < 100 && (stored(a) === 0 || stored(b) === 0))
      answered.push(await send(jwss[sent++]!));
    const middle = sent + Math.floor((jwss.length - sent) / 2);
    const before = jwss.slice(sent, middle).map(send);
    const stopping = first.stop();
    const after = jwss.slice(middle).map(send);
    await stopping;
    answered.push(...(await Promise.all([...before, ...after])));
    expect(answered).toHaveLength(200);
    expect(answered.every((r) => r?.ok === true && !r.duplicate)).toBe(true);
    expect(stored(a)).toBeGreaterThan(0);
    expect(stored(b)).toBeGreaterThan(0);
    expect(stored(a) + stored(b)).toBe(200);
    expect(a.records.some((r) => r['msg'] === 'ingest stopped')).toBe(true);
  });
});

describe('logging inside another service', () => {
  it('binds component: ingest under a parent that names its own service, never a second service key', async () => {
    await using local = await startTestHub();
    const sink = logSink('hub');
    await local.ingest({ log: sink.log });
    const nl = await local.agency(NL);
    const jws = await signReport(report(NL), local.keys.current.get(NL)!.privateJwk);
    const reply = parseIngestReply(
      (await nl.request(ingestSubject(NL), jws, { timeout: 10_000 })).data,
    );
    expect(reply?.ok).toBe(true);
    const line = sink.lines.find((l) => l.includes('"report stored"'));
    expect(line).toBeDefined();
    expect(line!.match(/"service":/g)).toHaveLength(1);
    expect(JSON.parse(line!)).toMatchObject({ service: 'hub', component: 'ingest', agency: NL });
  });
});
