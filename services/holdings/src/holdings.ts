/**
 * The holdings service. Each request on `mosaic.holdings.<agency>` goes through these steps,
 * in this order; the first that fails decides the answer:
 *
 * 1. reply subject — one the broker made (`_R_.…`); otherwise dropped unanswered.
 * 2. attestation — the broker's `Nats-Request-Info` names the account of the subject's
 *    agency; otherwise ERR_SENDER_NOT_ATTESTED, nothing read, written or audited. The agency
 *    is never taken from the payload.
 * 3. shape — the request parses (`holdingsRequestSchema`); ERR_SCHEMA.
 * 4. the operation, each audited with the agency and counts only (never a token):
 *    - `register`: each holding is written to the holdings bucket (`<agency>.<token>`), then
 *      `holdings.registered`;
 *    - `withdraw` / `prune`: the agency's own holdings are deleted, then `holdings.withdrawn`;
 *    - `check`: each token is looked up among the holdings of *other* agencies (an agency's
 *      own holdings are never reported to it as a hit); for each holder with a match one
 *      `hit` alert goes to ALERTS under the holder's own alerts subject (naming the asker and
 *      the holder's references) and one `holdings.hit` entry names asker and holder; then
 *      `holdings.checked`. The asker learns a holder's name only when `holderNamedTo` allows
 *      it (the holder's hit policy, fail-closed); otherwise that the holder was notified.
 *    When the bucket, ALERTS or the auditor fails: ERR_UNAVAILABLE (the client may retry:
 *    writes are idempotent per token, a repeated check makes a new check id).
 *
 * Requests are handled one at a time, so the in-memory index and the bucket change together
 * and a check sees every registration answered before it. One holdings service per hub.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode, MosaicError, isMosaicError, unavailable } from '@mosaic/errors';
import type { Logger } from '@mosaic/log';
import type { HitRegistry } from '@mosaic/policy';
import {
  AlertHeaders,
  HIT_ALERT_KIND,
  HOLDINGS_BUCKET,
  HOLDINGS_WILDCARD,
  QueueGroups,
  Streams,
  agencyOfHoldingsSubject,
  attestedAccount,
  hitAlertMsgId,
  hitAlertSubject,
  holdingKey,
  holdingRecordSchema,
  holdingsRequestSchema,
  isImportedReplySubject,
  parseHoldingKey,
  type AuditClient,
  type HitAlert,
  type HoldingRecord,
  type HoldingsReply,
  type HoldingsRequest,
} from '@mosaic/protocol';
import { drainSubscription, serviceHandle, serviceLogger, type Service } from '@mosaic/service';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { headers, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { HoldingsIndex } from './holdings-index.ts';
import { matchTokens } from './match.ts';

export interface HoldingsOptions {
  /** A connection as the holdings identity. */
  nc: NatsConnection;
  /** The live registry: who exists, and each holder's hit policy. */
  registry: HitRegistry;
  /** The broker account of each agency, to check the attestation (the hub's live identities). */
  accounts: { accountOf(agency: string): string | undefined };
  /** Where registrations, checks and hits are recorded (`auditClient(nc, 'holdings')`). */
  audit: AuditClient<'holdings'>;
  /** Parent logger; records carry `service: 'holdings'`. */
  log?: Logger;
  /** How long one bucket or ALERTS call may take; default 10 000 ms. */
  timeoutMs?: number;
  /** The clock of registrations and checks; default `Date.now`. */
  now?: () => number;
}

/** A running holdings service. */
export interface HoldingsService extends Service {
  /** Holdings currently registered, all agencies together. */
  size(): number;
}

interface Context {
  kv: KV;
  js: JetStreamClient;
  index: HoldingsIndex;
  options: HoldingsOptions;
  log: Logger;
  now: () => number;
}

function refusal(err: MosaicError): HoldingsReply {
  return {
    ok: false,
    code: err.code,
    message: err.message,
    ...(typeof err.details === 'object' && err.details !== null
      ? { details: err.details as Record<string, unknown> }
      : {}),
  };
}

