import { MAX_RELATED, type RelatedReport } from '@mosaic/protocol';

/** An earlier stored report sharing at least one selector with the report being routed. */
export interface RelatedCandidate {
  issuer: string;
  reportId: string;
  /** Its REPORTS sequence: lower than the routed report's. */
  seq: number;
  /** Kinds of the shared selectors. */
  kinds: ReadonlySet<string>;
  /** The agencies that hold an alert for it, as ALERTS records them. */
  recipients: ReadonlySet<string>;
}

/**
 * The `related` list of one recipient's alert: the candidates this recipient holds — it
 * received an alert for the report, or issued it itself — and no other, the most recent
 * `MAX_RELATED`, oldest first. Pure: what the recipient is entitled to is decided by the
 * alerts already stored, never by the index.
 *
 * @example
 * ```ts
 * relatedFor('nl-police', candidates); // [{ issuer: 'ro-dicot', reportId: '…', seq: 3, kinds: ['phone'] }]
 * ```
 */
export function relatedFor(
  recipient: string,
  candidates: readonly RelatedCandidate[],
): RelatedReport[] {
  return candidates
    .filter((c) => c.issuer === recipient || c.recipients.has(recipient))
    .sort((a, b) => a.seq - b.seq)
    .slice(-MAX_RELATED)
    .map((c) => ({
      issuer: c.issuer,
      reportId: c.reportId,
      seq: c.seq,
      kinds: [...c.kinds].sort(),
    }));
}
