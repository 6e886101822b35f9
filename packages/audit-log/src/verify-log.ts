import { ErrorCode, MosaicError, isMosaicError } from '@mosaic/errors';
import { Cursor } from './cursor.ts';
import { decodeEntry } from './decode-entry.ts';
import { EMPTY_ROOT, equalBytes, leafHash, toHex } from './hash.ts';
import type { HubPublicKey } from './hub-key.ts';
import { MerkleLog } from './merkle-log.ts';
import { noteVerifiers, verifyCheckpointWith } from './verify-checkpoint.ts';
import { verifyConsistency } from './verify-consistency.ts';

/** One stored entry: its log index (AUDIT sequence - 1), its stream sequence, its exact bytes. */
export interface AuditLogItem {
  index: number;
  seq?: number;
  data: Uint8Array;
}

/** What is wrong, when {@link verifyAuditLog} fails. */
export type AuditProblem =
  | 'gap'
  | 'duplicate'
  | 'reordered'
  | 'decode'
  | 'altered'
  | 'chain'
  | 'truncated'
  | 'checkpoint-signature'
  | 'checkpoint-origin'
  | 'checkpoint-order'
  | 'checkpoint-root-mismatch'
  | 'checkpoint-inconsistent'
  | 'fork';

/** The verdict of {@link verifyAuditLog}. */
export type AuditVerification =
  | {
      ok: true;
      /** Entries read (the tree size). */
      entries: number;
      /** Checkpoints verified (signature, root and consistency). */
      checkpoints: number;
      /** MTH of all entries read. */
      lastRoot: Uint8Array;
      /** Entries after the last checkpoint: covered by the hash chain only. */
      uncheckpointed: number;
    }
  | {
      ok: false;
      /** The first bad entry index; for checkpoint-only problems the checkpoint's position. */
      index: number;
      /** Position (in the given list) of the checkpoint involved, if any. */
      checkpoint?: number;
      problem: AuditProblem;
      message: string;
    };

type AuditFailure = Extract<AuditVerification, { ok: false }>;

/** Progress of a verification, reported every `progressEvery` entries and at the end. */
export interface AuditProgress {
  entries: number;
  checkpoints: number;
}

export interface VerifyAuditLogOptions {
  /**
   * Position in `checkpoints` to start from: earlier checkpoints are ignored and the entries
   * before this checkpoint's size are only hashed (not decoded or chain-checked).
   */
  fromCheckpoint?: number;
  /** The expected checkpoint origin; default: the first verified checkpoint's. */
  origin?: string;
  onProgress?: (progress: AuditProgress) => void;
  /** Default 1000. */
  progressEvery?: number;
}

interface SignedSize {
  position: number;
  size: number;
  root: Uint8Array;
}

function fail(
  problem: AuditProblem,
  index: number,
  message: string,
  checkpoint?: number,
): AuditFailure {
  return checkpoint === undefined
    ? { ok: false, problem, index, message }
    : { ok: false, problem, index, checkpoint, message };
}

function verifyCheckpoints(
  checkpoints: readonly ({ text: string } | string)[],
  keys: readonly HubPublicKey[],
  from: number,
  origin: string | undefined,
): SignedSize[] | AuditFailure {
  const verifiers = noteVerifiers(keys);
  const out: SignedSize[] = [];
  let expectedOrigin = origin;
  for (let position = from; position < checkpoints.length; position++) {
    const c = checkpoints[position];
    const text = typeof c === 'string' ? c : (c?.text ?? '');
    let verified;
    try {
      verified = verifyCheckpointWith(text, verifiers);
    } catch (err) {
      if (!isMosaicError(err)) throw err;
      return fail(
        'checkpoint-signature',
        position,
        `checkpoint ${position}: ${err.message}`,
        position,
      );
    }
    expectedOrigin ??= verified.origin;
    if (verified.origin !== expectedOrigin)
      return fail(
        'checkpoint-origin',
        position,
        `checkpoint ${position} is for origin ${JSON.stringify(verified.origin)}, not ${JSON.stringify(expectedOrigin)}`,
        position,
      );
    const last = out.at(-1);
    if (last !== undefined && verified.size < last.size)
      return fail(
        'checkpoint-order',
        position,
        `checkpoint ${position} (size ${verified.size}) comes after checkpoint ${last.position} (size ${last.size})`,
        position,
      );
    if (last !== undefined && verified.size === last.size && !equalBytes(verified.root, last.root))
      return fail(
        'fork',
        position,
        `checkpoints ${last.position} and ${position} are both signed for tree size ${verified.size} with different roots: two histories`,
        position,
      );
    out.push({ position, size: verified.size, root: verified.root });
  }
  return out;
}

function rootOf(leaves: readonly Uint8Array[], size: number): Uint8Array {
  const log = new MerkleLog();
  for (const leaf of leaves.slice(0, size)) log.append(leaf);
  return log.root();
}

function prevOf(data: Uint8Array): string | undefined {
  try {
    return decodeEntry(data).prev;
  } catch (err) {
    if (isMosaicError(err)) return undefined;
    throw err;
  }
}

