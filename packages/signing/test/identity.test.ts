import { describe, expect, it } from 'vitest';
import { reportIdentity } from '../src/index.ts';

describe('reportIdentity', () => {
  it('is <issuer>/<reportId>', () => {
    expect(
      reportIdentity({ issuer: 'nca-uk', reportId: '0f8fad5b-d9cb-469f-a165-70867728950e' }),
    ).toBe('nca-uk/0f8fad5b-d9cb-469f-a165-70867728950e');
  });

  it('tells apart the same report id from two issuers', () => {
    const reportId = '0f8fad5b-d9cb-469f-a165-70867728950e';
    expect(reportIdentity({ issuer: 'a', reportId })).not.toBe(
      reportIdentity({ issuer: 'b', reportId }),
    );
  });
});
