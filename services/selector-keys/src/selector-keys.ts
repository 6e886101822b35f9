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
 * @module
 */
import { ErrorCode, MosaicError, isMosaicError } from '@mosaic/errors';
import {
  QueueGroups,
  SELECTOR_EVALUATE_WILDCARD,
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

interface Context {
  options: SelectorKeysOptions;
  ledger: QuotaLedger;
  evaluate: NonNullable<SelectorKeysOptions['evaluate']>;
  log: Logger;
}

/** Steps 3–8 for an attested request; throws a MosaicError for a refusal. */
async function answer(agency: string, msg: Msg, ctx: Context): Promise<SelectorReply> {
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
  ctx.ledger.charge(agency, count);
  await audit.record({
    actor: { kind: 'agency', id: agency },
    action: 'selectors.evaluated',
    details: { kind: request.kind, count, epoch: key.epoch },
  });
  const blinded = request.blinded.map((e) => new Uint8Array(Buffer.from(e, 'base64url')));
  const { evaluated, proof } = ctx.evaluate(key.secretKey, blinded, {
    kind: request.kind as OprfContext['kind'],
    epoch: key.epoch,
  });
  ctx.log.info({ agency, kind: request.kind, count }, 'evaluated');
  return { ok: true, epoch: key.epoch, evaluated: evaluated.map(b64), proof: b64(proof) };
}

async function handle(msg: Msg, ctx: Context): Promise<void> {
  const agency = agencyOfSelectorEvaluateSubject(msg.subject);
  const expected = agency === undefined ? undefined : ctx.options.accounts.accountOf(agency);
  const attested = expected !== undefined && attestedAccount(msg.headers) === expected;
  if (!isImportedReplySubject(msg.reply)) {
    ctx.log.warn({ subject: msg.subject }, 'request without a broker-made reply subject dropped');
    return;
  }
  let reply: SelectorReply;
  if (agency === undefined || !attested) {
    ctx.log.warn({ subject: msg.subject }, 'unattested evaluation request refused');
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
      ctx.log.info({ agency, code: err.code }, 'evaluation refused');
      reply = refusal(err);
    }
  }
  msg.respond(JSON.stringify(reply));
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
    evaluate: options.evaluate ?? evaluateBatch,
    log,
  };
  const tasks = limit<Msg>(options.concurrency ?? 16, {
    onError: (err) => {
      log.error({ err }, 'evaluation request failed');
    },
  });
  const sub = nc.subscribe(SELECTOR_EVALUATE_WILDCARD, { queue: QueueGroups.SelectorKeys });
  const loop = (async () => {
    for await (const msg of sub) {
      await tasks.free();
      void tasks.run(msg, () => handle(msg, ctx));
    }
    await tasks.idle();
  })();
  await nc.flush();
  log.info({ epoch: options.key.epoch }, 'selector key service ready');
  return serviceHandle(async () => {
    await drainSubscription(nc, sub);
    await loop;
    log.info('selector key service stopped');
  });
}