/** Reads the bucket into the index (every current entry; tombstones are skipped). */
async function load(kv: KV, index: HoldingsIndex, log: Logger): Promise<void> {
  if ((await kv.status()).values === 0) return;
  const entries = await kv.watch();
  for await (const e of entries) {
    const key = parseHoldingKey(e.key);
    if (key !== undefined) {
      if (e.operation !== 'PUT') index.delete(key.holder, key.token);
      else {
        const parsed = holdingRecordSchema.safeParse(safeJson(e.value));
        if (parsed.success) index.set(key.holder, key.token, parsed.data);
        else log.warn({ key: e.key }, 'holdings entry unreadable; left out');
      }
    } else log.warn({ key: e.key }, 'holdings bucket key is not a holding; left out');
    if ((e.delta ?? 0) === 0) break;
  }
  entries.stop();
}

function safeJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}

async function register(
  agency: string,
  request: Extract<HoldingsRequest, { op: 'register' }>,
  ctx: Context,
): Promise<HoldingsReply> {
  const registeredAt = new Date(ctx.now()).toISOString();
  // The last entry for a token wins, as a second registration of it would.
  const byToken = new Map(request.holdings.map((h) => [h.token, h]));
  try {
    await Promise.all(
      [...byToken.values()].map(async (h) => {
        const record: HoldingRecord = {
          kind: h.kind,
          reference: h.reference,
          set: request.set,
          registeredAt,
        };
        await ctx.kv.put(holdingKey(agency, h.token), JSON.stringify(record));
        ctx.index.set(agency, h.token, record);
      }),
    );
  } catch (err) {
    throw unavailable('holdings bucket write', err);
  }
  await ctx.options.audit.record({
    actor: { kind: 'agency', id: agency },
    action: 'holdings.registered',
    details: { count: byToken.size, set: request.set },
  });
  return { ok: true, op: 'register', registered: byToken.size };
}

async function withdraw(agency: string, tokens: readonly string[], ctx: Context): Promise<number> {
  const held = [...new Set(tokens)].filter((t) => ctx.index.get(agency, t) !== undefined);
  try {
    await Promise.all(
      held.map(async (token) => {
        await ctx.kv.delete(holdingKey(agency, token));
        ctx.index.delete(agency, token);
      }),
    );
  } catch (err) {
    throw unavailable('holdings bucket delete', err);
  }
  await ctx.options.audit.record({
    actor: { kind: 'agency', id: agency },
    action: 'holdings.withdrawn',
    details: { count: held.length },
  });
  return held.length;
}

async function check(
  asker: string,
  request: Extract<HoldingsRequest, { op: 'check' }>,
  ctx: Context,
): Promise<HoldingsReply> {
  const checkId = randomUUID();
  const checkedAt = new Date(ctx.now()).toISOString();
  const { results, perHolder } = matchTokens(
    ctx.index,
    ctx.options.registry,
    asker,
    request.tokens.map((t) => t.token),
  );
  for (const [holder, holdings] of perHolder) {
    const alert: HitAlert = { v: 1, asker, checkId, checkedAt, holdings };
    const h = headers();
    h.set(AlertHeaders.Kind, HIT_ALERT_KIND);
    h.set(AlertHeaders.Recipient, holder);
    let seq: number;
    try {
      const ack = await ctx.js.publish(
        hitAlertSubject(holder, asker, checkId),
        JSON.stringify(alert),
        {
          msgID: hitAlertMsgId(checkId, holder),
          headers: h,
          expect: { streamName: Streams.Alerts },
        },
      );
      seq = ack.seq;
    } catch (err) {
      throw unavailable('ALERTS append', err);
    }
    await ctx.options.audit.record({
      actor: { kind: 'agency', id: asker },
      action: 'holdings.hit',
      recipients: [{ agency: holder, reason: { named: holdings.some((x) => x.named) } }],
      refs: [{ stream: Streams.Alerts, seq }],
      details: { checkId, count: holdings.length },
    });
  }
  const hits = results.filter((r) => r.hit).length;
  await ctx.options.audit.record({
    actor: { kind: 'agency', id: asker },
    action: 'holdings.checked',
    details: { checkId, count: request.tokens.length, hits },
  });
  ctx.log.info({ agency: asker, count: request.tokens.length, hits }, 'checked');
  return { ok: true, op: 'check', checkId, results };
}

