import { TimeoutError } from '@nats-io/transport-node';
import { AUDIT_CHECKPOINTS_STREAM } from './subjects.ts';
import {
  JetStreamApiCodes,
  JetStreamApiError,
  JetStreamError,
  type DirectBatchOptions,
  type DirectLastFor,
  type JetStreamManager,
  type StoredMsg,
} from '@nats-io/jetstream';

/** Messages asked for per direct-get batch. */
const BATCH = 1_000;

/**
 * How long a read keeps asking for sequences the stream's state counts but a direct get did
 * not return. Any replica answers a direct get, and a follower may not have applied the
 * newest entries yet; it catches up within milliseconds, while a message that is really
 * gone stays gone. (A leader read asks again only after the leadership moved.)
 */
const LAGGING_REPLICA_MS = 5_000;

/** Pauses before asking again (growing, capped), or false once `deadline` passed. */
async function askAgain(deadline: number, attempt: number): Promise<boolean> {
  if (Date.now() >= deadline) return false;
  await new Promise((resolve) => setTimeout(resolve, Math.min(200, 10 * 2 ** attempt)));
  return true;
}

/**
 * The messages of `stream` with sequences `from`…`to` (inclusive; `to` defaults to the
 * last sequence when the read starts), in order, through batched direct gets (or, with
 * `leader: true`, the stream leader's message gets) — read-only access to one stream, no
 * consumer. Sequences the stream no longer holds are skipped.
 *
 * @example
 * ```ts
 * for await (const m of readStream(jsm, 'AUDIT', { from: 1 })) leaves.push(m.data);
 * ```
 */
export async function* readStream(
  jsm: JetStreamManager,
  stream: string,
  options: ReadSequencesOptions = {},
): AsyncGenerator<StoredMsg> {
  for await (const { msg } of readSequences(jsm, stream, options)) if (msg !== undefined) yield msg;
}

/** HTTP-like status of a direct get that found nothing (JetStream answers it as a status, not an API error). */
const NO_MESSAGE_STATUS = 404;

/** A direct or stored get found no message: the status (direct get) or the API error. */
export function isNoMessage(err: unknown): boolean {
  if (err instanceof JetStreamApiError) return err.code === JetStreamApiCodes.NoMessageFound;
  return err instanceof JetStreamError && 'code' in err && err.code === NO_MESSAGE_STATUS;
}

/** What a batched direct get asks for: from a sequence or a time, or the last message per subject. */
export type DirectBatchRequest = DirectBatchOptions | DirectLastFor;

/**
 * How long a batched direct get may go without a message before it fails. nats.js fails a
 * batch that gets no first answer within 5 s, but not one whose connection closes while it
 * waits (closing a subscription cancels its timer and settles nothing) nor one whose server
 * stops answering midway: without this, the read would wait for ever.
 */
const BATCH_IDLE_MS = 10_000;

/**
 * The messages of one batched direct get (`$JS.API.DIRECT.GET.<stream>` with `batch` or
 * `multi_last`), in the order the server sent them; empty when it found none. Unlike
 * iterating what `jsm.direct.getBatch` returns, which leaves the get's reply subscription
 * open on the connection once the batch ends (nats.js 3.4 removes it only in callback mode
 * or on an error), the subscription is gone when this settles, however it ends (but for a
 * stall on a connection still open, rare enough to leave its one subscription): a
 * connection that reads in a loop (the router's index lookups, a replay) keeps a constant
 * set of subscriptions. Errors are nats.js's (a read refused, a timeout after 5 s without
 * an answer, or after `BATCH_IDLE_MS` without the next one — a connection closed meanwhile
 * included), except that "no message" is an empty batch.
 */
export function directBatch(
  jsm: JetStreamManager,
  stream: string,
  request: DirectBatchRequest,
): Promise<StoredMsg[]> {
  return new Promise<StoredMsg[]>((resolve, reject) => {
    const out: StoredMsg[] = [];
    let settled = false;
    let idle: NodeJS.Timeout | undefined;
    const settle = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      if (err === undefined) resolve(out);
      else reject(err);
    };
    const stalled = (): void => {
      settle(
        new TimeoutError({
          cause: new Error(
            `direct get on ${stream}: no message for ${String(BATCH_IDLE_MS / 1000)} s`,
          ),
        }),
      );
    };
    idle = setTimeout(stalled, BATCH_IDLE_MS);
    // nats.js's callback mode: each message, then once `done` (with the error, if any),
    // after which it has removed the subscription. The callback option is untyped there.
    const callback = (done: { err?: Error } | null, m: StoredMsg): void => {
      if (done === null) {
        if (settled) return;
        out.push(m);
        clearTimeout(idle);
        idle = setTimeout(stalled, BATCH_IDLE_MS);
        return;
      }
      settle(done.err === undefined || isNoMessage(done.err) ? undefined : done.err);
    };
    const direct = jsm.direct as unknown as Record<
      'getBatch' | 'getLastMessagesFor',
      (s: string, o: DirectBatchRequest & { callback: typeof callback }) => Promise<unknown>
    >;
    const asked = { ...request, callback };
    ('multi_last' in request
      ? direct.getLastMessagesFor(stream, asked)
      : direct.getBatch(stream, asked)
    ).catch((err: unknown) => {
      settle(err instanceof Error ? err : new Error(String(err)));
    });
  });
}

/** One sequence of a stream: its message, or `undefined` when the stream cannot return it. */
export interface SequenceRead {
  seq: number;
  msg: StoredMsg | undefined;
}

