import { Tlp } from '@mosaic/contract';
import { tlpRank } from '@mosaic/policy';
import { describe, expect, it } from 'vitest';

describe('TLP order', () => {
  it('is CLEAR < GREEN < AMBER < AMBER+STRICT < RED', () => {
    const ranks = [Tlp.Clear, Tlp.Green, Tlp.Amber, Tlp.AmberStrict, Tlp.Red].map(tlpRank);
    expect(ranks).toEqual([0, 1, 2, 3, 4]);
  });

  it.each(['PURPLE', 'amber', 'TLP:RED', '', 3, null, undefined])(
    'has no rank for the unknown label %j',
    (label) => {
      expect(tlpRank(label)).toBeUndefined();
    },
  );
});
