import { describe, expect, it } from 'vitest';
import { auditFailureError, isCheckpointProblem } from '../src/index.ts';

describe('auditFailureError', () => {
  it('names an entry with its AUDIT sequence', () => {
    const err = auditFailureError({
      ok: false,
      index: 4,
      problem: 'chain',
      message: 'prev differs',
    });
    expect(err).toMatchObject({
      code: 'ERR_AUDIT_INVALID',
      message: 'the audit log is not intact at entry 4 (AUDIT seq 5): chain: prev differs',
      details: { index: 4, problem: 'chain' },
    });
  });

  it('names a checkpoint by its position for checkpoint-only problems, and where it came from', () => {
    const origins = ['AUDIT_CHECKPOINTS seq 1', 'AUDIT_CHECKPOINTS seq 2'];
    expect(
      auditFailureError(
        { ok: false, index: 1, checkpoint: 1, problem: 'fork', message: 'two roots' },
        origins,
      ),
    ).toMatchObject({
      message:
        'the audit log is not intact at checkpoint 1: fork: two roots (checkpoint 1 is AUDIT_CHECKPOINTS seq 2)',
      details: { index: 1, problem: 'fork', checkpoint: 1 },
    });
    expect(
      auditFailureError(
        { ok: false, index: 0, checkpoint: 0, problem: 'checkpoint-signature', message: 'bad' },
        origins,
      ).message,
    ).toBe(
      'the audit log is not intact at checkpoint 0: checkpoint-signature: bad — AUDIT_CHECKPOINTS seq 1 is a foreign message: not a checkpoint signed by this hub key',
    );
    // A root mismatch is about entries: it names the entry.
    expect(
      auditFailureError({
        ok: false,
        index: 16,
        checkpoint: 2,
        problem: 'checkpoint-root-mismatch',
        message: 'm',
      }).message,
    ).toBe('the audit log is not intact at entry 16 (AUDIT seq 17): checkpoint-root-mismatch: m');
  });

  it('says which problems are about checkpoints alone', () => {
    expect(
      (['checkpoint-signature', 'checkpoint-origin', 'checkpoint-order', 'fork'] as const).every(
        isCheckpointProblem,
      ),
    ).toBe(true);
    for (const p of ['gap', 'chain', 'altered', 'truncated', 'checkpoint-root-mismatch'] as const)
      expect(isCheckpointProblem(p), p).toBe(false);
  });
});
