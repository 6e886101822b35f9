import { Clause, Via, type Clause as ClauseId } from './clauses.ts';
import type { IndexedAgency, PolicyIndex } from './index-build.ts';
import { touches, within } from './jurisdictions.ts';
import type { ReportContext } from './report.ts';

export type ReleaseOutcome =
  | { readonly admitted: true; readonly via: Via; readonly agreement?: number }
  | { readonly admitted: false; readonly clause: ClauseId; readonly detail: string };

function deny(clause: ClauseId, detail: string): ReleaseOutcome {
  return { admitted: false, clause, detail };
}

/** The lowest-indexed agreement from the issuer that covers the agency for this report. */
function coveringAgreement(
  context: ReportContext,
  agency: string,
  index: PolicyIndex,
): number | undefined {
  const candidates = index.agreements.get(context.issuer)?.get(agency) ?? [];
  return candidates.find(
    (agreement) =>
      (agreement.categories === undefined || agreement.categories.has(context.category)) &&
      (agreement.maxTlp === undefined || context.tlpRank <= agreement.maxTlp),
  )?.index;
}

/**
 * The originator's release conditions for one agency: P6–P9 of docs/policy.md, in order.
 * `prior` says the agency received a report this follow-up retracts or supersedes (L1).
 */
export function release(
  context: ReportContext,
  agency: IndexedAgency,
  index: PolicyIndex,
  prior: boolean,
): ReleaseOutcome {
  const id = agency.id;
  if (context.deniedAgencies.has(id))
    return deny(Clause.NotDeniedAgency, 'named in handling.notReleasableTo.agencies');
  if (touches(agency.countries, context.deniedCountries))
    return deny(
      Clause.NotDeniedJurisdiction,
      'covers a country of handling.notReleasableTo.jurisdictions',
    );
  const named = context.named.has(id);
  if (
    context.releasable !== undefined &&
    !named &&
    !within(agency.countries, context.releasable.countries)
  )
    return deny(
      Clause.ReleasableTo,
      'neither named in handling.releasableTo.agencies nor within handling.releasableTo.jurisdictions',
    );

  switch (context.gate) {
    case Clause.Clear:
    case Clause.Green:
      return { admitted: true, via: prior ? Via.Lineage : Via.Community };
    case Clause.Amber: {
      if (named) return { admitted: true, via: Via.ReleasableTo };
      if (prior) return { admitted: true, via: Via.Lineage };
      const agreement = coveringAgreement(context, id, index);
      if (agreement !== undefined) return { admitted: true, via: Via.Agreement, agreement };
      return deny(
        Clause.Amber,
        `AMBER: not named in handling.releasableTo.agencies and no agreement from ${context.issuer} covers it for this category and TLP`,
      );
    }
    case Clause.AmberStrict:
    case Clause.Red:
      return named
        ? { admitted: true, via: Via.ReleasableTo }
        : deny(context.gate, `${context.tlp}: not named in handling.releasableTo.agencies`);
  }
}
