import { ErrorCode, MosaicError } from '@mosaic/errors';
import {
  Roles,
  contextConnectOptions,
  parseContextFile,
  readContextFile,
  type NatsContext,
} from '@mosaic/identities';
import { ingestSubject, parseIngestReply, type IngestReply } from '@mosaic/protocol';
import { parseKid, readPrivateKeyFile, signReport } from '@mosaic/signing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  DEFAULT_RETRY,
  backoffDelay,
  isTransportFailure,
  longestRetriedMs,
  shouldRetry,
  type RetryOptions,
} from './retry.ts';
import {
  subscribeAlerts,
  type Alert,
  type SubscribeOptions,
  type SubscribeSummary,
} from './subscribe.ts';

/** The hub's answer to a submission: accepted (maybe a duplicate) or rejected with a code. */
export type PublishReply = IngestReply;

export interface ConnectAgencyOptions {
  /** The agency's context file (path), or its parsed contents. */
  context: string | NatsContext;
  /**
   * The agency's private signing key: a `.jwk` file path, or the private JWK. Needed by
   * `publish`; `publishSigned` sends JWS signed elsewhere.
   */
  key?: string | object;
  /** How long to wait for the hub's reply to one attempt; default 10 000 ms. */
  timeoutMs?: number;
  /** Retries of transport failures; see `RetryOptions`. */
  retry?: RetryOptions;
}

/** A connection to the hub as one agency. */
export interface AgencyClient extends AsyncDisposable {
  /** The agency id of the context. */
  readonly agency: string;
  /** The underlying NATS connection (its inbox prefix is the agency's). */
  readonly connection: NatsConnection;
  /** Signs a report (object, JSON text or bytes) with the key as a compact JWS. */
  sign(report: object | Uint8Array | string): Promise<string>;
  /** Signs and submits a report; resolves with the hub's reply. */
  publish(report: object | Uint8Array | string): Promise<PublishReply>;
  /** Submits a compact JWS as is; resolves with the hub's reply. */
  publishSigned(jws: string | Uint8Array): Promise<PublishReply>;
  /**
   * The longest one `publish`/`publishSigned` can take before it gives up with
   * ERR_UNAVAILABLE: every attempt waiting its full timeout, plus the longest backoff
   * between attempts (with the defaults 6 × 10 s + 7.75 s).
   */
  readonly longestRequestMs: number;
  /**
   * Reads this agency's alerts from its durable consumer (`alerts-<agency>`, created by the
   * hub), in stream order, and hands each to `handler` once the originator's signature
   * verified with `options.keys` (default: the hub's public-keys projection,
   * `keysFromHub`). An alert is acknowledged only after `handler` resolved, so delivery is
   * at least once: dedupe on `alert.id`. Alerts that fail verification (or whose routing
   * headers contradict the signed report) are terminated, counted and reported to
   * `options.onInvalid`, never handed over. A handler that throws stops the subscription
   * (the alert is redelivered next time) and `subscribe` rejects with its error.
   *
   * Without `follow` it resolves once nothing is pending; with `follow` it runs until
   * `options.signal` aborts. The next call resumes after the last acknowledged alert.
   *
   * @example
   * ```ts
   * const summary = await agency.subscribe(async (alert) => {
   *   await store.upsert(alert.id, alert.report);
   * });
   * console.error(`${summary.delivered} alerts, ${summary.invalid} refused`);
   * ```
   */
  subscribe(
    handler: (alert: Alert) => Promise<void> | void,
    options?: SubscribeOptions,
  ): Promise<SubscribeSummary>;
  /** Waits for outstanding requests, then closes the connection. */
  close(): Promise<void>;
}

async function loadContext(context: string | NatsContext): Promise<NatsContext> {
  const parsed =
    typeof context === 'string'
      ? await readContextFile(context)
      : parseContextFile(JSON.stringify(context));
  if (parsed.role !== Roles.Agency || parsed.agency === undefined)
    throw new MosaicError(
      ErrorCode.ContextFile,
      `the context is for ${parsed.role}, not for an agency`,
      { details: { role: parsed.role } },
    );
  return parsed;
}

