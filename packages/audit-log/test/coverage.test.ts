import { describe, expect, it } from 'vitest';
import { auditCoverage, encodeEntry, type AuditEntry } from '../src/index.ts';

const time = new Date(Date.UTC(2026, 0, 1)).toISOString();
const item = (index: number, entry: Omit<AuditEntry, 'v' | 'time'>) => ({
  index,
  data: encodeEntry({ v: 1, time, ...entry }),
});

describe('auditCoverage', () => {
  const entries = [
    item(0, {
      actor: { kind: 'agency', id: 'de-bka' },
      action: 'report.accepted',
      subject: { reportId: 'r1', issuer: 'de-bka' },
      refs: [{ stream: 'REPORTS', seq: 4 }],
    }),
    item(1, {
      actor: { kind: 'agency', id: 'de-bka' },
      action: 'report.accepted',
      subject: { reportId: 'r2', issuer: 'de-bka' },
      refs: [{ stream: 'REPORTS', seq: 2 }],
      recovered: true,
    }),
    item(2, {
      actor: { kind: 'service', id: 'router' },
      action: 'alert.disclosed',
      subject: { reportId: 'r1', issuer: 'de-bka' },
      recipients: [{ agency: 'nl-police' }, { agency: 'ro-dicot' }],
      refs: [{ stream: 'REPORTS', seq: 9 }],
    }),
    item(3, {
      actor: { kind: 'service', id: 'router' },
      action: 'report.retracted',
      subject: { reportId: 'r2', issuer: 'de-bka' },
      recipients: [{ agency: 'nl-police' }],
    }),
    item(4, {
      actor: { kind: 'agency', id: 'nl-police' },
      action: 'alert.consulted',
      subject: { reportId: 'r3', issuer: 'de-bka' },
      recipients: [{ agency: 'ngo-lastrada' }],
      refs: [{ stream: 'ALERTS', seq: 1 }],
    }),
    item(5, {
      actor: { kind: 'agency', id: 'de-bka' },
      action: 'holdings.hit',
      recipients: [{ agency: 'nl-police', reason: { named: true } }],
      refs: [{ stream: 'ALERTS', seq: 7 }],
      details: { checkId: 'c1', count: 1 },
    }),
    item(6, {
      actor: { kind: 'agency', id: 'de-bka' },
      action: 'holdings.checked',
      details: { checkId: 'c2', count: 3, hits: 1 },
    }),
  ];
  const coverage = auditCoverage(entries);

  it('counts recovered entries', () => {
    expect(coverage.recovered).toBe(1);
  });

  it('knows the stream sequences report.accepted entries name, and only those', () => {
    expect(coverage.collects('REPORTS', 4)).toBe(true);
    expect(coverage.collects('REPORTS', 2)).toBe(true);
    expect(coverage.collects('REPORTS', 3)).toBe(false);
    // A disclosure's refs are no collection.
    expect(coverage.collects('REPORTS', 9)).toBe(false);
    expect(coverage.collects('ALERTS', 1)).toBe(false);
    expect(coverage.lastCollected('REPORTS')).toBe(4);
    expect(coverage.lastCollected('ALERTS')).toBe(0);
  });

  it('knows which recipient each disclosure or retraction names for which report', () => {
    const alert = (recipient: string, reportId: string) => ({
      recipient,
      issuer: 'de-bka',
      reportId,
    });
    expect(coverage.discloses(alert('nl-police', 'r1'))).toBe(true);
    expect(coverage.discloses(alert('ro-dicot', 'r1'))).toBe(true);
    expect(coverage.discloses(alert('nl-police', 'r2'))).toBe(true);
    expect(coverage.discloses(alert('ro-dicot', 'r2'))).toBe(false);
    expect(coverage.discloses({ ...alert('nl-police', 'r1'), issuer: 'ro-dicot' })).toBe(false);
    // A consultation is no disclosure.
    expect(coverage.discloses(alert('ngo-lastrada', 'r3'))).toBe(false);
  });

  it('knows which holder each hit entry names for which asker and check', () => {
    const hit = { recipient: 'nl-police', asker: 'de-bka', checkId: 'c1' };
    expect(coverage.disclosesHit(hit)).toBe(true);
    expect(coverage.disclosesHit({ ...hit, recipient: 'ro-dicot' })).toBe(false);
    expect(coverage.disclosesHit({ ...hit, asker: 'ro-dicot' })).toBe(false);
    expect(coverage.disclosesHit({ ...hit, checkId: 'c2' })).toBe(false);
    // A hit is no report disclosure, and a report disclosure no hit.
    expect(coverage.discloses({ recipient: 'nl-police', issuer: 'de-bka', reportId: 'c1' })).toBe(
      false,
    );
    expect(coverage.disclosesHit({ recipient: 'nl-police', asker: 'de-bka', checkId: 'r1' })).toBe(
      false,
    );
  });

  it('refuses bytes that are no audit entry', () => {
    expect(() => auditCoverage([{ index: 0, data: new TextEncoder().encode('{}') }])).toThrow(
      expect.objectContaining({ code: expect.stringMatching(/^ERR_AUDIT/) as string }),
    );
  });
});