/** Which sequences to read, and from whom. */
export interface ReadSequencesOptions {
  from?: number;
  to?: number;
  /**
   * Read through the stream leader (`STREAM.MSG.GET`, one request per sequence, many in
   * flight) instead of batched direct gets. Any replica answers a direct get, so a replica
   * whose copy differs from the leader's (a message a damaged block lost on one node) is
   * seen or not depending on which one answered; the leader's answer is what the stream
   * serves. For checks whose verdict must not depend on the replica: `audit verify`.
   */
  leader?: boolean;
}

/**
 * Every sequence `from`…`to` of `stream` (`to` defaults to the last sequence when the read
 * starts) in order, each with its message or with
 * `msg: undefined` when the stream's state counts it but no read returns it (a message
 * dropped by the server's checksum on a damaged block, or removed). For streams that must
 * have no holes (AUDIT, AUDIT_CHECKPOINTS, REPORTS): unlike {@link readStream} nothing is
 * skipped silently. With `leader: true` every read is answered by the stream leader.
 */
export async function* readSequences(
  jsm: JetStreamManager,
  stream: string,
  options: ReadSequencesOptions = {},
): AsyncGenerator<SequenceRead> {
  const info = await jsm.streams.info(stream);
  const last = Math.min(options.to ?? info.state.last_seq, info.state.last_seq);
  const first = Math.max(options.from ?? 1, 1);
  if (options.leader === true) {
    yield* leaderSequences(jsm, stream, first, last, info.cluster?.leader);
    return;
  }
  let seq = first;
  let deadline = 0;
  for (let attempt = 0; seq <= last;) {
    let got = 0;
    const batch = await directBatch(jsm, stream, {
      seq,
      batch: Math.min(BATCH, last - seq + 1),
    });
    for (const m of batch) {
      if (m.seq > last) break;
      for (; seq < m.seq; seq++) yield { seq, msg: undefined };
      got++;
      seq = m.seq + 1;
      yield { seq: m.seq, msg: m };
    }
    if (got > 0) {
      attempt = 0;
      continue;
    }
    // Nothing at or after `seq` although the state counts up to `last`: a lagging replica
    // answered, or the rest is gone.
    if (attempt === 0) deadline = Date.now() + LAGGING_REPLICA_MS;
    if (!(await askAgain(deadline, attempt++)))
      for (; seq <= last; seq++) yield { seq, msg: undefined };
  }
}

/** Leader message gets in flight at once: the latency of one is the cost, not their number. */
const LEADER_WINDOW = 256;

/**
 * A request no one answered, or answered "not now" (no stream leader during an election,
 * JetStream unavailable): ask again. Any other API error (the stream does not exist) is final.
 */
function askAgainAfter(err: unknown): boolean {
  return !(err instanceof JetStreamApiError) || err.status >= 500;
}

/**
 * `first`…`last` of `stream`, each asked of the stream leader. A sequence the leader
 * answers "no message" for is a hole, named at once — unless the leadership moved since
 * `leader` counted `last` (a new leader may still be applying its log): then it is asked
 * again for at most `LAGGING_REPLICA_MS` from the first such answer. Requests that go
 * unanswered (an election) are asked again within the same bound.
 */
async function* leaderSequences(
  jsm: JetStreamManager,
  stream: string,
  first: number,
  last: number,
  leader: string | undefined,
): AsyncGenerator<SequenceRead> {
  let deadline: number | undefined;
  const moved = async (): Promise<boolean> =>
    (await jsm.streams.info(stream)).cluster?.leader !== leader;
  const get = async (seq: number): Promise<StoredMsg | undefined> => {
    for (let attempt = 0; ; attempt++) {
      let msg: StoredMsg | null;
      try {
        msg = await jsm.streams.getMessage(stream, { seq });
      } catch (err) {
        deadline ??= Date.now() + LAGGING_REPLICA_MS;
        if (askAgainAfter(err) && (await askAgain(deadline, attempt))) continue;
        throw err;
      }
      if (msg !== null) return msg;
      if (attempt === 0 && !(await moved())) return undefined;
      deadline ??= Date.now() + LAGGING_REPLICA_MS;
      if (!(await askAgain(deadline, attempt))) return undefined;
    }
  };
  const pending: Promise<StoredMsg | undefined>[] = [];
  let next = first;
  const fill = (): void => {
    for (; next <= last && pending.length < LEADER_WINDOW; next++) {
      const read = get(next);
      // Awaited in order below; a failure before its turn is not unhandled meanwhile.
      read.catch(() => undefined);
      pending.push(read);
    }
  };
  fill();
  for (let seq = first; seq <= last; seq++) {
    const msg = await pending.shift();
    fill();
    yield { seq, msg };
  }
}

/** A stored signed checkpoint. */
export interface StoredCheckpoint {
  /** Its sequence in the checkpoints stream. */
  seq: number;
  /** The tree size it signs (from its `Mosaic-Tree-Size` header). */
  size: number;
  /** The signed checkpoint text. */
  text: string;
}

/** Header carrying a stored checkpoint's tree size (so it can be found without parsing). */
export const TREE_SIZE_HEADER = 'Mosaic-Tree-Size';

/** Every checkpoint of the checkpoints stream (default `AUDIT_CHECKPOINTS`), in order. */
export async function readAuditCheckpoints(
  jsm: JetStreamManager,
  stream = AUDIT_CHECKPOINTS_STREAM,
): Promise<StoredCheckpoint[]> {
  const out: StoredCheckpoint[] = [];
  for await (const m of readStream(jsm, stream))
    out.push({
      seq: m.seq,
      size: Number(m.header.get(TREE_SIZE_HEADER) || NaN),
      text: new TextDecoder().decode(m.data),
    });
  return out;
}
