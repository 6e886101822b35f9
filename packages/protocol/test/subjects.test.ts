import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AlertKind,
  agencyOfIngestSubject,
  agencyOfSelectorEvaluateSubject,
  selectorEvaluateSubject,
  alertSubject,
  ingestSubject,
  parseAlertSubject,
  parseRejectionSubject,
  parseReportSubject,
  rejectionSubject,
  reportSubject,
} from '../src/index.ts';

// A subject token as the contract admits them: no dot, wildcard or white space, not empty.
const token = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,20}$/);
const kind = fc.constantFrom(...Object.values(AlertKind));

describe('subjects: each builder has a parser that inverts it', () => {
  it('reports', () => {
    fc.assert(
      fc.property(token, token, token, token, (origin, category, issuer, reportId) => {
        const parts = { origin, category, issuer, reportId };
        expect(parseReportSubject(reportSubject(parts))).toEqual(parts);
      }),
    );
  });

  it('alerts', () => {
    fc.assert(
      fc.property(token, kind, token, token, (recipient, k, issuer, reportId) => {
        expect(parseAlertSubject(alertSubject(recipient, k, issuer, reportId))).toEqual({
          recipient,
          kind: k,
          issuer,
          reportId,
        });
      }),
    );
  });

  it('rejections and ingest', () => {
    fc.assert(
      fc.property(token, (agency) => {
        expect(parseRejectionSubject(rejectionSubject(agency))).toEqual({ agency });
        expect(agencyOfIngestSubject(ingestSubject(agency))).toBe(agency);
        expect(agencyOfSelectorEvaluateSubject(selectorEvaluateSubject(agency))).toBe(agency);
        expect(agencyOfIngestSubject(selectorEvaluateSubject(agency))).toBeUndefined();
        expect(agencyOfSelectorEvaluateSubject(ingestSubject(agency))).toBeUndefined();
      }),
    );
  });

  it('refuses subjects of another kind or shape', () => {
    for (const subject of [
      'mosaic.alerts.a.alert.b.c',
      'mosaic.reports.a.b.c',
      'mosaic.reports.a.b.c.d.e',
      'other.reports.a.b.c.d',
    ])
      expect(parseReportSubject(subject)).toBeUndefined();
    for (const subject of [
      'mosaic.reports.a.alert.b.c',
      'mosaic.alerts.a.alert.b',
      'mosaic.alerts.a.alert.b.c.d',
    ])
      expect(parseAlertSubject(subject)).toBeUndefined();
    for (const subject of [
      'mosaic.rejections',
      'mosaic.rejections.a.b',
      'mosaic.ingest.a',
      'mosaic.rejections.',
    ])
      expect(parseRejectionSubject(subject)).toBeUndefined();
  });
});
