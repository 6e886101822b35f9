import { AUDIT_CHECKPOINTS_STREAM, AUDIT_CHECKPOINTS_SUBJECT } from './subjects.ts';
import type { JetStreamManager, StreamConfig } from '@nats-io/jetstream';

/** The checkpoints stream: file-backed, append-only like AUDIT (deny delete and purge). */
export function auditCheckpointsStreamConfig(
  replicas = 1,
): Partial<StreamConfig> & { name: string } {
  return {
    name: AUDIT_CHECKPOINTS_STREAM,
    subjects: [AUDIT_CHECKPOINTS_SUBJECT],
    storage: 'file',
    retention: 'limits',
    discard: 'new',
    num_replicas: replicas,
    deny_delete: true,
    deny_purge: true,
    allow_direct: true,
    max_msg_size: 64 * 1024,
  };
}

/**
 * Creates the checkpoints stream unless it exists (AUDIT itself is one of the hub streams
 * of `ensureStreams`). Needs an identity that may create streams: the operator's.
 */
export async function ensureAuditStreams(jsm: JetStreamManager, replicas = 1): Promise<boolean> {
  for await (const name of jsm.streams.names()) if (name === AUDIT_CHECKPOINTS_STREAM) return false;
  await jsm.streams.add(auditCheckpointsStreamConfig(replicas));
  return true;
}
