/**
 * The HTTP gateway of a real hub: tokens issued by the operator, reports submitted and
 * alerts paged over real HTTP (fetch), every agency against every other.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEntry } from '@mosaic/audit-log';
import { connectOperator, issueGatewayToken, revokeGatewayToken } from '@mosaic/operator';
import { Streams, alertMsgId, alertSubject, parseAlertSubject, readStream } from '@mosaic/protocol';
import { readPrivateKeyFile, signReport } from '@mosaic/signing';
import { jetstream, type JetStreamManager } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { connectionSubscriptions } from '@mosaic/testkit';
import { startHub, type Hub } from '../src/index.ts';
import { AGENCIES, basic, routerIdle, startGatewayHub, type GatewayHub } from './gateway-hub.ts';
import { freshReport, quietLog, tempDir } from './helpers.ts';

let gatewayHub: GatewayHub;
let hub: Hub;
let admin: NatsConnection;
let adminJsm: JetStreamManager;
let tokens: GatewayHub['tokens'];

async function signedBy(agency: string, report: Uint8Array): Promise<string> {
  const key = await readPrivateKeyFile(join(hub.keysDir, `${agency}.jwk`));
  return signReport(report, key.privateJwk);
}

function bearer(agency: string): string {
  return `Bearer ${tokens.get(agency)?.token ?? ''}`;
}

async function post(
  auth: string | undefined,
  body: string | Uint8Array,
  type = 'application/jose',
) {
  const res = await fetch(`${hub.gatewayUrl}/v1/reports`, {
    method: 'POST',
    headers: { 'content-type': type, ...(auth === undefined ? {} : { authorization: auth }) },
    body,
  });
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    body: (await res.json()) as Record<string, unknown>,
  };
}

interface Page {
  alerts: { seq: number; id: string; issuer: string; reportId: string; jws: string }[];
  next: string;
}

async function get(path: string, auth: string | undefined) {
  const res = await fetch(`${hub.gatewayUrl}${path}`, {
    headers: auth === undefined ? {} : { authorization: auth },
  });
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    headers: res.headers,
    body: await res.json(),
  };
}

/** Every alert of ALERTS by recipient, read with the break-glass identity. */
async function alertsByRecipient(): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for await (const m of readStream(adminJsm, Streams.Alerts)) {
    const recipient = parseAlertSubject(m.subject)?.recipient ?? '';
    out.set(recipient, [...(out.get(recipient) ?? []), m.seq]);
  }
  return out;
}

