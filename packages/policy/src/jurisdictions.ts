import { isIsoCountry } from '@mosaic/contract';

/** Well-defined groups of the federation: id → member countries. */
export type Groups = ReadonlyMap<string, ReadonlySet<string>>;

/**
 * The countries a jurisdiction stands for: a country itself, a well-defined group's
 * members, or undefined when it is neither (unknown denies, so callers must not treat
 * undefined as "nothing").
 */
export function expandJurisdiction(
  jurisdiction: unknown,
  groups: Groups,
): ReadonlySet<string> | undefined {
  if (typeof jurisdiction !== 'string') return undefined;
  if (isIsoCountry(jurisdiction)) return new Set([jurisdiction]);
  return groups.get(jurisdiction);
}

/** The union of the expansions, or undefined if the list is not an array or any item is unknown. */
export function expandJurisdictions(list: unknown, groups: Groups): Set<string> | undefined {
  if (!Array.isArray(list)) return undefined;
  const countries = new Set<string>();
  for (const item of list as unknown[]) {
    const expanded = expandJurisdiction(item, groups);
    if (expanded === undefined) return undefined;
    for (const country of expanded) countries.add(country);
  }
  return countries;
}

/** The agency covers at least one of the countries (deny lists use this). */
export function touches(
  agencyCountries: ReadonlySet<string>,
  countries: ReadonlySet<string>,
): boolean {
  for (const country of agencyCountries) if (countries.has(country)) return true;
  return false;
}

/** Every country the agency covers is among the countries (allow lists use this). */
export function within(
  agencyCountries: ReadonlySet<string>,
  countries: ReadonlySet<string>,
): boolean {
  for (const country of agencyCountries) if (!countries.has(country)) return false;
  return agencyCountries.size > 0;
}
