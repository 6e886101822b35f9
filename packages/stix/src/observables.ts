import type { Indicator } from '@mosaic/contract';
import { MOSAIC_EXTENSION_ID } from './constants.ts';
import { STIX_SCO_NAMESPACE, uuidV5 } from './ids.ts';
import type { Sco, ScoType } from './schemas.ts';

/** An observable without its id and markings, which depend on the report that carries it. */
export type ScoBody = { type: ScoType } & Record<string, unknown>;

const NEW_SCO = { [MOSAIC_EXTENSION_ID]: { extension_type: 'new-sco' } };

/** The properties that make up a deterministic SCO id (STIX 2.1, 2.9), per type. */
const CONTRIBUTING: Readonly<Record<ScoType, readonly string[]>> = {
  'email-addr': ['value'],
  'user-account': ['account_type', 'account_login'],
  'phone-number': ['value'],
  'bank-account': ['iban'],
  'cryptocurrency-wallet': ['value'],
  'x-mosaic-person': ['name', 'birth_date', 'nationality'],
  'x-mosaic-identity-document': ['document_type', 'number', 'issuing_country'],
  'x-mosaic-vehicle': ['plate', 'country'],
  'x-mosaic-vessel': ['imo', 'mmsi'],
  'x-mosaic-location': ['latitude', 'longitude', 'place_name', 'country'],
  'x-mosaic-organisation': ['name', 'registration_number', 'country'],
};

/** Drops undefined members, so that absent optional fields stay absent in the JSON. */
function defined<T extends Record<string, unknown>>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as T;
}

/** The STIX observable of a Mosaic indicator (its `note` goes on the indicator, not here). */
export function scoOf(indicator: Indicator): ScoBody {
  switch (indicator.type) {
    case 'email':
      return { type: 'email-addr', value: indicator.address };
    case 'online-handle':
      return {
        type: 'user-account',
        account_login: indicator.handle,
        account_type: indicator.platform,
      };
    case 'phone':
      return { type: 'phone-number', value: indicator.number };
    case 'financial-account':
      return defined({
        type: 'bank-account',
        value: indicator.iban,
        iban: indicator.iban,
        bic: indicator.bic,
        extensions:
          indicator.holder === undefined
            ? undefined
            : {
                [MOSAIC_EXTENSION_ID]: {
                  extension_type: 'property-extension',
                  holder: indicator.holder,
                },
              },
      });
    case 'crypto-wallet':
      return {
        type: 'cryptocurrency-wallet',
        value: indicator.address,
        extensions: {
          [MOSAIC_EXTENSION_ID]: {
            extension_type: 'property-extension',
            network: indicator.network,
          },
        },
      };
    case 'person':
      return defined({
        type: 'x-mosaic-person',
        name: indicator.name,
        birth_date: indicator.birthDate,
        nationality: indicator.nationality,
        gender: indicator.gender,
        role: indicator.role,
        extensions: NEW_SCO,
      });
    case 'identity-document':
      return {
        type: 'x-mosaic-identity-document',
        document_type: indicator.documentType,
        number: indicator.number,
        issuing_country: indicator.issuingCountry,
        extensions: NEW_SCO,
      };
    case 'vehicle':
      return defined({
        type: 'x-mosaic-vehicle',
        plate: indicator.plate,
        country: indicator.country,
        make: indicator.make,
        model: indicator.model,
        colour: indicator.colour,
        extensions: NEW_SCO,
      });
    case 'vessel':
      return defined({
        type: 'x-mosaic-vessel',
        imo: indicator.imo,
        mmsi: indicator.mmsi,
        name: indicator.name,
        flag: indicator.flag,
        extensions: NEW_SCO,
      });
    case 'location':
      return defined({
        type: 'x-mosaic-location',
        latitude: indicator.coordinates?.lat,
        longitude: indicator.coordinates?.lon,
        place_name: indicator.place?.name,
        country: indicator.place?.country,
        role: indicator.role,
        extensions: NEW_SCO,
      });
    case 'organisation':
      return defined({
        type: 'x-mosaic-organisation',
        name: indicator.name,
        registration_number: indicator.registrationNumber,
        country: indicator.country,
        extensions: NEW_SCO,
      });
  }
}

