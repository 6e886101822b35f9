import { Tlp } from '@mosaic/contract';
import { Clause, type ReleaseClause } from './clauses.ts';

const RANK: ReadonlyMap<string, number> = new Map([
  [Tlp.Clear, 0],
  [Tlp.Green, 1],
  [Tlp.Amber, 2],
  [Tlp.AmberStrict, 3],
  [Tlp.Red, 4],
]);

const GATE: ReadonlyMap<string, ReleaseClause> = new Map([
  [Tlp.Clear, Clause.Clear],
  [Tlp.Green, Clause.Green],
  [Tlp.Amber, Clause.Amber],
  [Tlp.AmberStrict, Clause.AmberStrict],
  [Tlp.Red, Clause.Red],
]);

/** Position in CLEAR < GREEN < AMBER < AMBER+STRICT < RED; undefined for an unknown label. */
export function tlpRank(label: unknown): number | undefined {
  return typeof label === 'string' ? RANK.get(label) : undefined;
}

/** The P9 clause that gates a report of this TLP. */
export function releaseClause(tlp: Tlp): ReleaseClause {
  return GATE.get(tlp) ?? Clause.Red;
}
