/**
 * The selector key service. Each request on `mosaic.selectors.evaluate.<agency>` goes
 * through these steps, in this order; the first that fails decides the answer:
 *
 * 1. attestation — the broker's `Nats-Request-Info` names the agency's account; otherwise
 *    ERR_SENDER_NOT_ATTESTED, nothing charged, evaluated or audited.
 * 2. reply subject — one the broker made (`_R_.…`); otherwise dropped unanswered.
 * 3. shape — the request parses (`selectorRequestSchema`); ERR_OPRF_ELEMENT.
 * 4. `key` requests are answered with the public key and epoch here; nothing is charged.
 * 5. epoch — the request's epoch is the current one; ERR_SELECTOR_KEY_EPOCH.
 * 6. quota — the batch is charged to the agency's daily quota; ERR_QUOTA_EXCEEDED, before
 *    any element is decoded or any scalar multiplied. A charged batch stays charged even if
 *    a later step refuses it, so probing with garbage is not free.
 * 7. audit — a `selectors.evaluated` entry (agency, kind, count, epoch; never an element);
 *    when it cannot be written, ERR_UNAVAILABLE and nothing is evaluated.
 * 8. evaluate — `evaluateBatch` with the DLEQ batch proof; ERR_OPRF_ELEMENT for a
 *    malformed element.
 *
 * The hub's router asks on its own subject, `mosaic.hub.selectors.evaluate`, inside the hub
 * account, where only the router identity may publish: steps 1–2 become "the reply subject
 * is an inbox of the router" (anything else is dropped unanswered) and its batches are
 * charged to a quota of their own (`hubQuotaPerDay`). They are logged, not audited: every
 * selector in them is one of a stored report, whose collection entry already records it,
 * and one entry per batch would make the trail's size depend on how the router batches.
 *
 * @module
 */
import { ErrorCode, MosaicError, isMosaicError } from '@mosaic/errors';
import {
  HUB_SELECTOR_EVALUATE_SUBJECT,
  HubServices,
  QueueGroups,
  SELECTOR_EVALUATE_WILDCARD,
  hubInboxPrefix,
  agencyOfSelectorEvaluateSubject,
  attestedAccount,
  isImportedReplySubject,
  selectorRequestSchema,
  type AuditClient,
  type SelectorReply,
} from '@mosaic/protocol';
import type { Logger } from '@mosaic/log';
import {
  QuotaLedger,
  evaluateBatch,
  type EvaluatedBatch,
  type OprfContext,
} from '@mosaic/selectors';
import {
  drainSubscription,
  limit,
  serviceHandle,
  serviceLogger,
  type Service,
} from '@mosaic/service';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import type { SelectorKey } from './key-file.ts';

/** Default evaluations per agency and UTC day. */
export const DEFAULT_SELECTOR_QUOTA = 10_000;

/** Default evaluations per UTC day for the hub's router (the selectors of stored reports). */
const DEFAULT_HUB_SELECTOR_QUOTA = 1_000_000;

