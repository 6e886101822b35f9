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
    expect(namesExactly(holes('seq 37 is'), 'REPORTS', new Set([37]))).toBe(true);
    expect(namesExactly(holes('seqs 37, 40 are'), 'REPORTS', new Set([40, 37]))).toBe(true);
  });

  it('reads each stream’s sequences from its own clause', () => {
    const both = failed(
      'ERR_AUDIT_INVALID: the audit log is not intact at entry 65 (AUDIT seq 66): unreadable: AUDIT seqs 66-68, 70 are counted by the stream but its leader cannot return them (lost or damaged in the store); and REPORTS seq 30 is counted by the stream but its leader cannot return it (lost or damaged in the store)',
    );
    expect(namesExactly(both, 'AUDIT', new Set([66, 67, 68, 70]))).toBe(true);
    expect(namesExactly(both, 'REPORTS', new Set([30]))).toBe(true);
    expect(namesExactly(both, 'AUDIT', new Set([66, 67, 68]))).toBe(false);
    expect(namesExactly(both, 'AUDIT', new Set([66, 67, 68, 69, 70]))).toBe(false);
  });

  it('refuses one more, one fewer, another, a pass and a different failure', () => {
    expect(namesExactly(holes('seqs 37, 40 are'), 'REPORTS', new Set([37]))).toBe(false);
    expect(namesExactly(holes('seq 37 is'), 'REPORTS', new Set([37, 40]))).toBe(false);
    expect(namesExactly(holes('seq 38 is'), 'REPORTS', new Set([37]))).toBe(false);
    expect(
      namesExactly({ ok: true, exitCode: 0, output: '{"ok":true}' }, 'REPORTS', new Set([37])),
    ).toBe(false);
    expect(
      namesExactly(
        failed('ERR_AUDIT_INVALID: the audit log is not intact at entry 36 (AUDIT seq 37)'),
        'REPORTS',
        new Set([37]),
      ),
    ).toBe(false);
  });
});
