import {
  MerkleLog,
  encodeEntry,
  formatCheckpoint,
  leafHash,
  signCheckpoint,
  type AuditEntry,
  type HubSigningKey,
} from '@mosaic/audit-log';
import { ErrorCode, MosaicError, isMosaicError } from '@mosaic/errors';
import {
  AUDIT_CHECKPOINTS_STREAM,
  AUDIT_CHECKPOINTS_SUBJECT,
  AUDIT_REQUEST_WILDCARD,
  QueueGroups,
  StreamSubjects,
  Streams,
  alertsConsumer,
} from '@mosaic/federation';
import { createLogger, type Logger } from '@mosaic/log';
import {
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { headers, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { breakGlassEntry, checkAuditSender } from './attest.ts';
import type { AuditReply, AuditRequest } from './client.ts';
import { TREE_SIZE_HEADER, readStream } from './read.ts';

export interface AuditorOptions {
  /** A connection as the auditor identity. */
  nc: NatsConnection;
  /** The hub's checkpoint key (`generateHubKey`); its name is the checkpoints' origin. */
  hubKey: HubSigningKey;
  /** Parent logger; records carry `service`/`component: 'auditor'`. */
  log?: Logger;
  /** A signed checkpoint after this many new entries or seconds, whichever first. Default 1000 / 10 s. */
  checkpointEvery?: { entries?: number; seconds?: number };
  /** Called with each signed checkpoint once it is stored (the hub writes it to a file). */
  onCheckpoint?: (signed: string) => Promise<void>;
  /** The entries' clock; default `() => new Date()`. */
  now?: () => Date;
  /** How long a JetStream operation may take; default 5 000 ms. */
  timeoutMs?: number;
  /** Subscribe to the alerts consumers' ack samples (consultations); default true. */
  consultations?: boolean;
  /**
   * The routine operator's account (`A…`): audit requests on `mosaic.hub.audit.operator`
   * must be attested by the broker as coming from it. Unset: not checked (tests that run the
   * auditor without accounts).
   */
  operatorAccount?: string;
  /**
   * The break-glass user's public key (`U…`): every JetStream API call it makes (from the
   * broker's API advisories) becomes an `admin.api` entry. Unset: not recorded.
   */
  adminUser?: string;
}

/** A running auditor. */
export interface Auditor extends AsyncDisposable {
  /** Entries in the log as this instance last saw it. */
  size(): number;
  /** Appends one entry (the services use `auditClient`; this is the in-process path). */
  append(request: AuditRequest): Promise<number>;
  /** Signs and stores a checkpoint of the current log now, unless the last one covers it. */
  checkpoint(): Promise<string | undefined>;
  /** Stops taking requests, appends those in hand, writes a last checkpoint. */
  stop(): Promise<void>;
}

/**
 * How long an entry may keep losing the race to other writers (or failing to be stored)
 * before it is refused — shorter than the client's 10 s request timeout.
 */
const CONTENDED_APPEND_MS = 8_000;
/** Entries published in flight at once (pipelined, each chained to the one before). */
const MAX_BATCH = 256;
/** Longest pause after a lost race (jittered), so two busy writers do not keep colliding. */
const MAX_BACKOFF_MS = 25;

function serviceLogger(log: Logger | undefined): Logger {
  if (log === undefined) return createLogger({ service: 'auditor' });
  const bindings = log.bindings() as { service?: unknown };
  if (bindings.service === 'auditor') return log;
  return log.child(
    bindings.service === undefined ? { service: 'auditor' } : { component: 'auditor' },
  );
}

/** JetStream's "wrong last msg ID" (the expected previous entry is not the last one). */
const WRONG_LAST_MSG_ID = 10070;

function isWrongLastSequence(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause)
    if (
      e instanceof JetStreamApiError &&
      (e.code === JetStreamApiCodes.StreamWrongLastSequence ||
        e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown ||
        e.code === WRONG_LAST_MSG_ID)
    )
      return true;
  return false;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Ack sample advisory of a consumer (`io.nats.jetstream.metric.v1.consumer_ack`). */
interface AckSample {
  stream?: string;
  consumer?: string;
  consumer_seq?: number;
  stream_seq?: number;
  deliveries?: number;
}

const CONSULTATION_SUBJECT = `$JS.EVENT.METRIC.CONSUMER.ACK.${Streams.Alerts}.>`;
/** Where the broker reports every JetStream API call of the hub account. */
const API_ADVISORY_SUBJECT = '$JS.EVENT.ADVISORY.API';

interface Pending {
  request: AuditRequest;
  deadline: number;
  attempts: number;
  resolve: (seq: number) => void;
  reject: (err: unknown) => void;
}

interface Built {
  pending: Pending;
  data: Uint8Array;
  leaf: Uint8Array;
  /** Hex leaf hash: the entry's msg id and the next entry's `prev`. */
  id: string;
}

/**
 * The ordered writer. Requests queue up; a pump publishes them in batches, pipelined, each
 * entry expecting both the stream's last sequence and — after the first of a batch — the
 * previous entry's msg id (its leaf hash). So an entry is stored only directly after the
 * entry it chains to: when another writer got in between, that entry and every later one
 * of the batch fail, the pump re-reads the stream (the truth), settles what was stored and
 * re-chains the rest after the other writer's entries. No fork, no broken `prev` chain.
 */
class Writer {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #key: HubSigningKey;
  #tree = new MerkleLog();
  /** AUDIT's last sequence as this writer last saw it (gaps only on a tampered stream). */
  #lastSeq = 0;
  #lastLeaf: string | undefined;
  #checkpointed = 0;
  #queue: Pending[] = [];
  #pumping: Promise<void> | undefined;
  #checkpoints: Promise<unknown> = Promise.resolve();

  constructor(
    js: JetStreamClient,
    jsm: JetStreamManager,
    log: Logger,
    now: () => Date,
    key: HubSigningKey,
  ) {
    this.#js = js;
    this.#jsm = jsm;
    this.#log = log;
    this.#now = now;
    this.#key = key;
  }

  get size(): number {
    return this.#tree.size;
  }

  get uncheckpointed(): number {
    return this.#tree.size - this.#checkpointed;
  }

  #commit(data: Uint8Array, seq: number): string {
    const leaf = leafHash(data);
    this.#tree.append(leaf);
    this.#lastLeaf = hex(leaf);
    this.#lastSeq = seq;
    return this.#lastLeaf;
  }

  /**
   * Reads what AUDIT holds beyond what this writer knows (all of it on start); `seen` gets
   * each entry's sequence and leaf hash.
   */
  async catchUp(seen?: (seq: number, id: string) => void): Promise<void> {
    const before = this.#tree.size;
    for await (const m of readStream(this.#jsm, Streams.Audit, { from: this.#lastSeq + 1 })) {
      const id = this.#commit(m.data, m.seq);
      seen?.(m.seq, id);
    }
    if (this.#tree.size !== before)
      this.#log.debug({ size: this.#tree.size, read: this.#tree.size - before }, 'AUDIT tail read');
  }

  /** The tree size of the last stored checkpoint. */
  async loadCheckpointed(): Promise<void> {
    this.#checkpointed = (await this.#lastCheckpoint()).size;
  }

  /** Resolves once every append queued so far is settled. */
  async idle(): Promise<void> {
    while (this.#pumping !== undefined) await this.#pumping;
  }

  /** Appends one entry; resolves with its AUDIT sequence once JetStream stored it. */
  append(request: AuditRequest): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#queue.push({
        request,
        deadline: Date.now() + CONTENDED_APPEND_MS,
        attempts: 0,
        resolve,
        reject,
      });
      this.#kick();
    });
  }

  #kick(): void {
    if (this.#pumping !== undefined) return;
    this.#pumping = this.#pump().finally(() => {
      this.#pumping = undefined;
      if (this.#queue.length > 0) this.#kick();
    });
  }

  async #pump(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, MAX_BATCH);
      try {
        await this.#write(batch);
      } catch (err) {
        // Not expected (#write settles its entries); never leave a caller waiting.
        this.#log.error({ err }, 'audit batch failed');
        for (const p of batch) p.reject(err);
      }
    }
  }

  async #write(batch: Pending[]): Promise<void> {
    const built: Built[] = [];
    const time = this.#now().toISOString();
    let prev = this.#lastLeaf;
    for (const pending of batch) {
      let data: Uint8Array;
      try {
        // Throws ERR_AUDIT_ENTRY (the schema's verdict) for anything that is not an entry.
        data = encodeEntry({
          ...pending.request,
          v: 1,
          time,
          ...(prev === undefined ? {} : { prev }),
        } as AuditEntry);
      } catch (err) {
        pending.reject(err);
        continue;
      }
      const leaf = leafHash(data);
      prev = hex(leaf);
      built.push({ pending, data, leaf, id: prev });
    }
    const base = this.#lastSeq;
    const results = await Promise.allSettled(
      built.map((b, i) =>
        this.#js.publish(StreamSubjects[Streams.Audit], b.data, {
          msgID: b.id,
          expect: {
            streamName: Streams.Audit,
            lastSequence: base + i,
            ...(i === 0 ? {} : { lastMsgID: (built[i - 1] as Built).id }),
          },
        }),
      ),
    );
    let stored = 0;
    for (const [i, b] of built.entries()) {
      const r = results[i];
      if (r?.status !== 'fulfilled' || r.value.duplicate || r.value.seq !== base + i + 1) break;
      this.#commit(b.data, r.value.seq);
      b.pending.resolve(r.value.seq);
      stored++;
    }
    if (stored === built.length) return;

    // Lost a race (or a publish failed): the stream is the truth. Whatever of ours it holds
    // is settled; the rest is re-chained after what it holds and tried again.
    const failure = results.slice(stored).find((r) => r.status === 'rejected')?.reason as unknown;
    const open = new Map(built.slice(stored).map((b) => [b.id, b]));
    try {
      await this.catchUp((seq, id) => {
        const mine = open.get(id);
        if (mine === undefined) return;
        open.delete(id);
        mine.pending.resolve(seq);
      });
    } catch (err) {
      for (const b of open.values()) b.pending.reject(err);
      return;
    }
    const contended = isWrongLastSequence(failure);
    const retry: Pending[] = [];
    for (const { pending } of open.values()) {
      pending.attempts++;
      if (Date.now() > pending.deadline) pending.reject(failure);
      else retry.push(pending);
    }
    if (retry.length === 0) return;
    this.#log.debug(
      { lastSeq: this.#lastSeq, retry: retry.length, contended },
      contended
        ? 'AUDIT moved on; re-chaining after the other writer'
        : 'AUDIT append failed; retrying',
    );
    const attempts = retry[0]?.attempts ?? 1;
    await delay(
      contended
        ? Math.floor(Math.random() * Math.min(MAX_BACKOFF_MS, attempts * 2))
        : Math.min(1_000, 50 * attempts),
    );
    this.#queue.unshift(...retry);
  }

  /** The last stored checkpoint: its sequence and tree size. */
  async #lastCheckpoint(): Promise<{ seq: number; size: number }> {
    try {
      const m = await this.#jsm.streams.getMessage(AUDIT_CHECKPOINTS_STREAM, {
        last_by_subj: AUDIT_CHECKPOINTS_SUBJECT,
      });
      return m === null
        ? { seq: 0, size: 0 }
        : { seq: m.seq, size: Number(m.header.get(TREE_SIZE_HEADER)) };
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.NoMessageFound)
        return { seq: 0, size: 0 };
      throw err;
    }
  }

  /**
   * Signs and stores a checkpoint of the tree as it is now — unless the last stored one
   * (possibly another auditor's) already covers that size. Stored with expected-last-
   * sequence too, so checkpoints of racing auditors never appear out of order.
   */
  checkpoint(): Promise<string | undefined> {
    const run = this.#checkpoints.then(async () => {
      for (let attempt = 1; ; attempt++) {
        // A snapshot: the tree only changes synchronously between awaits.
        const size = this.#tree.size;
        const root = this.#tree.root(size);
        const last = await this.#lastCheckpoint();
        this.#checkpointed = Math.max(this.#checkpointed, last.size);
        if (size === 0 || size <= last.size) return undefined;
        const signed = signCheckpoint(
          formatCheckpoint({ origin: this.#key.name, size, root }),
          this.#key,
        );
        const h = headers();
        h.set(TREE_SIZE_HEADER, String(size));
        try {
          await this.#js.publish(AUDIT_CHECKPOINTS_SUBJECT, signed, {
            headers: h,
            expect: { streamName: AUDIT_CHECKPOINTS_STREAM, lastSequence: last.seq },
          });
        } catch (err) {
          if (!isWrongLastSequence(err) || attempt >= 10) throw err;
          continue;
        }
        this.#checkpointed = size;
        return signed;
      }
    });
    this.#checkpoints = run.catch(() => undefined);
    return run;
  }
}

