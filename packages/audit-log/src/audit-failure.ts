import { ErrorCode, MosaicError } from '@mosaic/errors';
import type { AuditProblem, AuditVerification } from './verify-log.ts';

/** Problems about the checkpoints alone: their failure index is the checkpoint's position. */
const CHECKPOINT_ONLY: ReadonlySet<AuditProblem> = new Set<AuditProblem>([
  'checkpoint-signature',
  'checkpoint-origin',
  'checkpoint-order',
  'fork',
]);

/**
 * True when a {@link verifyAuditLog} failure with this problem names a checkpoint (its
 * `index` is the checkpoint's position), not an entry.
 */
export function isCheckpointProblem(problem: AuditProblem): boolean {
  return CHECKPOINT_ONLY.has(problem);
}

/**
 * The ERR_AUDIT_INVALID error for a failed {@link verifyAuditLog}: names the entry (and its
 * AUDIT sequence, index + 1) or the checkpoint, and where that checkpoint came from when
 * `origins` (one per checkpoint position, e.g. `AUDIT_CHECKPOINTS seq 7`) says so; a
 * checkpoint with a bad signature is named a foreign message.
 *
 * @example
 * ```ts
 * const result = await verifyAuditLog(entries, checkpoints, keys);
 * if (!result.ok) throw auditFailureError(result, origins);
 * ```
 */
export function auditFailureError(
  failure: Extract<AuditVerification, { ok: false }>,
  origins: readonly string[] = [],
): MosaicError {
  const { index, problem, message, checkpoint } = failure;
  const where = isCheckpointProblem(problem)
    ? `checkpoint ${index}`
    : `entry ${index} (AUDIT seq ${index + 1})`;
  const from = checkpoint === undefined ? undefined : origins[checkpoint];
  const foreign =
    problem === 'checkpoint-signature' && from !== undefined
      ? ` — ${from} is a foreign message: not a checkpoint signed by this hub key`
      : from !== undefined
        ? ` (checkpoint ${checkpoint} is ${from})`
        : '';
  return new MosaicError(
    ErrorCode.AuditInvalid,
    `the audit log is not intact at ${where}: ${problem}: ${message}${foreign}`,
    { details: { index, problem, ...(checkpoint === undefined ? {} : { checkpoint }) } },
  );
}