/** Every page of an agency's alerts from the start. */
async function allAlerts(auth: string, limit = 100): Promise<Page['alerts']> {
  const got: Page['alerts'] = [];
  let cursor: string | undefined;
  for (;;) {
    const res = await get(
      `/v1/alerts?limit=${String(limit)}${cursor === undefined ? '' : `&cursor=${cursor}`}`,
      auth,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const page = res.body as Page;
    got.push(...page.alerts);
    if (page.alerts.length === 0) return got;
    cursor = page.next;
  }
}

beforeAll(async () => {
  gatewayHub = await startGatewayHub('gateway test');
  ({ hub, admin, adminJsm, tokens } = gatewayHub);
}, 120_000);

afterAll(() => gatewayHub.stop());

describe('HTTP gateway', () => {
  it('listens on 127.0.0.1 and sends security headers', async () => {
    expect(new URL(hub.gatewayUrl).hostname).toBe('127.0.0.1');
    const res = await get('/v1/alerts', bearer('nl-police'));
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('strict-transport-security')).not.toBeNull();
  });

  it('serves its OpenAPI document without a token, and nothing else', async () => {
    const res = await fetch(`${hub.gatewayUrl}/v1/openapi.json`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(
      await readFile(new URL('../../../schemas/openapi.json', import.meta.url), 'utf8'),
    );
    expect((await get('/v1/alerts', undefined)).status).toBe(401);
  });

  it('submits as the authenticated agency through the same ingest checks, and no other', async () => {
    for (const [agency, origin] of AGENCIES) {
      const jws = await signedBy(agency, await freshReport(agency, origin));
      const ok = await post(bearer(agency), jws);
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect(ok.body).toMatchObject({ ok: true, duplicate: false });
      // The same report again: ingest's duplicate answer, as over NATS.
      const again = await post(basic(agency, tokens.get(agency)?.token ?? ''), jws);
      expect(again.body).toMatchObject({ ok: true, duplicate: true });
      // Every other agency's credential submitting it: refused by ingest, as from that account.
      for (const [other] of AGENCIES) {
        if (other === agency) continue;
        const res = await post(bearer(other), jws);
        expect(res.status).toBe(403);
        expect(res.type).toContain('application/problem+json');
        expect(res.body).toMatchObject({ code: 'ERR_SIGNER_NOT_CONNECTED', status: 403 });
      }
    }
  });

  it("never lets one agency's credential read another's alerts (N×N)", async () => {
    await routerIdle(adminJsm);
    const stored = await alertsByRecipient();
    expect([...stored.values()].flat().length).toBeGreaterThan(0);
    for (const [agency] of AGENCIES) {
      const read = await allAlerts(bearer(agency), 1);
      expect(read.map((a) => a.seq)).toEqual(stored.get(agency) ?? []);
      for (const a of read) expect(a.id.endsWith(`/${agency}`)).toBe(true);
      // Basic naming another agency with this token is refused outright.
      for (const [other] of AGENCIES) {
        if (other === agency) continue;
        const res = await get('/v1/alerts', basic(other, tokens.get(agency)?.token ?? ''));
        expect(res.status).toBe(401);
        expect(res.body).toMatchObject({ code: 'ERR_UNAUTHENTICATED' });
      }
    }
  });

  it('records every page read as a consultation of the agency', async () => {
    const stored = await alertsByRecipient();
    const agency = AGENCIES.map(([a]) => a).find((a) => (stored.get(a) ?? []).length > 0);
    expect(agency).toBeDefined();
    const page = (await get('/v1/alerts?limit=1000', bearer(agency ?? ''))).body as Page;
    expect(page.alerts.map((a) => a.seq)).toEqual(stored.get(agency ?? ''));
    const entries = [];
    for await (const m of readStream(adminJsm, Streams.Audit)) {
      const e = decodeEntry(m.data);
      if (e.action === 'alert.consulted' && e.details?.['channel'] === 'http') entries.push(e);
    }
    expect(entries.at(-1)).toMatchObject({
      actor: { kind: 'agency', id: agency },
      refs: page.alerts.map((a) => ({ stream: 'ALERTS', seq: a.seq })),
      details: { tokenId: tokens.get(agency ?? '')?.id },
    });
  });

  it('answers bad input with coded problems and stays up', async () => {
    const auth = bearer('de-bka');
    const cases: [
      Promise<{ status: number; type: string | null; body: unknown }>,
      number,
      string,
    ][] = [
      [post(undefined, 'x'), 401, 'ERR_UNAUTHENTICATED'],
      [post('Bearer mgt_0000000000000000_' + 'A'.repeat(43), 'x'), 401, 'ERR_UNAUTHENTICATED'],
      [post('Digest abc', 'x'), 401, 'ERR_UNAUTHENTICATED'],
      [post(auth, '{"not":"a jws"}', 'application/json'), 415, 'ERR_MEDIA_TYPE'],
      [post(auth, 'x', 'text/plain'), 415, 'ERR_MEDIA_TYPE'],
      [post(auth, 'not.a.jws'), 400, 'ERR_JWS_MALFORMED'],
      [post(auth, '{{{'), 400, 'ERR_JWS_MALFORMED'],
      [post(auth, new Uint8Array(2 * 1024 * 1024).fill(65)), 413, 'ERR_PAYLOAD_TOO_LARGE'],
      [get('/v1/alerts?cursor=bogus', auth), 400, 'ERR_QUERY_INVALID'],
      [get('/v1/alerts?limit=0', auth), 400, 'ERR_QUERY_INVALID'],
      [get('/v1/alerts?limit=-1', auth), 400, 'ERR_QUERY_INVALID'],
      [get('/v1/nothing', auth), 404, 'ERR_NOT_FOUND'],
    ];
    for (const [pending, status, code] of cases) {
      const res = await pending;
      expect(res.status, `${code} ${JSON.stringify(res.body)}`).toBe(status);
      expect(res.type).toContain('application/problem+json');
      expect(res.body).toMatchObject({ code, status });
    }
    const still = await get('/v1/alerts?limit=1', auth);
    expect(still.status).toBe(200);
  });

  it('leaves no subscription behind on its connection, however many pages agencies read', async () => {
    // Each page is a batched direct get: one that left its reply subscription open would
    // let any agency grow the hub's memory, and nats-server's, by polling.
    const gatewaySubscriptions = (): Promise<number> =>
      connectionSubscriptions(hub.monitorUrl, 'mosaic-gateway');
    const past = Buffer.from('a1:999999999').toString('base64url');
    // One page first: the connection's request multiplexer opens its one reply subscription
    // on its first request, which an earlier test may or may not have made.
    expect((await get('/v1/alerts?limit=5', bearer(AGENCIES[0]?.[0] ?? ''))).status).toBe(200);
    const before = await gatewaySubscriptions();
    for (let i = 0; i < 20; i++)
      for (const [agency] of AGENCIES) {
        expect((await get('/v1/alerts?limit=5', bearer(agency))).status).toBe(200);
        // A page past every alert: the direct get finds nothing.
        expect((await get(`/v1/alerts?limit=5&cursor=${past}`, bearer(agency))).status).toBe(200);
      }
    expect(await gatewaySubscriptions()).toBe(before);
  });

  it('refuses a revoked token at its next request', async () => {
    await using op = await connectOperator(join(hub.contextsDir, 'operator.json'));
    const { token, record } = await issueGatewayToken(op, {
      agency: 'ro-dicot',
      justification: 'to revoke',
    });
    expect((await get('/v1/alerts?limit=1', `Bearer ${token}`)).status).toBe(200);
    await revokeGatewayToken(op, { agency: 'ro-dicot', id: record.id, justification: 'test' });
    const res = await get('/v1/alerts?limit=1', `Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 'ERR_UNAUTHENTICATED' });
  });

  it('pages 10,000 alerts with limit 100 while more arrive: no gap, no duplicate', async () => {
    // Alerts for ngo-lastrada written straight into ALERTS (break-glass), so the paging
    // is measured against a known set without routing 10,000 reports first.
    const js = jetstream(admin);
    const written: number[] = [];
    const write = async (n: number): Promise<void> => {
      const acks = [];
      for (let i = 0; i < n; i++) {
        const reportId = crypto.randomUUID();
        const h = headers();
        h.set('Nats-Msg-Id', alertMsgId('de-bka', reportId, 'ngo-lastrada'));
        acks.push(
          js.publish(alertSubject('ngo-lastrada', 'report', 'de-bka', reportId), 'x', {
            headers: h,
          }),
        );
        if (acks.length === 500)
          written.push(...(await Promise.all(acks.splice(0))).map((a) => a.seq));
      }
      written.push(...(await Promise.all(acks)).map((a) => a.seq));
    };
    const before = (await alertsByRecipient()).get('ngo-lastrada') ?? [];
    await write(5_000);
    const arriving = write(5_000);
    const auth = bearer('ngo-lastrada');
    const got: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    while (got.length < before.length + 10_000) {
      const res = await get(
        `/v1/alerts?limit=100${cursor === undefined ? '' : `&cursor=${cursor}`}`,
        auth,
      );
      expect(res.status).toBe(200);
      const page = res.body as Page;
      expect(page.alerts.length).toBeLessThanOrEqual(100);
      got.push(...page.alerts.map((a) => a.seq));
      cursor = page.next;
      pages++;
    }
    await arriving;
    expect(got).toEqual([...before, ...written].sort((a, b) => a - b));
    expect(new Set(got).size).toBe(got.length);
    expect(pages).toBeGreaterThanOrEqual(100);
  }, 180_000);
});

describe('HTTP gateway rate limit', () => {
  it('limits each agency on its own, and unauthenticated clients by address, with a coded 429', async () => {
    await using small = await tempDir();
    await using limited = await startHub({
      dataDir: small.path,
      port: 0,
      log: quietLog,
      gateway: { rateLimit: { max: 3, windowMs: 60_000 } },
    });
    await using op = await connectOperator(join(limited.contextsDir, 'operator.json'));
    const nl = (await issueGatewayToken(op, { agency: 'nl-police', justification: 'rate test' }))
      .token;
    const de = (await issueGatewayToken(op, { agency: 'de-bka', justification: 'rate test' }))
      .token;
    const status = async (auth?: string) => {
      const res = await fetch(`${limited.gatewayUrl}/v1/alerts?limit=1`, {
        headers: auth === undefined ? {} : { authorization: `Bearer ${auth}` },
      });
      return {
        status: res.status,
        retryAfter: res.headers.get('retry-after'),
        body: await res.json(),
      };
    };
    for (let i = 0; i < 3; i++) expect((await status(nl)).status).toBe(200);
    const over = await status(nl);
    expect(over.status).toBe(429);
    expect(over.retryAfter).not.toBeNull();
    expect(over.body).toMatchObject({ code: 'ERR_RATE_LIMITED', status: 429, retryable: true });
    // Another agency has its own allowance.
    expect((await status(de)).status).toBe(200);
    // Guessing tokens is limited per address too: 401 until the allowance is spent, then 429.
    const guesses = [];
    for (let i = 0; i < 4; i++) guesses.push((await status()).status);
    expect(guesses).toEqual([401, 401, 401, 429]);
  }, 120_000);
});
