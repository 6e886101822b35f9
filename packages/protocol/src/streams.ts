import type { JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import { StreamSubjects, Streams, type Stream } from './subjects.ts';

/** A stream configuration as `jsm.streams.add` takes it. */
export type HubStreamConfig = Partial<StreamConfig> & { name: Stream };

/** Largest message a stream stores: a report's JWS limit with room for headers. */
const MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * The configuration of each hub stream. Every one is file-backed and refuses delete and
 * purge: reports, rejections, alerts and audit entries are evidence.
 */
export function streamConfigs(replicas = 1): Record<Stream, HubStreamConfig> {
  const base = {
    storage: 'file',
    retention: 'limits',
    discard: 'new',
    num_replicas: replicas,
    deny_delete: true,
    deny_purge: true,
    allow_direct: true,
    max_msg_size: MAX_MESSAGE_BYTES,
  } as const satisfies Partial<StreamConfig>;
  return {
    [Streams.Reports]: { ...base, name: Streams.Reports, subjects: [StreamSubjects.REPORTS] },
    [Streams.Rejections]: {
      ...base,
      name: Streams.Rejections,
      subjects: [StreamSubjects.REJECTIONS],
    },
    [Streams.Alerts]: { ...base, name: Streams.Alerts, subjects: [StreamSubjects.ALERTS] },
    // The auditor appends entries in atomic batches (nats-server 2.12 and later).
    [Streams.Audit]: {
      ...base,
      name: Streams.Audit,
      subjects: [StreamSubjects.AUDIT],
      allow_atomic: true,
    },
  };
}

/**
 * Creates the hub streams that do not exist yet and leaves existing ones as they are
 * (their data is never touched), except that an AUDIT stream made before the auditor
 * wrote atomic batches gets `allow_atomic`. Returns the names it created.
 *
 * @example
 * ```ts
 * await ensureStreams(await jetstreamManager(nc));
 * ```
 */
export async function ensureStreams(jsm: JetStreamManager, replicas = 1): Promise<Stream[]> {
  const existing = new Set<string>();
  for await (const name of jsm.streams.names()) existing.add(name);
  const created: Stream[] = [];
  for (const config of Object.values(streamConfigs(replicas))) {
    if (existing.has(config.name)) {
      if (config.allow_atomic === true) {
        const info = await jsm.streams.info(config.name);
        if (info.config.allow_atomic !== true)
          await jsm.streams.update(config.name, { ...info.config, allow_atomic: true });
      }
      continue;
    }
    await jsm.streams.add(config);
    created.push(config.name);
  }
  return created;
}