function refusal(err: unknown): AuditReply {
  if (isMosaicError(err)) return { ok: false, code: err.code, message: err.message };
  if (err instanceof SyntaxError)
    return { ok: false, code: ErrorCode.JsonSyntax, message: 'the audit request is not JSON' };
  return {
    ok: false,
    code: ErrorCode.Unavailable,
    message: `AUDIT append failed: ${err instanceof Error ? err.message : String(err)}`,
  };
}

/**
 * Starts the auditor: rebuilds the Merkle log from AUDIT, then appends every audit request
 * of `mosaic.hub.audit.*` (queue group `auditor`) and every ack sample of an alerts
 * consumer (`alert.consulted`), one at a time, each with expected-last-sequence — so any
 * number of auditors can run and the log never forks: a writer that lost the race
 * re-reads the tail and chains after it. Signs a checkpoint every N entries or T seconds.
 * See services/auditor/README.md.
 *
 * @example
 * ```ts
 * await using auditor = await startAuditor({ nc, hubKey: await readHubKey('.mosaic/hub.jwk') });
 * ```
 */
export async function startAuditor(options: AuditorOptions): Promise<Auditor> {
  const { nc } = options;
  const log = serviceLogger(options.log);
  const timeout = options.timeoutMs ?? 5_000;
  const jsm = await jetstreamManager(nc, { checkAPI: false, timeout });
  const js = jetstream(nc, { timeout });
  const writer = new Writer(js, jsm, log, options.now ?? (() => new Date()), options.hubKey);
  try {
    await writer.catchUp();
    await writer.loadCheckpointed();
  } catch (err) {
    throw new MosaicError(ErrorCode.Unavailable, `cannot read AUDIT: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const everyEntries = Math.max(1, options.checkpointEvery?.entries ?? 1_000);
  const everyMs = Math.max(100, (options.checkpointEvery?.seconds ?? 10) * 1_000);

  const checkpoint = async (): Promise<string | undefined> => {
    const signed = await writer.checkpoint();
    if (signed !== undefined) {
      log.info({ size: writer.size }, 'checkpoint signed');
      await options.onCheckpoint?.(signed);
    }
    return signed;
  };
  let checkpointing: Promise<unknown> | undefined;
  const maybeCheckpoint = (force: boolean): void => {
    if (checkpointing !== undefined) return;
    if (!force && writer.uncheckpointed < everyEntries) return;
    checkpointing = checkpoint()
      .catch((err: unknown) => {
        log.error({ err }, 'checkpoint not written; retried later');
      })
      .finally(() => {
        checkpointing = undefined;
      });
  };

  const append = async (request: AuditRequest): Promise<number> => {
    const seq = await writer.append(request);
    maybeCheckpoint(false);
    return seq;
  };

  const serve = async (sub: Subscription): Promise<void> => {
    for await (const msg of sub) {
      // Answered in arrival order; the writer serialises the appends anyway.
      void answer(msg);
    }
  };
  const answer = async (msg: Msg): Promise<void> => {
    let reply: AuditReply;
    try {
      checkAuditSender(msg, options.operatorAccount);
      const request = msg.json<AuditRequest>();
      reply = { ok: true, seq: await append(request) };
    } catch (err) {
      reply = refusal(err);
      log.error(
        { err, subject: msg.subject, code: reply.ok ? undefined : reply.code },
        'audit request refused',
      );
    }
    try {
      msg.respond(JSON.stringify(reply));
    } catch (err) {
      log.warn({ err }, 'cannot answer the audit request');
    }
  };
  const consult = async (sub: Subscription): Promise<void> => {
    for await (const msg of sub) {
      let sample: AckSample;
      try {
        sample = msg.json<AckSample>();
      } catch (err) {
        log.warn({ err, subject: msg.subject }, 'unreadable ack sample');
        continue;
      }
      const prefix = alertsConsumer('');
      if (sample.consumer?.startsWith(prefix) !== true || sample.stream_seq === undefined) continue;
      const recipient = sample.consumer.slice(prefix.length);
      append({
        actor: { kind: 'agency', id: recipient },
        action: 'alert.consulted',
        recipients: [{ agency: recipient }],
        refs: [{ stream: Streams.Alerts, seq: sample.stream_seq }],
        details: { deliveries: sample.deliveries ?? 1 },
      }).catch((err: unknown) => {
        log.error({ err, recipient, alertSeq: sample.stream_seq }, 'consultation not audited');
      });
    }
  };

  const requests = nc.subscribe(AUDIT_REQUEST_WILDCARD, { queue: QueueGroups.Auditor });
  const loops = [serve(requests)];
  let samples: Subscription | undefined;
  if (options.consultations !== false) {
    samples = nc.subscribe(CONSULTATION_SUBJECT, { queue: QueueGroups.Auditor });
    loops.push(consult(samples));
  }
  let advisories: Subscription | undefined;
  const adminUser = options.adminUser;
  if (adminUser !== undefined) {
    advisories = nc.subscribe(API_ADVISORY_SUBJECT, { queue: QueueGroups.Auditor });
    const watch = async (sub: Subscription): Promise<void> => {
      for await (const msg of sub) {
        const entry = breakGlassEntry(msg.data, adminUser);
        if (entry === undefined) continue;
        log.warn({ subject: entry.details?.['subject'] }, 'break-glass JetStream API call');
        append(entry).catch((err: unknown) => {
          log.error({ err }, 'break-glass API call not audited');
        });
      }
    };
    loops.push(watch(advisories));
  }
  await nc.flush();
  const timer = setInterval(() => {
    maybeCheckpoint(true);
  }, everyMs);
  timer.unref();
  log.info({ size: writer.size, subject: AUDIT_REQUEST_WILDCARD }, 'auditor ready');

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      clearInterval(timer);
      for (const sub of [requests, samples, advisories])
        if (sub !== undefined) {
          if (nc.isClosed()) sub.unsubscribe();
          else await sub.drain();
        }
      await Promise.all(loops);
      await writer.idle();
      await checkpointing;
      if (!nc.isClosed())
        await checkpoint().catch((err: unknown) => {
          log.error({ err }, 'last checkpoint not written');
        });
      log.info({ size: writer.size }, 'auditor stopped');
    })());
  return {
    size: () => writer.size,
    append,
    checkpoint,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
