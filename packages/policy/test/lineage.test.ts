import { Clause, lineageReferences } from '@mosaic/policy';
import { describe, expect, it } from 'vitest';
import { ORIGIN, agency, federation, outcomeFor, report, rule } from './support/fixtures.ts';

const R1 = '00000000-0000-4000-8000-000000000001';
const R2 = '00000000-0000-4000-8000-000000000002';

// 'was' received the original under rules it no longer has: now it subscribes to nothing.
const fed = federation({
  agencies: [ORIGIN, agency('was', ['NL']), agency('now', ['NL'], [rule()])],
});

describe('lineageReferences', () => {
  it('lists retracted and superseded ids, not related ones', () => {
    expect(lineageReferences(report({ lineage: { retracts: R1, relatesTo: [R2] } }))).toEqual([R1]);
    expect(lineageReferences(report({ lineage: { supersedes: [R2, R1, R2] } }))).toEqual([R2, R1]);
    expect(lineageReferences(report())).toEqual([]);
  });
});

describe('L1-lineage', () => {
  const retraction = (handling = {}) =>
    report({ indicators: [], lineage: { retracts: R1 }, handling });

  it('delivers a retraction to a prior recipient whatever its rules say now', () => {
    const { recipient } = outcomeFor(fed, retraction(), 'was', { priorRecipients: ['was'] });
    expect(recipient?.reason).toEqual({ clause: Clause.Green, via: 'lineage', lineage: true });
  });

  it('delivers a superseding AMBER report without the agreement that carried the original', () => {
    const r = report({ lineage: { supersedes: [R1] }, handling: { tlp: 'AMBER' } });
    const { recipient } = outcomeFor(fed, r, 'was', { priorRecipients: ['was'] });
    expect(recipient?.reason).toEqual({ clause: Clause.Amber, via: 'lineage', lineage: true });
  });

  it('still routes by rules to agencies that are not prior recipients', () => {
    const r = report({ lineage: { supersedes: [R1] } });
    expect(outcomeFor(fed, r, 'now', { priorRecipients: ['was'] }).recipient?.reason).toEqual({
      clause: Clause.Green,
      via: 'community',
      rule: { index: 0 },
    });
  });

  it('ignores prior recipients for a report that is not a follow-up', () => {
    const r = report({ lineage: { relatesTo: [R1] } });
    expect(outcomeFor(fed, r, 'was', { priorRecipients: ['was'] }).clause).toBe(Clause.Interest);
  });

  it("obeys the follow-up's own deny list", () => {
    const r = retraction({ notReleasableTo: { agencies: ['was'] } });
    expect(outcomeFor(fed, r, 'was', { priorRecipients: ['was'] }).clause).toBe(
      Clause.NotDeniedAgency,
    );
  });

  it("obeys the follow-up's RED naming", () => {
    const unnamed = retraction({ tlp: 'RED' });
    expect(outcomeFor(fed, unnamed, 'was', { priorRecipients: ['was'] }).clause).toBe(Clause.Red);
    const other = retraction({ tlp: 'RED', releasableTo: { agencies: ['now'] } });
    expect(outcomeFor(fed, other, 'was', { priorRecipients: ['was'] }).clause).toBe(
      Clause.ReleasableTo,
    );
    const named = retraction({ tlp: 'RED', releasableTo: { agencies: ['was'] } });
    expect(outcomeFor(fed, named, 'was', { priorRecipients: ['was'] }).recipient?.reason).toEqual({
      clause: Clause.Red,
      via: 'releasable-to',
      lineage: true,
    });
  });

  it('does not route an expired follow-up', () => {
    const r = retraction({ validUntil: '2020-01-01T00:00:00Z' });
    expect(outcomeFor(fed, r, 'was', { priorRecipients: ['was'] }).clause).toBe(Clause.NotExpired);
  });

  it('never returns a follow-up to its originator', () => {
    expect(outcomeFor(fed, retraction(), 'origin', { priorRecipients: ['origin'] }).clause).toBe(
      Clause.NotOriginator,
    );
  });
});
