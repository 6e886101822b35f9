import { describe, expect, it } from 'vitest';
import { namesExactly, type AuditVerdict } from '../src/invariants.ts';

const failed = (output: string): AuditVerdict => ({ ok: false, exitCode: 1, output });

/** What `mosaic audit verify` prints when the REPORTS leader cannot return sequences. */
const holes = (text: string): AuditVerdict =>
  failed(
    `ERR_AUDIT_INVALID: REPORTS ${text} counted by the stream but its leader cannot return it (lost or damaged in the store)`,
  );

describe('namesExactly: audit verify named exactly what a fault destroyed', () => {
  it('accepts the sequences destroyed, in any order, and nothing else', () => {
    expect(namesExactly(holes('seq 37 is'), new Set([37]))).toBe(true);
    expect(namesExactly(holes('seqs 37, 40 are'), new Set([40, 37]))).toBe(true);
  });

  it('refuses one more, one fewer, another, a pass and a different failure', () => {
    expect(namesExactly(holes('seqs 37, 40 are'), new Set([37]))).toBe(false);
    expect(namesExactly(holes('seq 37 is'), new Set([37, 40]))).toBe(false);
    expect(namesExactly(holes('seq 38 is'), new Set([37]))).toBe(false);
    expect(namesExactly({ ok: true, exitCode: 0, output: '{"ok":true}' }, new Set([37]))).toBe(
      false,
    );
    expect(
      namesExactly(
        failed('ERR_AUDIT_INVALID: the audit log is not intact at entry 36 (AUDIT seq 37)'),
        new Set([37]),
      ),
    ).toBe(false);
  });
});
