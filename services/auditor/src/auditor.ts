import {
  MerkleLog,
  decodeEntry,
  encodeEntry,
  formatCheckpoint,
  leafHash,
  parseCheckpoint,
  signCheckpoint,
  verifyCheckpoint,
  type AuditEntry,
  type HubPublicKey,
  type HubSigningKey,
} from '@mosaic/audit-log';
import { ErrorCode, MosaicError, isMosaicError } from '@mosaic/errors';
import {
  AUDIT_CHECKPOINTS_STREAM,
  AUDIT_CHECKPOINTS_SUBJECT,
  AUDIT_REQUEST_WILDCARD,
  HubServices,
  QueueGroups,
  auditRequestSubject,
  StreamSubjects,
  Streams,
  TREE_SIZE_HEADER,
  isNoMessage,
  readSequences,
} from '@mosaic/protocol';
import type { Logger } from '@mosaic/log';
import {
  drainSubscription,
  serviceHandle,
  isLeaderless,
  serviceJetStream,
  serviceLogger,
  type HealthReportingService,
} from '@mosaic/service';
import {
  JetStreamApiCodes,
  JetStreamApiError,
  PubHeaders,
  type ApiError,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import {
  NoRespondersError,
  headers,
  nuid,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import { breakGlassEntry, checkAuditContent, checkAuditSender, checkRecovered } from './attest.ts';
import type { AuditReply, AuditRequest } from '@mosaic/protocol';
import { CONSULTATION_SUBJECT, ConsultationWindows, readAckSample } from './consultations.ts';
import { Coverage, reconcile } from './reconcile.ts';

export interface AuditorOptions {
  /** A connection as the auditor identity. */
  nc: NatsConnection;
  /** The hub's checkpoint key (`generateHubKey`); its name is the checkpoints' origin. */
  hubKey: HubSigningKey;
  /** Parent logger; records carry `service`/`component: 'auditor'`. */
  log?: Logger;
  /**
   * A signed checkpoint after this many new entries or seconds, whichever first, and
   * `quietSeconds` after the last append when the log grew since the last checkpoint.
   * Default 1000 / 10 s / 1 s.
   */
  checkpointEvery?: { entries?: number; seconds?: number; quietSeconds?: number };
  /**
   * Reconcile at start (see `reconcile`): a manager that may read REPORTS and ALERTS (the
   * hub lends its operator connection's). Without it nothing is reconciled.
   */
  reconcileWith?: JetStreamManager;
  /** Called with each signed checkpoint once it is stored (the hub writes it to a file). */
  onCheckpoint?: (signed: string) => Promise<void>;
  /** The entries' clock; default `() => new Date()`. */
  now?: () => Date;
  /** How long a JetStream operation may take; default 5 000 ms. */
  timeoutMs?: number;
  /**
   * How long one request of an entry's append (the publish, and the read of AUDIT's tail
   * after a failed one) waits before the entry is tried again, within its 8 s; default
   * 1 000 ms. AUDIT answers nothing while it elects a leader (4–9 s after its leader died):
   * tried again this often, an entry is stored soon after the election.
   */
  attemptTimeoutMs?: number;
  /** Subscribe to the alerts consumers' ack samples (consultations); default true. */
  consultations?: boolean;
  /**
   * How long (ms) and for how many alerts one agency's acks are collected into one
   * `alert.consulted` entry, whichever is reached first; default 100 ms / 256 alerts (at
   * most `MAX_CONSULTATIONS_PER_ENTRY`, 4,300: the entry must stay readable). Stopping
   * writes what is collected.
   */
  consultationWindow?: { ms?: number; samples?: number };
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
  /** Told of every write to AUDIT (metrics); see `AuditorObserver`. */
  observe?: AuditorObserver;
}

/** What the auditor reports of its writes to AUDIT (the hub's metrics); must not throw. */
export interface AuditorObserver {
  /**
   * One write stored these entries: one publish for one; for more, an atomic batch on a
   * cluster, chained publishes on one server; a prefix found in AUDIT after a write whose
   * answer was lost counts as a write of its own. For each entry, the seconds from its
   * append request reaching the auditor to AUDIT storing it — the wait behind earlier
   * writes included, which is what an ingest reply waits for.
   */
  stored(seconds: readonly number[]): void;
}

/**
 * Whether the auditor appends. Not ok once AUDIT or AUDIT_CHECKPOINTS holds something this
 * auditor cannot chain after: a sequence the stream counts but cannot return
 * (`unreadable`), a message that is not an entry chained to the previous one with its leaf
 * hash as msg id (`foreign`), fewer entries than a signed checkpoint covers or another root
 * for a covered size (`truncated`), or a checkpoint not signed by this hub key
 * (`foreign-checkpoint`). Every append is then refused with ERR_UNAVAILABLE — the auditor
 * never chains over a hole or a stranger's message — until an operator repairs the stream
 * and restarts the hub.
 */
type AuditorHealth =
  | { ok: true }
  | {
      ok: false;
      problem: 'unreadable' | 'foreign' | 'truncated' | 'foreign-checkpoint';
      /** The stream holding the damage. */
      stream: string;
      /** The sequence in that stream. */
      seq: number;
      reason: string;
    };

/** A running auditor. */
export interface Auditor extends HealthReportingService<AuditorHealth> {
  /** Entries in the log as this instance last saw it. */
  size(): number;
  /** Appends one entry (the services use `auditClient`; this is the in-process path). */
  append(request: AuditRequest): Promise<number>;
  /** Signs and stores a checkpoint of the current log now, unless the last one covers it. */
  checkpoint(): Promise<string | undefined>;
  /** Acknowledged alerts collected for an `alert.consulted` entry not yet appended. */
  consultationsHeld(): number;
  /** Stops taking requests, appends those in hand and the consultations collected, writes a last checkpoint. */
  stop(): Promise<void>;
}

/**
 * How long an entry may keep losing the race to other writers (or failing to be stored)
 * before it is refused — shorter than the client's 10 s request timeout.
 */
const CONTENDED_APPEND_MS = 8_000;
/**
 * The same for the entries the reconciliation recovers at start and appends itself (no
 * other auditor answered their hand-over): nobody waits for an answer, and refusing one
 * fails the start.
 */
const CONTENDED_RECOVERY_MS = 60_000;
/**
 * Where a restarting auditor hands its recovered entries to one that serves (queue group
 * `auditor`; it subscribes there itself only once reconciled, so they reach another).
 */
const HANDOVER_SUBJECT = auditRequestSubject(HubServices.Auditor);
/** Recovered entries handed over at once, each awaiting its answer. */
const HANDOVER_IN_FLIGHT = 64;
/**
 * How long a hand-over may wait for its answer: past the serving auditor's own 8 s of
 * contention, so one not answered by then was most likely refused, not stored.
 */
const HANDOVER_TIMEOUT_MS = 10_000;
/** Entries stored in one atomic batch (nats-server accepts up to 1,000). */
const MAX_BATCH = 256;
/** Longest pause after a lost race (jittered), so two busy writers do not keep colliding. */
const MAX_BACKOFF_MS = 25;

/** The headers of a JetStream atomic batch publish (nats-server 2.12 and later). */
export const BatchHeaders = {
  Id: 'Nats-Batch-Id',
  Sequence: 'Nats-Batch-Sequence',
  Commit: 'Nats-Batch-Commit',
} as const;

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

/** Where the broker reports every JetStream API call of the hub account. */
const API_ADVISORY_SUBJECT = '$JS.EVENT.ADVISORY.API';

interface Pending {
  request: AuditRequest;
  /** When the append reached the writer (`performance.now()`). */
  queuedAt: number;
  /** Reconstructed at start-up for a decision whose own entry a crash lost. */
  recovered: boolean;
  deadline: number;
  attempts: number;
  /**
   * The msg id (leaf hash) of each entry built for it that may still be stored, one per
   * attempt, with the only AUDIT sequence it can be stored at: a write whose answer was lost
   * may be stored later, and the entry found then is this one. Dropped once AUDIT holds
   * another entry at that sequence.
   */
  ids: { id: string; seq: number }[];
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
 * The ordered writer. Requests queue up; a pump stores them in batches whose first entry
 * expects the stream's last sequence: on a cluster one atomic JetStream batch, stored whole,
 * directly after the entry it chains to, or not at all; on one server publishes chained by
 * the msg id of the entry before, of which a prefix is stored. When another writer got in
 * between, the pump re-reads the stream (the truth), settles what was stored and re-chains
 * the rest after the other writer's entries. No fork, no broken `prev` chain.
 */
class Writer {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  /** What an append's requests use: each waits `timeoutMs` at most, then it is tried again. */
  readonly #attempt: { js: JetStreamClient; jsm: JetStreamManager; timeoutMs: number };
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #key: HubSigningKey;
  readonly #publicKey: HubPublicKey;
  #tree = new MerkleLog();
  #halted: Extract<AuditorHealth, { ok: false }> | undefined;
  /** AUDIT's last sequence as this writer last saw it (gaps only on a tampered stream). */
  #lastSeq = 0;
  #lastLeaf: string | undefined;
  #checkpointed = 0;
  #queue: Pending[] = [];
  #pumping: Promise<void> | undefined;
  #checkpoints: Promise<unknown> = Promise.resolve();
  readonly #observe: AuditorObserver | undefined;
  /** AUDIT had one replica when this writer started (`loadReplicas`). */
  #oneReplica = false;

  constructor(
    nc: NatsConnection,
    attempt: { js: JetStreamClient; jsm: JetStreamManager; timeoutMs: number },
    js: JetStreamClient,
    jsm: JetStreamManager,
    log: Logger,
    now: () => Date,
    key: HubSigningKey,
    observe?: AuditorObserver,
  ) {
    this.#observe = observe;
    this.#nc = nc;
    this.#attempt = attempt;
    this.#js = js;
    this.#jsm = jsm;
    this.#log = log;
    this.#now = now;
    this.#key = key;
    this.#publicKey = {
      name: key.name,
      publicJwk: {
        kty: 'OKP',
        crv: 'Ed25519',
        ...(key.privateJwk.x === undefined ? {} : { x: key.privateJwk.x }),
      },
    };
  }

  get health(): AuditorHealth {
    return this.#halted ?? { ok: true };
  }

  /** Stops every append for good (first problem wins) and says so loudly. */
  #halt(problem: Extract<AuditorHealth, { ok: false }>): void {
    if (this.#halted !== undefined) return;
    this.#halted = problem;
    this.#log.error(
      {
        problem: problem.problem,
        stream: problem.stream,
        seq: problem.seq,
        reason: problem.reason,
      },
      'audit log damaged: appends refused',
    );
  }

  #refusal(): MosaicError {
    const h = this.#halted;
    return new MosaicError(
      ErrorCode.Unavailable,
      h === undefined
        ? 'the auditor does not append'
        : `the audit log is damaged (${h.problem} at ${h.stream} seq ${h.seq}: ${h.reason}); no entry is appended until it is repaired`,
      h === undefined ? {} : { details: { problem: h.problem, stream: h.stream, seq: h.seq } },
    );
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
   * each entry's sequence, leaf hash and decoded entry. Stops (halted) at the first
   * sequence that cannot be read or is not an entry this auditor would have written next.
   */
  async catchUp(
    seen?: (seq: number, id: string, entry: AuditEntry) => void,
    jsm = this.#jsm,
  ): Promise<void> {
    if (this.#halted !== undefined) return;
    const before = this.#tree.size;
    for await (const { seq, msg } of readSequences(jsm, Streams.Audit, {
      from: this.#lastSeq + 1,
    })) {
      if (msg === undefined) {
        this.#halt({
          ok: false,
          problem: 'unreadable',
          stream: Streams.Audit,
          seq,
          reason: `AUDIT seq ${seq} (entry ${seq - 1}) is counted by the stream but cannot be read`,
        });
        return;
      }
      const foreign = this.#foreign(msg.data, msg.header.get(PubHeaders.MsgIdHdr));
      if (typeof foreign === 'string') {
        this.#halt({ ok: false, problem: 'foreign', stream: Streams.Audit, seq, reason: foreign });
        return;
      }
      const id = this.#commit(msg.data, seq);
      seen?.(seq, id, foreign);
    }
    if (this.#tree.size !== before)
      this.#log.debug({ size: this.#tree.size, read: this.#tree.size - before }, 'AUDIT tail read');
  }

  /** The decoded entry, or why it is not one this auditor chains after. */
  #foreign(data: Uint8Array, msgId: string): AuditEntry | string {
    let entry: AuditEntry;
    try {
      entry = decodeEntry(data);
    } catch (err) {
      if (!isMosaicError(err)) throw err;
      return `foreign message: not an audit entry (${err.code}: ${err.message})`;
    }
    if (entry.prev !== this.#lastLeaf)
      return `foreign message: its prev ${String(entry.prev)} is not the hash of the entry before it (${String(this.#lastLeaf)})`;
    const id = hex(leafHash(data));
    if (msgId !== id)
      return `foreign message: its msg id ${JSON.stringify(msgId)} is not its leaf hash ${id}`;
    return entry;
  }

  /** Reads AUDIT's replica count: chained publishes only on a stream of one replica. */
  async loadReplicas(): Promise<void> {
    this.#oneReplica = (await this.#jsm.streams.info(Streams.Audit)).config.num_replicas <= 1;
  }

  /** The tree size of the last stored checkpoint, checked against the log. */
  async loadCheckpointed(): Promise<void> {
    this.#checkpointed = (await this.#lastCheckpoint(true)).size;
  }

  /** Resolves once every append queued so far is settled. */
  async idle(): Promise<void> {
    while (this.#pumping !== undefined) await this.#pumping;
  }

  /**
   * Appends one entry; resolves with its AUDIT sequence once JetStream stored it, or
   * rejects once it kept losing the race for `patienceMs`.
   */
  append(
    request: AuditRequest,
    recovered = false,
    patienceMs = recovered ? CONTENDED_RECOVERY_MS : CONTENDED_APPEND_MS,
  ): Promise<number> {
    if (this.#halted !== undefined) return Promise.reject(this.#refusal());
    return new Promise((resolve, reject) => {
      this.#queue.push({
        request,
        queuedAt: performance.now(),
        recovered,
        deadline: Date.now() + patienceMs,
        attempts: 0,
        ids: [],
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

  /**
   * Tells the observer of entries AUDIT stored. Outside the write's error handling, and an
   * observer that throws is logged: its failure must never make stored entries look unstored
   * (they would be stored again).
   */
  #stored(entries: readonly Pending[]): void {
    if (this.#observe === undefined || entries.length === 0) return;
    const now = performance.now();
    try {
      this.#observe.stored(entries.map((p) => (now - p.queuedAt) / 1000));
    } catch (err) {
      this.#log.error({ err }, 'audit observer failed');
    }
  }

  async #write(batch: Pending[]): Promise<void> {
    if (this.#halted !== undefined) {
      for (const p of batch) p.reject(this.#refusal());
      return;
    }
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
          ...(pending.recovered ? { recovered: true } : {}),
        } as AuditEntry);
      } catch (err) {
        pending.reject(err);
        continue;
      }
      const leaf = leafHash(data);
      prev = hex(leaf);
      pending.ids.push({ id: prev, seq: this.#lastSeq + built.length + 1 });
      built.push({ pending, data, leaf, id: prev });
    }
    // Every entry of the batch was refused above: nothing to store.
    if (built.length === 0) return;
    const base = this.#lastSeq;
    let failure: unknown;
    let written = false;
    try {
      const last = await this.#store(built, base);
      if (last !== base + built.length)
        throw new MosaicError(
          ErrorCode.Unavailable,
          `AUDIT stored the batch at sequence ${String(last)}, not ${String(base + built.length)}`,
        );
      for (const b of built) {
        const seq = this.#lastSeq + 1;
        this.#commit(b.data, seq);
        b.pending.resolve(seq);
      }
      written = true;
    } catch (err) {
      failure = err;
    }
    if (written) {
      this.#stored(built.map((b) => b.pending));
      return;
    }

    // Lost a race (or a publish failed): the stream is the truth. Whatever of ours it holds
    // is settled; the rest is re-chained after what it holds and tried again. Ours is any
    // entry built for a request of this write, in this attempt or an earlier one: a write
    // the server held past its attempt's timeout can be stored after the re-read that
    // followed it. Each entry can be stored only at the sequence it was built for — an
    // attempt's first entry expects the last sequence that attempt read, and the others
    // chain to it — so at most one of a request's entries is stored, finding any one settles
    // the request, and one whose sequence AUDIT filled with another entry is forgotten.
    const open = new Set(built.map((b) => b.pending));
    const ours = new Map<string, Pending>();
    for (const pending of open) for (const { id } of pending.ids) ours.set(id, pending);
    const found: Pending[] = [];
    try {
      await this.catchUp((seq, id) => {
        const mine = ours.get(id);
        if (mine === undefined || !open.delete(mine)) return;
        mine.resolve(seq);
        found.push(mine);
      }, this.#attempt.jsm);
    } catch (err) {
      // Unanswered (AUDIT electing a leader): what of ours it holds is read again with the
      // next attempt, until each entry's deadline. Anything else settles them now.
      if (!isLeaderless(err)) {
        for (const pending of open) pending.reject(err);
        return;
      }
      failure = err;
    } finally {
      // Stored by the attempt that seemed to fail (its answer was lost).
      this.#stored(found);
      for (const pending of open)
        pending.ids = pending.ids.filter(({ seq }) => seq > this.#lastSeq);
    }
    if (this.#halted !== undefined) {
      for (const pending of open) pending.reject(this.#refusal());
      return;
    }
    const contended = isWrongLastSequence(failure);
    const retry: Pending[] = [];
    for (const pending of open) {
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

  /**
   * Stores the entries after AUDIT's sequence `base` and returns the sequence of the last.
   * On a cluster, more than one go as one atomic batch (all stored or none) whose first
   * message expects the stream's last sequence to be `base`: so they land directly after
   * the entry the first chains to, in order, with no other writer's entry in between. On a
   * server outside a cluster they go as publishes sent back to back (`#storeChained`).
   */
  async #store(built: readonly Built[], base: number): Promise<number> {
    // One entry is one publish expecting the last sequence, on any server. Several are
    // chained only outside a cluster — decided per write, in the tick that sends it: nats.js
    // forgets the server's INFO and drops unsent messages when it dials again, so a write
    // never reaches another server.
    if (
      built.length === 1 ||
      (this.#oneReplica && this.#nc.info !== undefined && this.#nc.info.cluster === undefined)
    )
      return this.#storeChained(built, base);
    const subject = StreamSubjects[Streams.Audit];
    const batch = nuid.next();
    let reply: Msg | undefined;
    for (const [i, { id, data }] of built.entries()) {
      const h = headers();
      h.set(BatchHeaders.Id, batch);
      h.set(BatchHeaders.Sequence, String(i + 1));
      h.set(PubHeaders.MsgIdHdr, id);
      if (i === 0) {
        h.set(PubHeaders.ExpectedStreamHdr, Streams.Audit);
        h.set(PubHeaders.ExpectedLastSeqHdr, String(base));
      }
      if (i < built.length - 1) this.#nc.publish(subject, data, { headers: h });
      else {
        h.set(BatchHeaders.Commit, '1');
        reply = await this.#nc.request(subject, data, {
          headers: h,
          timeout: this.#attempt.timeoutMs,
        });
      }
    }
    const ack = reply?.json<{ seq?: number; count?: number; error?: ApiError }>();
    if (ack?.error !== undefined) throw new JetStreamApiError(ack.error);
    if (ack?.seq === undefined || ack.count !== built.length)
      throw new MosaicError(
        ErrorCode.Unavailable,
        `AUDIT answered a batch of ${String(built.length)} entries with ${JSON.stringify(ack)}`,
      );
    return ack.seq;
  }

  /**
   * The entries as publishes sent back to back, each expecting AUDIT's last sequence and
   * last msg id to be those of the entry before it (the first: the last sequence `base`).
   * A server outside a cluster checks both in order as it stores each, so an entry lands
   * only directly after the one it chains to; after a lost race a prefix is stored, which
   * the caller's catch-up settles, and the rest is chained again. There an atomic batch
   * costs a file store of its own per batch (~2.5 ms against ~0.2 ms for one publish on an
   * idle server, ~9 ms under load). Only on a server whose INFO names no cluster, with AUDIT
   * at one replica when the auditor started: a replica checks the expected msg id only when
   * it applies the entry, and a mismatch there (two auditors racing) halts the stream. A
   * server outside a cluster cannot make AUDIT replicated while it runs.
   */
  async #storeChained(built: readonly Built[], base: number): Promise<number> {
    const subject = StreamSubjects[Streams.Audit];
    const acks = await Promise.allSettled(
      built.map(({ id, data }, i) => {
        const previous = i === 0 ? undefined : built[i - 1];
        return this.#attempt.js.publish(subject, data, {
          msgID: id,
          expect: {
            streamName: Streams.Audit,
            lastSequence: base + i,
            ...(previous === undefined ? {} : { lastMsgID: previous.id }),
          },
        });
      }),
    );
    let last = base;
    for (const [i, ack] of acks.entries()) {
      if (ack.status === 'rejected') throw ack.reason;
      if (ack.value.duplicate)
        throw new MosaicError(ErrorCode.Unavailable, `AUDIT already holds entry ${built[i]?.id}`);
      last = ack.value.seq;
    }
    return last;
  }

  /**
   * The last stored checkpoint: its sequence and tree size — once checked: signed by this
   * hub key for the size its header names, and the root of this log at that size. Anything
   * else halts the writer (a foreign checkpoint, or a log shorter than or different from
   * what was signed).
   */
  async #lastCheckpoint(startup = false): Promise<{ seq: number; size: number }> {
    let m;
    try {
      m = await this.#jsm.streams.getMessage(AUDIT_CHECKPOINTS_STREAM, {
        last_by_subj: AUDIT_CHECKPOINTS_SUBJECT,
      });
    } catch (err) {
      if (isNoMessage(err)) return { seq: 0, size: 0 };
      throw err;
    }
    if (m === null) return { seq: 0, size: 0 };
    const halt = (
      problem: 'foreign-checkpoint' | 'truncated',
      reason: string,
    ): { seq: number; size: number } => {
      this.#halt({ ok: false, problem, stream: AUDIT_CHECKPOINTS_STREAM, seq: m.seq, reason });
      return { seq: m.seq, size: this.#tree.size };
    };
    let signed;
    try {
      signed = verifyCheckpoint(new TextDecoder().decode(m.data), [this.#publicKey], {
        origin: this.#key.name,
      });
    } catch (err) {
      if (!isMosaicError(err)) throw err;
      return halt(
        'foreign-checkpoint',
        `foreign message: not a checkpoint signed by the hub key ${this.#key.name} (${err.message})`,
      );
    }
    if (Number(m.header.get(TREE_SIZE_HEADER)) !== signed.size)
      return halt(
        'foreign-checkpoint',
        `foreign message: its ${TREE_SIZE_HEADER} header is not the size it signs (${signed.size})`,
      );
    // Running, a larger one is another auditor's over entries this one has not read yet.
    if (signed.size > this.#tree.size && !startup) return { seq: m.seq, size: signed.size };
    if (signed.size > this.#tree.size)
      return halt(
        'truncated',
        `checkpoint AUDIT_CHECKPOINTS seq ${m.seq} signs ${signed.size} entries but AUDIT holds ${this.#tree.size} readable ones: entries from ${this.#tree.size} are lost`,
      );
    if (hex(this.#tree.root(signed.size)) !== hex(signed.root))
      return halt(
        'truncated',
        `checkpoint AUDIT_CHECKPOINTS seq ${m.seq} signs another root for size ${signed.size} than AUDIT holds`,
      );
    return { seq: m.seq, size: signed.size };
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
        // Never sign over a damaged log: the checkpoint would vouch for the damage.
        if (this.#halted !== undefined || size === 0 || size <= last.size) return undefined;
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

function isNoResponders(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause)
    if (e instanceof NoRespondersError) return true;
  return false;
}

/**
 * How the reconciliation stores a recovered entry: handed to an auditor that serves (it
 * appends it among its own traffic, so the two never contend for AUDIT's tail), or appended
 * by this one when none answers — a single auditor, or both starting at once: then every
 * later one too — or the one that answered refused it (that entry), or did not answer in
 * time (that entry and every later one). An entry not answered in time may then be
 * stored twice, both `recovered`, which `audit verify` accepts.
 */
function recoveredEntries(
  nc: NatsConnection,
  writer: Writer,
  log: Logger,
): { append: (request: AuditRequest) => Promise<number>; handedOver: () => number } {
  let alone = false;
  let handedOver = 0;
  let inFlight = 0;
  const waiting: (() => void)[] = [];
  const handOver = async (request: AuditRequest): Promise<number | undefined> => {
    while (!alone && inFlight >= HANDOVER_IN_FLIGHT)
      await new Promise<void>((r) => waiting.push(r));
    if (alone) return undefined;
    inFlight++;
    try {
      const msg = await nc.request(
        HANDOVER_SUBJECT,
        JSON.stringify({ ...request, recovered: true }),
        { timeout: HANDOVER_TIMEOUT_MS },
      );
      const reply = msg.json<AuditReply>();
      if (reply.ok) {
        handedOver++;
        return reply.seq;
      }
      log.warn(
        { code: reply.code, message: reply.message, action: request.action },
        'the serving auditor refused a recovered entry; appending it here',
      );
    } catch (err) {
      // Nobody serves, or the one that did stopped answering: the rest is appended here,
      // the waiting ones included (woken all at once: none of them takes a slot any more).
      alone = true;
      for (const wake of waiting.splice(0)) wake();
      if (!isNoResponders(err))
        log.warn(
          { err, action: request.action },
          'no answer to a recovered entry handed over; appending the rest here',
        );
    } finally {
      inFlight--;
      waiting.shift()?.();
    }
    return undefined;
  };
  return {
    append: async (request) => (await handOver(request)) ?? writer.append(request, true),
    handedOver: () => handedOver,
  };
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
 * of `mosaic.hub.audit.*` (queue group `auditor`) and the ack samples of the alerts
 * consumers (one `alert.consulted` per agency and window), in writes expecting AUDIT's last
 * sequence (atomic batches on a cluster, publishes chained by msg id on one server) — so
 * any number of auditors can run and the log never forks: a writer that lost the race
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
  const log = serviceLogger('auditor', options.log);
  const timeout = options.timeoutMs ?? 5_000;
  const { js, jsm } = await serviceJetStream(nc, timeout);
  const attemptMs = Math.min(options.attemptTimeoutMs ?? 1_000, timeout);
  const writer = new Writer(
    nc,
    { ...(await serviceJetStream(nc, attemptMs)), timeoutMs: attemptMs },
    js,
    jsm,
    log,
    options.now ?? (() => new Date()),
    options.hubKey,
    options.observe,
  );
  const coverage = new Coverage();
  try {
    await writer.catchUp((_seq, _id, entry) => {
      coverage.add(entry);
    });
    if (writer.health.ok) await writer.loadCheckpointed();
    await writer.loadReplicas();
  } catch (err) {
    throw new MosaicError(ErrorCode.Unavailable, `cannot read AUDIT: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const health = writer.health;
  if (health.ok && options.reconcileWith !== undefined)
    try {
      const recovered = recoveredEntries(nc, writer, log);
      await reconcile(options.reconcileWith, coverage, recovered.append, log);
      if (recovered.handedOver() > 0)
        log.info(
          { handedOver: recovered.handedOver() },
          'recovered entries appended by the auditor that serves',
        );
    } catch (err) {
      throw new MosaicError(
        ErrorCode.Unavailable,
        `cannot reconcile the audit log with REPORTS and ALERTS: ${(err as Error).message}`,
        { cause: err },
      );
    }
  else if (!health.ok)
    log.error({ ...health }, 'audit log damaged; not reconciled, appends refused');
  const everyEntries = Math.max(1, options.checkpointEvery?.entries ?? 1_000);
  const everyMs = Math.max(100, (options.checkpointEvery?.seconds ?? 10) * 1_000);
  const quietMs = Math.max(10, (options.checkpointEvery?.quietSeconds ?? 1) * 1_000);

  // Reported in signing order and never a smaller one after a larger one, so the hub's
  // checkpoint file only grows even when two checkpoints are signed at once.
  let reported: Promise<void> = Promise.resolve();
  let reportedSize = 0;
  const checkpoint = async (): Promise<string | undefined> => {
    const signed = await writer.checkpoint();
    if (signed !== undefined) {
      const { size } = parseCheckpoint(signed);
      log.info({ size }, 'checkpoint signed');
      const report = reported.then(async () => {
        if (size <= reportedSize) return;
        await options.onCheckpoint?.(signed);
        reportedSize = size;
      });
      reported = report.catch(() => undefined);
      await report;
    }
    return signed;
  };
  let checkpointing: Promise<unknown> | undefined;
  let stopped = false;
  // A burst's tail is signed soon after the burst ends, not only at the next interval.
  let quiet: NodeJS.Timeout | undefined;
  const armQuiet = (): void => {
    if (stopped) return;
    clearTimeout(quiet);
    quiet = setTimeout(() => {
      if (writer.uncheckpointed > 0) maybeCheckpoint(true);
    }, quietMs);
    quiet.unref();
  };
  const maybeCheckpoint = (force: boolean): void => {
    if (checkpointing !== undefined) return;
    if (!force && writer.uncheckpointed < everyEntries) return;
    checkpointing = checkpoint()
      .catch((err: unknown) => {
        log.error({ err }, 'checkpoint not written; retried later');
      })
      .finally(() => {
        checkpointing = undefined;
        // Entries appended while it was signed are signed after the next quiet period.
        if (writer.uncheckpointed > 0 && writer.health.ok) armQuiet();
      });
  };

  /** Stored: the quiet checkpoint timer and the checkpoint cadence see it. */
  const stored = (seq: number): number => {
    armQuiet();
    maybeCheckpoint(false);
    return seq;
  };
  const append = async (request: AuditRequest): Promise<number> => {
    // Only the start-up reconciliation marks an entry recovered.
    if ('recovered' in request)
      throw new MosaicError(ErrorCode.AuditEntry, 'recovered is set by the auditor only', {
        details: { field: 'recovered' },
      });
    return stored(await writer.append(request));
  };
  // What a restarting auditor's reconciliation hands over (checked by `checkRecovered`): its
  // requester waits, so it is refused after the same contention as any request.
  const appendRecovered = async (request: AuditRequest): Promise<number> =>
    stored(await writer.append(request, true, CONTENDED_APPEND_MS));

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
      if (msg.subject === HANDOVER_SUBJECT) {
        const { recovered, ...request } = msg.json<AuditRequest & { recovered?: unknown }>();
        checkRecovered({ ...request, recovered });
        reply = { ok: true, seq: await appendRecovered(request) };
      } else {
        const request = msg.json<AuditRequest>();
        checkAuditContent(msg.subject.slice(msg.subject.lastIndexOf('.') + 1), request);
        reply = { ok: true, seq: await append(request) };
      }
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
  // One alert.consulted entry per agency and window, not one per ack.
  const windows = new ConsultationWindows(
    {
      ms: options.consultationWindow?.ms ?? 100,
      samples: options.consultationWindow?.samples ?? 256,
    },
    (request, consulted) => {
      append(request).catch((err: unknown) => {
        log.error(
          { err, recipient: request.actor.id, alerts: request.refs, consulted },
          'consultations not audited',
        );
      });
    },
  );
  const consult = async (sub: Subscription): Promise<void> => {
    for await (const msg of sub) {
      let consultation;
      try {
        consultation = readAckSample(msg.subject, msg.json());
      } catch (err) {
        log.warn({ err, subject: msg.subject }, 'unreadable ack sample');
        continue;
      }
      if (consultation === undefined) {
        log.warn({ subject: msg.subject }, 'ack sample of no alerts consumer ignored');
        continue;
      }
      windows.add(consultation);
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
  // Entries left unsigned by an unclean stop, or just recovered, are signed right away.
  if (writer.uncheckpointed > 0 && writer.health.ok) maybeCheckpoint(true);
  log.info(
    { size: writer.size, subject: AUDIT_REQUEST_WILDCARD, healthy: writer.health.ok },
    'auditor ready',
  );

  return serviceHandle(
    async () => {
      clearInterval(timer);
      stopped = true;
      clearTimeout(quiet);
      for (const sub of [requests, samples, advisories])
        if (sub !== undefined) await drainSubscription(nc, sub);
      await Promise.all(loops);
      // Every sample received before the subscription drained is written.
      windows.flush();
      await writer.idle();
      await checkpointing;
      if (!nc.isClosed())
        await checkpoint().catch((err: unknown) => {
          log.error({ err }, 'last checkpoint not written');
        });
      log.info({ size: writer.size }, 'auditor stopped');
    },
    {
      size: () => writer.size,
      health: () => writer.health,
      append,
      checkpoint,
      consultationsHeld: () => windows.held,
    },
  );
}