/** Steps 3–4 for an attested request; throws a MosaicError for a refusal. */
async function answer(agency: string, msg: Msg, ctx: Context): Promise<HoldingsReply> {
  const parsed = holdingsRequestSchema.safeParse(safeJson(msg.data));
  if (!parsed.success)
    throw new MosaicError(ErrorCode.Schema, 'the request is not a holdings request', {
      details: { issues: parsed.error.issues.slice(0, 8).map((i) => i.path.join('.')) },
    });
  const request = parsed.data;
  switch (request.op) {
    case 'register':
      return register(agency, request, ctx);
    case 'withdraw':
      return { ok: true, op: 'withdraw', withdrawn: await withdraw(agency, request.tokens, ctx) };
    case 'prune': {
      const stale = ctx.index
        .tokensOf(agency)
        .filter(
          (t) => request.keep === undefined || ctx.index.get(agency, t)?.set !== request.keep,
        );
      return { ok: true, op: 'prune', withdrawn: await withdraw(agency, stale, ctx) };
    }
    case 'check':
      return check(agency, request, ctx);
  }
}

async function handle(msg: Msg, ctx: Context): Promise<void> {
  if (!isImportedReplySubject(msg.reply)) {
    ctx.log.warn({ subject: msg.subject }, 'request without a broker-made reply subject dropped');
    return;
  }
  const agency = agencyOfHoldingsSubject(msg.subject);
  const expected = agency === undefined ? undefined : ctx.options.accounts.accountOf(agency);
  let reply: HoldingsReply;
  if (agency === undefined || expected === undefined || attestedAccount(msg.headers) !== expected) {
    ctx.log.warn({ subject: msg.subject }, 'unattested holdings request refused');
    reply = refusal(
      new MosaicError(
        ErrorCode.SenderNotAttested,
        'the broker does not attest this request as sent by the agency of its subject',
        { details: { subject: msg.subject } },
      ),
    );
  } else {
    try {
      reply = await answer(agency, msg, ctx);
    } catch (err) {
      if (!isMosaicError(err)) throw err;
      ctx.log.info({ agency, code: err.code }, 'holdings request refused');
      reply = refusal(err);
    }
  }
  msg.respond(JSON.stringify(reply));
}

/**
 * Starts the holdings service on an existing holdings bucket (the hub creates it): loads
 * the bucket, then serves `mosaic.holdings.*`. `stop()` stops taking requests and answers
 * those in hand.
 *
 * @example
 * ```ts
 * const holdings = await startHoldings({ nc, registry, accounts, audit: auditClient(nc, 'holdings') });
 * await holdings.stop();
 * ```
 */
export async function startHoldings(options: HoldingsOptions): Promise<HoldingsService> {
  const { nc } = options;
  const log = serviceLogger('holdings', options.log);
  const timeout = options.timeoutMs ?? 10_000;
  const js = jetstream(nc, { timeout });
  const kv = await new Kvm(js).open(HOLDINGS_BUCKET);
  const index = new HoldingsIndex();
  await load(kv, index, log);
  const ctx: Context = { kv, js, index, options, log, now: options.now ?? Date.now };
  const sub = nc.subscribe(HOLDINGS_WILDCARD, { queue: QueueGroups.Holdings });
  const loop = (async () => {
    for await (const msg of sub)
      try {
        await handle(msg, ctx);
      } catch (err) {
        log.error({ err, subject: msg.subject }, 'holdings request failed');
      }
  })();
  await nc.flush();
  log.info({ holdings: index.size }, 'holdings service ready');
  return serviceHandle(
    async () => {
      await drainSubscription(nc, sub);
      await loop;
      log.info('holdings service stopped');
    },
    { size: () => index.size },
  );
}
