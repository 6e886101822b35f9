/**
 * The router's index lookup (`readIndexEntries`: a direct batch get of `mosaic.index.<token>`
 * from sequence 1) against a SELECTOR_INDEX holding `tokens` entries, one per token, on a
 * nats-server of its own (the hub's stream configuration, default fsync). The index is filled
 * with raw JetStream publishes (no msg id), `inFlight` awaiting their ack at a time; then
 * tokens that are in it and tokens that are not are looked up one at a time.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  SELECTOR_INDEX_STREAM,
  ensureSelectorIndexStream,
  readIndexEntries,
  selectorIndexSubject,
  type SelectorIndexEntry,
} from '@mosaic/protocol';
import { startServer } from '@mosaic/testkit';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { percentiles, rate, type Percentiles } from './stats.ts';

export interface IndexLookupOptions {
  tokens: number;
  /** Lookups of each kind (present, absent). */
  lookups: number;
  inFlight: number;
  log: (line: string) => void;
}

export interface IndexLookupResult {
  tokens: number;
  /** Filling the index: raw publishes with async acks. */
  fill: { seconds: number; perSec: number; inFlight: number };
  /** The stream's own count of message bytes, and the store directory's size on disk. */
  streamBytes: number;
  diskBytes: number;
  /** Milliseconds per `readIndexEntries` of a token in the index (one entry each). */
  present: Percentiles & { entriesFound: number };
  /** Milliseconds per `readIndexEntries` of a token not in it. */
  absent: Percentiles & { entriesFound: number };
}

/** The `i`-th token of a series: 64 bytes in unpadded base64url, like an OPRF token. */
const tokenOf = (series: string, i: number): string =>
  createHash('sha512')
    .update(`${series}/${String(i)}`)
    .digest('base64url');

async function sizeOnDisk(dir: string): Promise<number> {
  let bytes = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) bytes += (await stat(join(e.parentPath, e.name))).blocks * 512;
  return bytes;
}

async function timeLookups(
  jsm: JetStreamManager,
  tokens: readonly string[],
): Promise<Percentiles & { entriesFound: number }> {
  const ms: number[] = [];
  let entriesFound = 0;
  for (const t of tokens) {
    const start = performance.now();
    const entries = await readIndexEntries(jsm, t);
    ms.push(performance.now() - start);
    entriesFound += entries.length;
  }
  return { ...percentiles(ms), entriesFound };
}

export async function indexLookup(options: IndexLookupOptions): Promise<IndexLookupResult> {
  const { tokens, lookups, inFlight, log } = options;
  await using server = await startServer();
  const nc = await connect({ servers: server.url });
  try {
    const jsm = await jetstreamManager(nc);
    await ensureSelectorIndexStream(jsm);
    const js = jetstream(nc, { timeout: 60_000 });
    const storedAt = new Date().toISOString();
    let next = 0;
    const lane = async (): Promise<void> => {
      for (let i = next++; i < tokens; i = next++) {
        const entry: SelectorIndexEntry = {
          issuer: 'ro-dicot',
          reportId: randomUUID(),
          seq: i + 1,
          kind: 'phone',
          tlp: 'AMBER',
          storedAt,
        };
        await js.publish(selectorIndexSubject(tokenOf('in', i)), JSON.stringify(entry));
        if ((i + 1) % 100_000 === 0) log(`  index: ${String(i + 1)} of ${String(tokens)} tokens`);
      }
    };
    const start = performance.now();
    await Promise.all(Array.from({ length: Math.min(inFlight, tokens) }, lane));
    const fillMs = performance.now() - start;
    const info = await jsm.streams.info(SELECTOR_INDEX_STREAM);
    if (info.state.messages !== tokens)
      throw new Error(`SELECTOR_INDEX holds ${String(info.state.messages)} of ${String(tokens)}`);
    const pick = (series: string) =>
      Array.from({ length: lookups }, () =>
        tokenOf(series, series === 'in' ? Math.floor(Math.random() * tokens) : next++),
      );
    // Warm-up: connection, the server's subject index pages.
    await timeLookups(jsm, pick('in').slice(0, 100));
    const present = await timeLookups(jsm, pick('in'));
    const absent = await timeLookups(jsm, pick('out'));
    return {
      tokens,
      fill: { seconds: Math.round(fillMs) / 1000, perSec: rate(tokens, fillMs), inFlight },
      streamBytes: info.state.bytes,
      diskBytes: await sizeOnDisk(server.storeDir),
      present,
      absent,
    };
  } finally {
    await nc.close();
  }
}