type Without<T> = T extends unknown ? Omit<T, 'note'> : never;

/** The Mosaic indicator (without `note`) of a validated STIX observable. */
export function indicatorOf(sco: Sco): Without<Indicator> {
  switch (sco.type) {
    case 'email-addr':
      return { type: 'email', address: sco.value };
    case 'user-account':
      return { type: 'online-handle', handle: sco.account_login, platform: sco.account_type };
    case 'phone-number':
      return { type: 'phone', number: sco.value };
    case 'bank-account': {
      const holder = sco.extensions?.[MOSAIC_EXTENSION_ID]?.holder;
      return defined({ type: 'financial-account', iban: sco.iban, bic: sco.bic, holder });
    }
    case 'cryptocurrency-wallet':
      return {
        type: 'crypto-wallet',
        address: sco.value,
        // The import refuses a wallet without a network before it gets here.
        network: sco.extensions[MOSAIC_EXTENSION_ID].network ?? 'other',
      };
    case 'x-mosaic-person':
      return defined({
        type: 'person',
        name: sco.name,
        birthDate: sco.birth_date,
        nationality: sco.nationality,
        gender: sco.gender,
        role: sco.role,
      }) as Without<Indicator>;
    case 'x-mosaic-identity-document':
      return {
        type: 'identity-document',
        documentType: sco.document_type,
        number: sco.number,
        issuingCountry: sco.issuing_country,
      } as Without<Indicator>;
    case 'x-mosaic-vehicle':
      return defined({
        type: 'vehicle',
        plate: sco.plate,
        country: sco.country,
        make: sco.make,
        model: sco.model,
        colour: sco.colour,
      }) as Without<Indicator>;
    case 'x-mosaic-vessel':
      return defined({
        type: 'vessel',
        imo: sco.imo,
        mmsi: sco.mmsi,
        name: sco.name,
        flag: sco.flag,
      }) as Without<Indicator>;
    case 'x-mosaic-location':
      return defined({
        type: 'location',
        coordinates:
          sco.latitude === undefined && sco.longitude === undefined
            ? undefined
            : { lat: sco.latitude, lon: sco.longitude },
        place:
          sco.place_name === undefined && sco.country === undefined
            ? undefined
            : { name: sco.place_name, country: sco.country },
        role: sco.role,
      }) as Without<Indicator>;
    case 'x-mosaic-organisation':
      return defined({
        type: 'organisation',
        name: sco.name,
        registrationNumber: sco.registration_number,
        country: sco.country,
      }) as Without<Indicator>;
  }
}

const NOT_PATTERNED = new Set(['type', 'spec_version', 'id', 'object_marking_refs', 'extensions']);

function literal(value: unknown): string {
  if (typeof value === 'number') return JSON.stringify(value);
  return `'${String(value).replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** The STIX pattern that matches an observable: every own property, joined with AND. */
export function patternOf(sco: ScoBody): string {
  const terms = Object.keys(sco)
    .filter((key) => !NOT_PATTERNED.has(key) && sco[key] !== undefined)
    .sort()
    .map((key) => `${sco.type}:${key} = ${literal(sco[key])}`);
  return `[${terms.join(' AND ')}]`;
}

/**
 * The deterministic STIX id of an observable: UUIDv5 of its contributing properties in the
 * STIX SCO namespace. Anyone can recompute it from a guessed value, so it is used only for
 * reports whose content may be public (TLP:CLEAR and TLP:GREEN).
 */
export function deterministicScoId(sco: ScoBody): string {
  const contributing: Record<string, unknown> = {};
  for (const key of [...CONTRIBUTING[sco.type]].sort())
    if (sco[key] !== undefined) contributing[key] = sco[key];
  return `${sco.type}--${uuidV5(STIX_SCO_NAMESPACE, JSON.stringify(contributing))}`;
}
