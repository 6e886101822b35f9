import { AUDIT_CHECKPOINTS_STREAM } from '@mosaic/federation';
import type { JetStreamManager, StoredMsg } from '@nats-io/jetstream';

/** Messages asked for per direct-get batch. */
const BATCH = 1_000;

/**
 * The messages of `stream` with sequences `from`…`to` (inclusive; `to` defaults to the
 * last sequence when the read starts), in order, through batched direct gets — read-only
 * access to one stream, no consumer. Sequences the stream no longer holds are skipped.
 *
 * @example
 * ```ts
 * for await (const m of readStream(jsm, 'AUDIT', { from: 1 })) leaves.push(m.data);
 * ```
 */
export async function* readStream(
  jsm: JetStreamManager,
  stream: string,
  range: { from?: number; to?: number } = {},
): AsyncGenerator<StoredMsg> {
  const info = await jsm.streams.info(stream);
  const last = Math.min(range.to ?? info.state.last_seq, info.state.last_seq);
  let seq = Math.max(range.from ?? 1, info.state.first_seq, 1);
  while (seq <= last) {
    const batch = await jsm.direct.getBatch(stream, {
      seq,
      batch: Math.min(BATCH, last - seq + 1),
    });
    let got = 0;
    for await (const m of batch) {
      if (m.seq > last) break;
      got++;
      seq = m.seq + 1;
      yield m;
    }
    if (got === 0) break;
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