class Verification {
  readonly log = new MerkleLog();
  readonly cursor: Cursor<AuditLogItem>;
  readonly signed: SignedSize[];
  /** Next checkpoint to match against the recomputed tree. */
  next = 0;
  last: SignedSize = { position: -1, size: 0, root: EMPTY_ROOT };
  matched = 0;

  constructor(cursor: Cursor<AuditLogItem>, signed: SignedSize[]) {
    this.cursor = cursor;
    this.signed = signed;
  }

  /** Matches every checkpoint of size <= `upTo` against the recomputed tree. */
  checkpointsUpTo(upTo: number): AuditFailure | undefined {
    for (
      let c = this.signed[this.next];
      c !== undefined && c.size <= upTo;
      c = this.signed[this.next]
    ) {
      if (!equalBytes(this.log.root(c.size), c.root))
        return fail(
          'checkpoint-root-mismatch',
          this.last.size,
          `entries ${this.last.size}..${c.size - 1} do not hash to the root signed in checkpoint ${c.position} ` +
            `(size ${c.size}) although their hash chain is intact: an entry of that range was replaced ` +
            `and the chain rewritten after it, or the hub signed another history`,
          c.position,
        );
      const consistent = verifyConsistency({
        oldSize: this.last.size,
        newSize: c.size,
        oldRoot: this.last.root,
        newRoot: c.root,
        proof: this.log.consistencyProof(this.last.size, c.size),
      });
      if (!consistent)
        return fail(
          'checkpoint-inconsistent',
          this.last.size,
          `checkpoint ${c.position} (size ${c.size}) is not consistent with the previous one (size ${this.last.size})`,
          c.position,
        );
      this.last = c;
      this.next++;
      this.matched++;
    }
    return undefined;
  }

  /** An item whose index or sequence is not the expected one: reordered, duplicate or gap. */
  async outOfOrder(
    p: number,
    item: AuditLogItem,
    seqExpected: number | undefined,
  ): Promise<AuditFailure> {
    const indexOk = item.index === p;
    const found = indexOk ? (item.seq ?? 0) - (seqExpected ?? 0) + p : item.index;
    const what = indexOk
      ? `stream sequence ${String(item.seq)} (expected ${String(seqExpected)})`
      : `index ${item.index}`;
    if (found < p)
      return fail(
        'duplicate',
        p,
        `position ${p} holds ${what}, which was already read: a duplicated or replayed entry`,
      );
    for (let k = 0; ; k++) {
      const later = await this.cursor.peek(k);
      if (later === undefined) break;
      const laterIndex = indexOk ? (later.seq ?? 0) - (seqExpected ?? 0) + p : later.index;
      if (laterIndex === p)
        return fail(
          'reordered',
          p,
          `entry ${p} is out of place: position ${p} holds ${what}, entry ${p} comes later`,
        );
    }
    return fail('gap', p, `entry ${p} is missing: the next entry read has ${what}`);
  }

  /** Entry `p` does not chain to entry p - 1: name the entry that was altered, moved or removed. */
  async chainBreak(
    p: number,
    claimed: string | undefined,
    leaf: Uint8Array,
  ): Promise<AuditFailure> {
    if (p === 0)
      return fail(
        'gap',
        0,
        'the first entry names a previous entry: the entries before it are missing',
      );
    if (claimed === undefined)
      return fail('altered', p, `entry ${p} has no prev although it is not the first entry`);
    const claimedHash = new Uint8Array(Buffer.from(claimed, 'hex'));
    const ahead: Uint8Array[] = [];
    for (let k = 0; ; k++) {
      const later = await this.cursor.peek(k);
      if (later === undefined) break;
      ahead.push(leafHash(later.data));
      if (equalBytes(ahead[k] as Uint8Array, claimedHash))
        return fail(
          'reordered',
          p,
          `entry ${p} is out of place: it chains after the entry now at position ${p + 1 + k}`,
        );
    }
    for (let q = 0; q < p - 1; q++)
      if (equalBytes(this.log.leaf(q), claimedHash))
        return fail('duplicate', p, `entry ${p} chains after entry ${q}: it was moved or replayed`);

    const next = await this.cursor.peek(0);
    if (next !== undefined && prevOf(next.data) !== toHex(leaf))
      return fail(
        'altered',
        p,
        `entry ${p} was altered: its prev does not match entry ${p - 1} and entry ${p + 1} does not chain to it`,
      );

    // Entry p-1 altered, or an entry missing before p: the signed root tells which.
    const c = this.signed.slice(this.next).find((s) => s.size >= p);
    if (c !== undefined) {
      const known: Uint8Array[] = [];
      for (let q = 0; q < p; q++) known.push(this.log.leaf(q));
      const rest = [leaf, ...ahead];
      const altered = [...known.slice(0, p - 1), claimedHash, ...rest];
      if (altered.length >= c.size && equalBytes(rootOf(altered, c.size), c.root))
        return fail(
          'altered',
          p - 1,
          `entry ${p - 1} was altered: entry ${p} recorded another hash for it, and that hash fits checkpoint ${c.position}`,
          c.position,
        );
      const missing = [...known, claimedHash, ...rest];
      if (missing.length >= c.size && equalBytes(rootOf(missing, c.size), c.root))
        return fail(
          'gap',
          p,
          `entry ${p} is missing (the following entries were renumbered): checkpoint ${c.position} includes it`,
          c.position,
        );
      if (next === undefined)
        return fail(
          'altered',
          p,
          `entry ${p} was altered: its prev does not match entry ${p - 1}`,
          c.position,
        );
      if (!equalBytes(rootOf([...known, ...rest], c.size), c.root))
        return fail(
          'checkpoint-root-mismatch',
          this.last.size,
          `entries ${this.last.size}..${c.size - 1} are not the history signed in checkpoint ${c.position} ` +
            `(size ${c.size}), and the hash chain breaks at entry ${p}: several entries were replaced`,
          c.position,
        );
    }
    return fail(
      'chain',
      p,
      `entry ${p} does not chain to entry ${p - 1}: entry ${p - 1} was altered or an entry is missing before ${p} (no checkpoint covers it to tell which)`,
    );
  }
}