export interface SelectorKeysOptions {
  /** A connection as the selector-keys identity. */
  nc: NatsConnection;
  /** The OPRF key of the current epoch (`loadOrCreateSelectorKey`). */
  key: SelectorKey;
  /** The broker account of each agency, to check the attestation (the hub's live identities). */
  accounts: { accountOf(agency: string): string | undefined };
  /** Where each evaluated batch is recorded (`auditClient(nc, 'selector-keys')`). */
  audit: AuditClient<'selector-keys'>;
  /** Evaluations per agency and UTC day; default 10 000. */
  quotaPerDay?: number;
  /** Per-agency quotas replacing `quotaPerDay`. */
  quotaPerAgency?: Readonly<Record<string, number>>;
  /** Evaluations per UTC day for the hub's router; default 1 000 000. */
  hubQuotaPerDay?: number;
  /** The clock of the quota's days; default `Date.now`. */
  now?: () => number;
  /** Parent logger; records carry `service: 'selector-keys'`. */
  log?: Logger;
  /** Requests handled at a time; default 16. */
  concurrency?: number;
  /** The evaluation; default `evaluateBatch` of `@mosaic/selectors` (tests count its calls). */
  evaluate?: (
    secretKey: Uint8Array,
    blinded: readonly Uint8Array[],
    context: OprfContext,
  ) => EvaluatedBatch;
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

function refusal(err: MosaicError): SelectorReply {
  return {
    ok: false,
    code: err.code,
    message: err.message,
    ...(typeof err.details === 'object' && err.details !== null
      ? { details: err.details as Record<string, unknown> }
      : {}),
  };
}

/** Who asks: an attested agency (audited), or the hub's router on its own subject. */
type Requester =
  | { kind: 'agency'; name: string; ledger: QuotaLedger }
  | { kind: 'service'; name: string; ledger: QuotaLedger };

interface Context {
  options: SelectorKeysOptions;
  ledger: QuotaLedger;
  hubLedger: QuotaLedger;
  evaluate: NonNullable<SelectorKeysOptions['evaluate']>;
  log: Logger;
}

/** Steps 3–8 for an attested request; throws a MosaicError for a refusal. */
async function answer(who: Requester, msg: Msg, ctx: Context): Promise<SelectorReply> {
  const { key, audit } = ctx.options;
  let body: unknown;
  try {
    body = msg.json();
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    throw new MosaicError(ErrorCode.OprfElement, 'the request is not JSON', {
      details: { field: 'request' },
    });
  }
  const parsed = selectorRequestSchema.safeParse(body);
  if (!parsed.success)
    throw new MosaicError(ErrorCode.OprfElement, 'the request is not a selector request', {
      details: { field: 'request' },
    });
  const request = parsed.data;
  if (request.op === 'key') return { ok: true, epoch: key.epoch, publicKey: b64(key.publicKey) };
  if (request.epoch !== key.epoch)
    throw new MosaicError(
      ErrorCode.SelectorKeyEpoch,
      `the key service holds epoch ${key.epoch}, not ${request.epoch}`,
      { details: { requested: request.epoch, current: key.epoch } },
    );
  const count = request.blinded.length;
  who.ledger.charge(who.name, count);
  if (who.kind === 'agency')
    await audit.record({
      actor: { kind: 'agency', id: who.name },
      action: 'selectors.evaluated',
      details: { kind: request.kind, count, epoch: key.epoch },
    });
  const blinded = request.blinded.map((e) => new Uint8Array(Buffer.from(e, 'base64url')));
  const { evaluated, proof } = ctx.evaluate(key.secretKey, blinded, {
    kind: request.kind as OprfContext['kind'],
    epoch: key.epoch,
  });
  ctx.log.info({ [who.kind]: who.name, kind: request.kind, count }, 'evaluated');
  return { ok: true, epoch: key.epoch, evaluated: evaluated.map(b64), proof: b64(proof) };
}

async function respond(msg: Msg, who: Requester, ctx: Context): Promise<void> {
  let reply: SelectorReply;
  try {
    reply = await answer(who, msg, ctx);
  } catch (err) {
    if (!isMosaicError(err)) throw err;
    ctx.log.info({ [who.kind]: who.name, code: err.code }, 'evaluation refused');
    reply = refusal(err);
  }
  msg.respond(JSON.stringify(reply));
}

const ROUTER_INBOX = `${hubInboxPrefix(HubServices.Router)}.`;

/** A request of the hub's router: answered only into an inbox of the router. */
async function handleHub(msg: Msg, ctx: Context): Promise<void> {
  if (msg.reply?.startsWith(ROUTER_INBOX) !== true) {
    ctx.log.warn({ subject: msg.subject }, 'hub request without a router inbox dropped');
    return;
  }
  await respond(msg, { kind: 'service', name: HubServices.Router, ledger: ctx.hubLedger }, ctx);
}

async function handle(msg: Msg, ctx: Context): Promise<void> {
  const agency = agencyOfSelectorEvaluateSubject(msg.subject);
  const expected = agency === undefined ? undefined : ctx.options.accounts.accountOf(agency);
  const attested = expected !== undefined && attestedAccount(msg.headers) === expected;
  if (!isImportedReplySubject(msg.reply)) {
    ctx.log.warn({ subject: msg.subject }, 'request without a broker-made reply subject dropped');
    return;
  }
  if (agency === undefined || !attested) {
    ctx.log.warn({ subject: msg.subject }, 'unattested evaluation request refused');
    const reply = refusal(
      new MosaicError(
        ErrorCode.SenderNotAttested,
        'the broker does not attest this request as sent by the agency of its subject',
        { details: { subject: msg.subject } },
      ),
    );
    msg.respond(JSON.stringify(reply));
    return;
  }
  await respond(msg, { kind: 'agency', name: agency, ledger: ctx.ledger }, ctx);
}

/**
 * Starts the selector key service: agencies (and hub components) get the public key and
 * evaluations of blinded selectors; the secret key stays here. `stop()` stops taking
 * requests and answers those in hand.
 *
 * @example
 * ```ts
 * const keys = await startSelectorKeys({ nc, key, accounts, audit: auditClient(nc, 'selector-keys') });
 * await keys.stop();
 * ```
 */
export async function startSelectorKeys(options: SelectorKeysOptions): Promise<Service> {
  const { nc } = options;
  const log = serviceLogger('selector-keys', options.log);
  const ctx: Context = {
    options,
    ledger: new QuotaLedger({
      perDay: options.quotaPerDay ?? DEFAULT_SELECTOR_QUOTA,
      ...(options.quotaPerAgency === undefined ? {} : { perAgency: options.quotaPerAgency }),
      now: options.now ?? Date.now,
    }),
    hubLedger: new QuotaLedger({
      perDay: options.hubQuotaPerDay ?? DEFAULT_HUB_SELECTOR_QUOTA,
      now: options.now ?? Date.now,
    }),
    evaluate: options.evaluate ?? evaluateBatch,
    log,
  };
  const tasks = limit<Msg>(options.concurrency ?? 16, {
    onError: (err) => {
      log.error({ err }, 'evaluation request failed');
    },
  });
  const sub = nc.subscribe(SELECTOR_EVALUATE_WILDCARD, { queue: QueueGroups.SelectorKeys });
  const hubSub = nc.subscribe(HUB_SELECTOR_EVALUATE_SUBJECT, { queue: QueueGroups.SelectorKeys });
  const serve = async (
    subscription: typeof sub,
    handler: (msg: Msg, ctx: Context) => Promise<void>,
  ): Promise<void> => {
    for await (const msg of subscription) {
      await tasks.free();
      void tasks.run(msg, () => handler(msg, ctx));
    }
  };
  const loop = (async () => {
    await Promise.all([serve(sub, handle), serve(hubSub, handleHub)]);
    await tasks.idle();
  })();
  await nc.flush();
  log.info({ epoch: options.key.epoch }, 'selector key service ready');
  return serviceHandle(async () => {
    await drainSubscription(nc, sub);
    await drainSubscription(nc, hubSub);
    await loop;
    log.info('selector key service stopped');
  });
}
