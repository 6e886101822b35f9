import {
  ClosedConnectionError,
  DrainingConnectionError,
  InvalidArgumentError,
  NoRespondersError,
  PermissionViolationError,
  RequestError,
  TimeoutError,
  createInbox,
  type Msg,
  type NatsConnection,
  type Payload,
  type RequestOptions,
  type Subscription,
} from '@nats-io/transport-node';

/** What nats.js throws is always an Error; anything else is wrapped, never swallowed. */
function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

interface Pending {
  readonly subject: string;
  readonly resolve: (msg: Msg) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * One reply subscription (`<inbox>.<id>.*`) for every request of a connection, like nats.js's
 * own, without its per-request cost: nats.js 3.4's `RequestOne` rejects its already settled
 * promise with a `new RequestError("cancelled")` after every successful reply — a stack
 * capture per request, and per JetStream publish (a publish is a request), whatever
 * `noAsyncTraces` says. Outcomes are nats.js's: the reply message; `TimeoutError` after
 * `timeout` ms (default 1 s); a `RequestError` whose cause is `NoRespondersError` (so
 * `isNoResponders()` holds and JetStream still reports "jetstream is not enabled") when
 * nobody listens; the publish's own error (closed, draining, bad subject) at once; a
 * `RequestError` for a publish permission violation on the request's subject, for a
 * permission violation on the reply subscription and, with "connection closed", for the
 * requests pending when the connection closes.
 */
class RequestMux {
  readonly #nc: NatsConnection;
  readonly #inboxPrefix: string;
  readonly #pending = new Map<string, Pending>();
  #base = '';
  #sub: Subscription | undefined;
  #next = 0;

  constructor(nc: NatsConnection, inboxPrefix: string) {
    this.#nc = nc;
    this.#inboxPrefix = inboxPrefix;
    void this.#watchPublishViolations();
  }

  request(subject: string, data: Payload | undefined, opts: RequestOptions): Promise<Msg> {
    try {
      if (this.#nc.isClosed()) throw new ClosedConnectionError();
      if (this.#nc.isDraining()) throw new DrainingConnectionError();
    } catch (err) {
      return Promise.reject(asError(err));
    }
    const timeout = opts.timeout || 1_000;
    if (timeout < 1)
      return Promise.reject(InvalidArgumentError.format('timeout', 'must be greater than 0'));
    try {
      this.#subscription();
    } catch (err) {
      return Promise.reject(asError(err));
    }
    const token = (this.#next++).toString(36);
    return new Promise<Msg>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(token);
        reject(new TimeoutError());
      }, timeout);
      this.#pending.set(token, { subject, resolve, reject, timer });
      try {
        this.#nc.publish(subject, data, {
          reply: `${this.#base}${token}`,
          ...(opts.headers === undefined ? {} : { headers: opts.headers }),
          ...(opts.traceDestination === undefined
            ? {}
            : { traceDestination: opts.traceDestination }),
          ...(opts.traceOnly === undefined ? {} : { traceOnly: opts.traceOnly }),
        });
      } catch (err) {
        clearTimeout(timer);
        this.#pending.delete(token);
        reject(asError(err));
      }
    });
  }

  #subscription(): Subscription {
    if (this.#sub !== undefined && !this.#sub.isClosed()) return this.#sub;
    this.#base = `${createInbox(this.#inboxPrefix)}.`;
    const sub = this.#nc.subscribe(`${this.#base}*`, {
      callback: (err, msg) => {
        if (err !== null) {
          this.#failAll(new RequestError(err.message, { cause: err }));
          return;
        }
        this.#reply(msg);
      },
    });
    this.#sub = sub;
    void sub.closed.then(() => {
      if (this.#sub === sub) this.#sub = undefined;
      // nats.js wraps its own "connection closed" once more, as it does every failure.
      const cause = new RequestError('connection closed');
      this.#failAll(new RequestError(cause.message, { cause }));
    });
    return sub;
  }

  #reply(msg: Msg): void {
    if (!msg.subject.startsWith(this.#base)) return;
    const token = msg.subject.slice(this.#base.length);
    const pending = this.#pending.get(token);
    if (pending === undefined) return;
    this.#pending.delete(token);
    clearTimeout(pending.timer);
    if (msg.data.length === 0 && msg.headers?.code === 503) {
      const cause = new NoRespondersError(pending.subject);
      pending.reject(new RequestError(cause.message, { cause }));
    } else pending.resolve(msg);
  }

  #failAll(err: RequestError): void {
    const all = [...this.#pending.values()];
    this.#pending.clear();
    for (const pending of all) {
      clearTimeout(pending.timer);
      pending.reject(err);
    }
  }

  /** A publish refused by the server's permissions fails the first request to that subject. */
  async #watchPublishViolations(): Promise<void> {
    for await (const status of this.#nc.status()) {
      if (status.type !== 'error') continue;
      const err = status.error;
      if (!(err instanceof PermissionViolationError) || err.operation !== 'publish') continue;
      for (const [token, pending] of this.#pending)
        if (pending.subject === err.subject) {
          this.#pending.delete(token);
          clearTimeout(pending.timer);
          pending.reject(new RequestError(err.message, { cause: err }));
          break;
        }
    }
  }
}

/**
 * Routes `nc.request` — and with it every JetStream publish, API call and KV operation made
 * on `nc` — through one reply multiplexer of Mosaic's own (see {@link RequestMux}); what
 * callers see is unchanged, minus a stack capture per successful request. A request with
 * `noMux` or its own `reply` subject still goes to nats.js. `inboxPrefix` is the one the
 * connection was made with (the broker only lets it receive replies there). Returns `nc`.
 *
 * @example
 * ```ts
 * const options = contextConnectOptions(context);
 * const nc = multiplexRequests(await connect(options), options.inboxPrefix);
 * ```
 */
export function multiplexRequests(nc: NatsConnection, inboxPrefix: string): NatsConnection {
  const own = nc.request.bind(nc);
  const mux = new RequestMux(nc, inboxPrefix);
  nc.request = (subject, data, opts = { timeout: 1_000 }) =>
    opts.noMux === true || opts.reply !== undefined
      ? own(subject, data, opts)
      : mux.request(subject, data, opts);
  return nc;
}