async function loadKey(key: string | object, agency: string): Promise<object> {
  let privateJwk: object;
  let kid: unknown;
  if (typeof key === 'string') {
    const read = await readPrivateKeyFile(key);
    ({ privateJwk, kid } = read);
  } else {
    privateJwk =
      'privateJwk' in key && typeof key.privateJwk === 'object' && key.privateJwk !== null
        ? key.privateJwk
        : key;
    kid = (privateJwk as { kid?: unknown }).kid;
  }
  const parts = typeof kid === 'string' ? parseKid(kid) : undefined;
  if (parts === undefined)
    throw new MosaicError(
      ErrorCode.KeyFile,
      'the private key has no "kid" of the form <agency>/<keyId>',
    );
  if (parts.agency !== agency)
    throw new MosaicError(
      ErrorCode.SignerNotConnected,
      `the key belongs to agency "${parts.agency}", the context to "${agency}"`,
      { details: { signer: parts.agency, connected: agency } },
    );
  return privateJwk;
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Connects to the hub as the agency of a context file. Throws ERR_CONTEXT_FILE or
 * ERR_KEY_FILE for unusable files, and ERR_UNAVAILABLE when the hub cannot be reached.
 *
 * @example
 * ```ts
 * await using agency = await connectAgency({
 *   context: '.mosaic/contexts/nl-police.json',
 *   key: '.mosaic/keys/nl-police.jwk',
 * });
 * const reply = await agency.publish(report);
 * if (!reply.ok) console.error(reply.code, reply.message);
 * ```
 */
export async function connectAgency(options: ConnectAgencyOptions): Promise<AgencyClient> {
  const context = await loadContext(options.context);
  const agency = context.agency ?? '';
  const privateJwk = options.key === undefined ? undefined : await loadKey(options.key, agency);
  const timeout = options.timeoutMs ?? 10_000;
  const retry = { ...DEFAULT_RETRY, ...options.retry };
  let nc: NatsConnection;
  try {
    nc = await connect({
      ...contextConnectOptions(context),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
  } catch (err) {
    throw new MosaicError(
      ErrorCode.Unavailable,
      `cannot reach the hub at ${context.url}: ${err instanceof Error ? err.message : String(err)}`,
      { details: { url: context.url }, cause: err },
    );
  }
  const subject = ingestSubject(agency);

  const publishSigned = async (jws: string | Uint8Array): Promise<PublishReply> => {
    // One copy of the bytes for every attempt: a retry must send exactly the same JWS.
    const data = typeof jws === 'string' ? new TextEncoder().encode(jws) : new Uint8Array(jws);
    let last = '';
    for (let attempt = 1; ; attempt++) {
      try {
        const msg = await nc.request(subject, data, { timeout });
        const reply = parseIngestReply(msg.data);
        if (reply === undefined)
          throw new MosaicError(ErrorCode.Internal, 'the hub sent a reply that is not a reply', {
            details: { reply: msg.string().slice(0, 200) },
          });
        if (reply.ok || !shouldRetry(reply)) return reply;
        last = `${reply.code}: ${reply.message}`;
      } catch (err) {
        if (!isTransportFailure(err)) throw err;
        last = err instanceof Error ? err.message : String(err);
      }
      if (attempt >= retry.attempts || nc.isClosed())
        throw new MosaicError(
          ErrorCode.Unavailable,
          `the hub did not answer after ${attempt} attempts (last: ${last})`,
          { details: { attempts: attempt, last } },
        );
      await delay(backoffDelay(attempt, retry));
    }
  };

  const sign = async (report: object | Uint8Array | string): Promise<string> => {
    if (privateJwk === undefined)
      throw new MosaicError(ErrorCode.Usage, 'connectAgency was given no key: cannot sign');
    return signReport(report, privateJwk);
  };

  // A drain needs the server: while the connection is down it would wait for a reconnect.
  let connected = true;
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') connected = false;
      else if (status.type === 'reconnect') connected = true;
    }
  })();
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= nc.isClosed() ? Promise.resolve() : connected ? nc.drain() : nc.close();
    return closing;
  };

  return {
    agency,
    connection: nc,
    longestRequestMs: longestRetriedMs(timeout, retry),
    sign,
    publish: async (report) => publishSigned(await sign(report)),
    publishSigned,
    subscribe: (handler, subscribeOptions) =>
      subscribeAlerts(nc, agency, handler, subscribeOptions),
    close,
    [Symbol.asyncDispose]: close,
  };
}
