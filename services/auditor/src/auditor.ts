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

/** How long an entry may keep losing the race to other writers before it is refused. */
const CONTENDED_APPEND_MS = 15_000;
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

function isWrongLastSequence(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause)
    if (
      e instanceof JetStreamApiError &&
      (e.code === JetStreamApiCodes.StreamWrongLastSequence ||
        e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
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
  #tail: Promise<unknown> = Promise.resolve();

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

  /** Reads what AUDIT holds beyond what this writer knows (all of it on start). */
  async catchUp(): Promise<void> {
    const before = this.#tree.size;
    for await (const m of readStream(this.#jsm, Streams.Audit, { from: this.#lastSeq + 1 })) {
      const leaf = leafHash(m.data);
      this.#tree.append(leaf);
      this.#lastLeaf = hex(leaf);
      this.#lastSeq = m.seq;
    }
    if (this.#tree.size !== before)
      this.#log.debug({ size: this.#tree.size, read: this.#tree.size - before }, 'AUDIT tail read');
  }

  /** The tree size of the last stored checkpoint. */
  async loadCheckpointed(): Promise<void> {
    try {
      const m = await this.#jsm.streams.getMessage(AUDIT_CHECKPOINTS_STREAM, {
        last_by_subj: AUDIT_CHECKPOINTS_SUBJECT,
      });
      const size = m?.header.get(TREE_SIZE_HEADER);
      this.#checkpointed = size === undefined || size === '' ? 0 : Number(size);
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.NoMessageFound) return;
      throw err;
    }
  }

  /** Runs `op` after everything queued before it: one append at a time. */
  #serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(op, op);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  idle(): Promise<unknown> {
    return this.#tail;
  }

  append(request: AuditRequest): Promise<number> {
    return this.#serial(async () => {
      const deadline = Date.now() + CONTENDED_APPEND_MS;
      for (let attempt = 1; ; attempt++) {
        // Throws ERR_AUDIT_ENTRY (the schema's verdict) for anything that is not an entry.
        const data = encodeEntry({
          ...request,
          v: 1,
          time: this.#now().toISOString(),
          ...(this.#lastLeaf === undefined ? {} : { prev: this.#lastLeaf }),
        } as AuditEntry);
        try {
          const ack = await this.#js.publish(StreamSubjects[Streams.Audit], data, {
            expect: { streamName: Streams.Audit, lastSequence: this.#lastSeq },
          });
          const leaf = leafHash(data);
          this.#tree.append(leaf);
          this.#lastLeaf = hex(leaf);
          this.#lastSeq = ack.seq;
          return ack.seq;
        } catch (err) {
          if (!isWrongLastSequence(err) || Date.now() > deadline) throw err;
          // Another writer appended: take its entries into the tree, chain after them.
          this.#log.debug(
            { lastSeq: this.#lastSeq, attempt },
            'AUDIT moved on; re-reading the tail',
          );
          if (attempt > 1)
            await delay(Math.floor(Math.random() * Math.min(MAX_BACKOFF_MS, attempt * 2)));
          await this.catchUp();
        }
      }
    });
  }

  /** Signs and stores a checkpoint of the tree as it is now (none when nothing is new). */
  checkpoint(): Promise<string | undefined> {
    return this.#serial(async () => {
      const size = this.#tree.size;
      if (size === 0 || size <= this.#checkpointed) return undefined;
      const text = formatCheckpoint({ origin: this.#key.name, size, root: this.#tree.root() });
      const signed = signCheckpoint(text, this.#key);
      const h = headers();
      h.set(TREE_SIZE_HEADER, String(size));
      await this.#js.publish(AUDIT_CHECKPOINTS_SUBJECT, signed, {
        headers: h,
        expect: { streamName: AUDIT_CHECKPOINTS_STREAM },
      });
      this.#checkpointed = size;
      return signed;
    });
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
      for (const sub of [requests, samples])
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
