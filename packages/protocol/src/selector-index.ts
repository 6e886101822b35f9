import { Tlp, isSubjectToken } from '@mosaic/contract';
import type { JetStreamClient, JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import { z } from 'zod';
import { directBatch } from './read.ts';
import {
  SELECTOR_INDEX_STREAM,
  SELECTOR_INDEX_SUBJECTS,
  selectorIndexSubject,
} from './subjects.ts';

/**
 * The selector index: for each token of a stored report's selectors, one message on
 * `mosaic.index.<token>` naming the report and its REPORTS sequence. The router writes a
 * report's entries before any of its alerts, and routes a report only once every report
 * with a lower sequence is indexed, so its lookups find all earlier reports. Writing an
 * entry again (a report routed again after a crash) is idempotent: same msg id within the
 * dedupe window, and readers count a report once beyond it.
 */

const subjectToken = z.string().min(1).max(256).refine(isSubjectToken, 'a subject token');
/** An OPRF token: 64 bytes in unpadded base64url. */
const token = z.string().regex(/^[A-Za-z0-9_-]{86}$/, 'a selector token');

/** One index entry: which report holds a selector with this token. Never the selector. */
export const selectorIndexEntrySchema = z.strictObject({
  issuer: subjectToken,
  reportId: subjectToken,
  /** Its REPORTS sequence. */
  seq: z.number().int().min(1),
  /** The selector kind (phone, iban, …), as in the token's public info. */
  kind: z.string().min(1).max(32),
  tlp: z.enum(Tlp),
  /** When REPORTS stored the report (ISO 8601). */
  storedAt: z.iso.datetime(),
});
export type SelectorIndexEntry = z.infer<typeof selectorIndexEntrySchema>;

/**
 * Entries kept per token: the most recent ones (`max_msgs_per_subject`, older ones
 * discarded), so a selector in every report costs each new report a bounded lookup.
 */
export const MAX_INDEX_ENTRIES_PER_TOKEN = 64;

/** The index stream: file-backed, small messages, readable by direct get, bounded per token. */
export function selectorIndexStreamConfig(replicas = 1): Partial<StreamConfig> & { name: string } {
  return {
    name: SELECTOR_INDEX_STREAM,
    subjects: [SELECTOR_INDEX_SUBJECTS],
    storage: 'file',
    retention: 'limits',
    discard: 'old',
    max_msgs_per_subject: MAX_INDEX_ENTRIES_PER_TOKEN,
    num_replicas: replicas,
    allow_direct: true,
    max_msg_size: 4 * 1024,
  };
}

/** Creates the index stream unless it exists; true when it created it. */
export async function ensureSelectorIndexStream(
  jsm: JetStreamManager,
  replicas = 1,
): Promise<boolean> {
  for await (const name of jsm.streams.names()) if (name === SELECTOR_INDEX_STREAM) return false;
  await jsm.streams.add(selectorIndexStreamConfig(replicas));
  return true;
}

/**
 * Appends one entry per token of a report, each once per (token, report) within the dedupe
 * window (msg id `<token>/<issuer>/<reportId>`); resolves when JetStream stored them all.
 */
export async function appendIndexEntries(
  js: JetStreamClient,
  tokens: readonly { token: string; kind: string }[],
  report: Omit<SelectorIndexEntry, 'kind'>,
): Promise<void> {
  await Promise.all(
    tokens.map(({ token: t, kind }) => {
      return js.publish(
        selectorIndexSubject(t),
        JSON.stringify({ ...report, kind } satisfies SelectorIndexEntry),
        { msgID: `${t}/${report.issuer}/${report.reportId}` },
      );
    }),
  );
}

/**
 * The entries of one token, oldest first (at most `MAX_INDEX_ENTRIES_PER_TOKEN`, the most
 * recent ones); a message that is not an entry is skipped (only the router writes the
 * stream).
 */
export async function readIndexEntries(
  jsm: JetStreamManager,
  t: string,
): Promise<SelectorIndexEntry[]> {
  if (!token.safeParse(t).success) return [];
  const out: SelectorIndexEntry[] = [];
  const batch = await directBatch(jsm, SELECTOR_INDEX_STREAM, {
    seq: 1,
    batch: MAX_INDEX_ENTRIES_PER_TOKEN,
    next_by_subj: selectorIndexSubject(t),
  });
  for (const m of batch) {
    const parsed = selectorIndexEntrySchema.safeParse(m.json());
    if (parsed.success) out.push(parsed.data);
  }
  return out;
}

/** Most related reports one alert names: the most recent ones. */
export const MAX_RELATED = 32;

/** An earlier report an alert's recipient also holds, sharing at least one selector. */
export const relatedReportSchema = z.strictObject({
  issuer: subjectToken,
  reportId: subjectToken,
  /** Its REPORTS sequence. */
  seq: z.number().int().min(1),
  /** The kinds of the selectors the two reports share. */
  kinds: z.array(z.string().min(1).max(32)).min(1).max(16),
});
export type RelatedReport = z.infer<typeof relatedReportSchema>;

/** The `Mosaic-Related` header of an alert: a JSON array of related reports. */
export const relatedHeaderSchema = z.array(relatedReportSchema).max(MAX_RELATED);