/**
 * Verifies a whole audit log: entries are contiguous (index and stream sequence), decode,
 * and chain by `prev`; every checkpoint verifies with `keys`, matches the recomputed root
 * at its size and is consistent with the previous one; no two checkpoints sign different
 * roots for one size; the log is not shorter than the last checkpoint. Resolves with the
 * first problem found and the exact entry index (see README: problems), never throws for
 * a bad log. Entries are read once, in order; a failure may read ahead to name the index.
 *
 * @example
 * ```ts
 * const { entries, checkpoints } = await readAuditExport('audit.ndjson');
 * const verdict = await verifyAuditLog(entries, checkpoints, hubKeysFromJwks(jwks));
 * if (!verdict.ok) throw new Error(`${verdict.problem} at ${verdict.index}: ${verdict.message}`);
 * ```
 */
export async function verifyAuditLog(
  entries: Iterable<AuditLogItem> | AsyncIterable<AuditLogItem>,
  checkpoints: readonly ({ text: string } | string)[],
  keys: readonly HubPublicKey[],
  options: VerifyAuditLogOptions = {},
): Promise<AuditVerification> {
  const from = options.fromCheckpoint ?? 0;
  if (!Number.isSafeInteger(from) || from < 0 || (from > 0 && from >= checkpoints.length))
    throw new MosaicError(
      ErrorCode.Usage,
      `there is no checkpoint ${String(from)} to start from (${checkpoints.length} checkpoints)`,
    );
  const signed = verifyCheckpoints(checkpoints, keys, from, options.origin);
  if (!Array.isArray(signed)) return signed;
  const hashOnlyBelow = from > 0 ? (signed[0]?.size ?? 0) : 0;
  const every = Math.max(1, options.progressEvery ?? 1000);
  const v = new Verification(new Cursor(entries), signed);
  const report = (): void => options.onProgress?.({ entries: v.log.size, checkpoints: v.matched });

  let seqBase: number | undefined;
  let prevLeaf: Uint8Array | undefined;
  const early = v.checkpointsUpTo(0);
  if (early !== undefined) return early;
  for (let item = await v.cursor.next(); item !== undefined; item = await v.cursor.next()) {
    const p = v.log.size;
    if (item.seq !== undefined) seqBase ??= item.seq - item.index;
    const seqExpected = seqBase === undefined ? undefined : seqBase + p;
    if (item.index !== p || (item.seq !== undefined && item.seq !== seqExpected))
      return v.outOfOrder(p, item, seqExpected);
    const leaf = leafHash(item.data);
    if (p >= hashOnlyBelow) {
      let prev: string | undefined;
      try {
        prev = decodeEntry(item.data).prev;
      } catch (err) {
        if (!isMosaicError(err)) throw err;
        return fail('decode', p, `entry ${p} is not an audit entry: ${err.code} ${err.message}`);
      }
      if (prev !== (prevLeaf === undefined ? undefined : toHex(prevLeaf)))
        return v.chainBreak(p, prev, leaf);
    }
    v.log.append(leaf);
    prevLeaf = leaf;
    // A checkpoint of size p is matched once entry p is read, so the chain names an altered entry p - 1 first.
    const bad = v.checkpointsUpTo(p);
    if (bad !== undefined) return bad;
    if ((p + 1) % every === 0) report();
  }
  const bad = v.checkpointsUpTo(v.log.size);
  if (bad !== undefined) return bad;
  const beyond = signed[v.next];
  if (beyond !== undefined)
    return fail(
      'truncated',
      v.log.size,
      `the log ends after ${v.log.size} entries but checkpoint ${beyond.position} signs ${beyond.size}: entries from ${v.log.size} are missing`,
      beyond.position,
    );
  report();
  return {
    ok: true,
    entries: v.log.size,
    checkpoints: v.matched,
    lastRoot: v.log.root(),
    uncheckpointed: v.log.size - v.last.size,
  };
}
