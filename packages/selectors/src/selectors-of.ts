import { isMosaicError, ErrorCode } from '@mosaic/errors';
import type { Indicator, Report } from '@mosaic/contract';
import { canonicalSelector } from './canonical-selector.ts';
import type { Selector } from './kinds.ts';

/** An indicator field the contract accepted but that gives no selector, and why. */
export interface UnusableIndicator {
  /** Index of the indicator in `report.indicators`. */
  indicator: number;
  /** The field, e.g. `number` of a phone indicator. */
  field: string;
  reason: string;
}

/** The selectors of a report, each once, in the order of the indicators. */
export interface ReportSelectors {
  selectors: readonly Selector[];
  /** Contract-valid values that are not usable selectors (e.g. a number of an unknown country code). */
  unusable: readonly UnusableIndicator[];
}

/** The selector sources of one indicator: `[field, make]` pairs. */
function sourcesOf(indicator: Indicator): readonly (readonly [string, () => Selector])[] {
  switch (indicator.type) {
    case 'phone':
      return [['number', () => canonicalSelector('phone', indicator.number)]];
    case 'email':
      return [['address', () => canonicalSelector('email', indicator.address)]];
    case 'online-handle':
      return [
        [
          'handle',
          () =>
            canonicalSelector('handle', { platform: indicator.platform, handle: indicator.handle }),
        ],
      ];
    case 'identity-document':
      return [
        [
          'number',
          () =>
            canonicalSelector('document', {
              issuingCountry: indicator.issuingCountry,
              number: indicator.number,
            }),
        ],
      ];
    case 'financial-account':
      return [['iban', () => canonicalSelector('iban', indicator.iban)]];
    case 'crypto-wallet':
      return [
        [
          'address',
          () =>
            canonicalSelector('crypto', { network: indicator.network, address: indicator.address }),
        ],
      ];
    case 'vessel': {
      const { imo, mmsi } = indicator;
      return [
        ...(imo === undefined ? [] : [['imo', () => canonicalSelector('imo', imo)] as const]),
        ...(mmsi === undefined ? [] : [['mmsi', () => canonicalSelector('mmsi', mmsi)] as const]),
      ];
    }
    // Names, places and plates are not selectors: see the package README.
    case 'person':
    case 'vehicle':
    case 'location':
    case 'organisation':
      return [];
  }
}

/**
 * The canonical selectors of a validated report. Names, free text, locations and number
 * plates are not selectors. A contract-valid value that is no usable selector (a phone
 * number with an unassigned country code) is listed in `unusable`, never dropped silently.
 *
 * @example
 * ```ts
 * const { selectors } = selectorsOf(parseReport(payload));
 * // ['phone:+40723456789', 'handle:telegram:munca_olanda_rapid', 'email:joburi.sere@example.ro']
 * ```
 */
export function selectorsOf(report: Report): ReportSelectors {
  const selectors = new Set<Selector>();
  const unusable: UnusableIndicator[] = [];
  report.indicators.forEach((indicator, index) => {
    for (const [field, make] of sourcesOf(indicator)) {
      try {
        selectors.add(make());
      } catch (err) {
        if (!isMosaicError(err, ErrorCode.SelectorInvalid)) throw err;
        const reason = (err.details as { reason: string }).reason;
        unusable.push({ indicator: index, field, reason });
      }
    }
  });
  return { selectors: [...selectors], unusable };
}
