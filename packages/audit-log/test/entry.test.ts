import { describe, expect, it } from 'vitest';
import {
  auditEntrySchema,
  canonicalJson,
  decodeEntry,
  encodeEntry,
  leafHash,
  prevHash,
  type AuditEntry,
} from '../src/index.ts';

const code = (c: string) => expect.objectContaining({ code: c }) as unknown;
const enc = (s: string) => new TextEncoder().encode(s);
const base: AuditEntry = {
  v: 1,
  time: '2025-06-01T12:00:00.123Z',
  actor: { kind: 'service', id: 'router' },
  action: 'alert.disclosed',
  subject: { reportId: 'r-1', issuer: 'nca-uk', contentHash: 'ab'.repeat(32) },
  recipients: [{ agency: 'bka-de', reason: { clause: 'P3', rule: ['GB', 'recruitment'] } }],
  refs: [{ stream: 'REPORTS', seq: 42 }],
};

describe('audit entries', () => {
  it('encode canonically (sorted keys, no white space) and decode back', () => {
    const bytes = encodeEntry(base);
    const text = new TextDecoder().decode(bytes);
    expect(
      text.startsWith(
        '{"action":"alert.disclosed","actor":{"id":"router","kind":"service"},"recipients"',
      ),
    ).toBe(true);
    expect(text).not.toMatch(/\s/);
    expect(decodeEntry(bytes)).toEqual(base);
    const shuffled = {
      refs: base.refs,
      subject: base.subject,
      recipients: base.recipients,
      action: base.action,
      actor: base.actor,
      time: base.time,
      v: 1 as const,
    };
    expect(encodeEntry(shuffled)).toEqual(bytes);
    expect(canonicalJson({ b: [1, 'x', { d: null, c: true }], a: 1.5, u: undefined })).toBe(
      '{"a":1.5,"b":[1,"x",{"c":true,"d":null}]}',
    );
  });

  it('chains: prev is the hex leaf hash of the previous stored bytes', () => {
    const first = encodeEntry(base);
    expect(prevHash(first)).toBe(Buffer.from(leafHash(first)).toString('hex'));
    const second = decodeEntry(encodeEntry({ ...base, prev: prevHash(first) }));
    expect(second.prev).toMatch(/^[0-9a-f]{64}$/);
  });

  it('recovered: true marks a reconstructed entry; entries without it stay valid, other values are refused', () => {
    const recovered = decodeEntry(encodeEntry({ ...base, recovered: true }));
    expect(recovered.recovered).toBe(true);
    expect(decodeEntry(encodeEntry(base)).recovered).toBeUndefined();
    expect(auditEntrySchema.safeParse({ ...base, recovered: false }).success).toBe(false);
    expect(() => decodeEntry(enc(canonicalJson({ ...base, recovered: 'yes' })))).toThrow(
      expect.objectContaining({ code: 'ERR_AUDIT_ENTRY' }) as Error,
    );
  });

  it('requires a justification for operator actions', () => {
    const replay: AuditEntry = {
      v: 1,
      time: '2025-06-01T12:00:00Z',
      actor: { kind: 'operator', id: 'ops' },
      action: 'operator.replay',
    };
    expect(() => encodeEntry(replay)).toThrow(code('ERR_AUDIT_ENTRY'));
    expect(() => encodeEntry({ ...replay, justification: '   ' })).toThrow(code('ERR_AUDIT_ENTRY'));
    expect(
      decodeEntry(encodeEntry({ ...replay, justification: 'case 2025/17' })).justification,
    ).toBe('case 2025/17');
    expect(
      auditEntrySchema.safeParse({ ...replay, actor: { kind: 'service', id: 'cli' } }).success,
    ).toBe(false);
    expect(
      auditEntrySchema.safeParse({
        ...base,
        actor: { kind: 'operator', id: 'ops' },
        action: 'registry.changed',
      }).success,
    ).toBe(false);
  });

  it('decodes hardened: strict schema, duplicate and prototype keys, UTC time, sizes', () => {
    const ok = new TextDecoder().decode(encodeEntry(base));
    for (const [text, c] of [
      [ok.replace('{"action"', '{"extra":1,"action"'), 'ERR_AUDIT_ENTRY'],
      [
        ok.replace(
          '{"action":"alert.disclosed"',
          '{"action":"alert.disclosed","action":"report.accepted"',
        ),
        'ERR_JSON_DUPLICATE_KEY',
      ],
      [ok.replace('{"action"', '{"__proto__":{},"action"'), 'ERR_JSON_FORBIDDEN_KEY'],
      [ok.replace('12:00:00.123Z', '12:00:00+01:00'), 'ERR_AUDIT_ENTRY'],
      [ok.replace('"v":1', '"v":2'), 'ERR_AUDIT_ENTRY'],
      [ok.replace('"router"', '"rou\\u202eter"'), 'ERR_AUDIT_ENTRY'],
      [ok.replace('ababab', 'ABABAB'), 'ERR_AUDIT_ENTRY'],
      [ok.replace('"seq":42', '"seq":0'), 'ERR_AUDIT_ENTRY'],
      [ok.slice(0, -1), 'ERR_JSON_SYNTAX'],
      [`{"details":"${'x'.repeat(300_000)}"}`, 'ERR_PAYLOAD_TOO_LARGE'],
    ] as const)
      expect(() => decodeEntry(enc(text)), text.slice(0, 60)).toThrow(code(c));
  });
});
