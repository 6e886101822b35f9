import { z } from 'zod';
import { CryptoNetwork, cryptoAddressProblem } from './crypto-address.ts';
import { isIsoCountry } from './countries.ts';
import { ibanProblem } from './iban.ts';
import { isValidImo } from './maritime.ts';
import { PATTERNS } from './patterns.ts';
import { boundedString, countryCodeSchema, lineText, multilineText } from './primitives.ts';

/** The `type` of an indicator. */
export const IndicatorType = {
  Person: 'person',
  Phone: 'phone',
  Email: 'email',
  OnlineHandle: 'online-handle',
  IdentityDocument: 'identity-document',
  Vehicle: 'vehicle',
  Vessel: 'vessel',
  FinancialAccount: 'financial-account',
  CryptoWallet: 'crypto-wallet',
  Location: 'location',
  Organisation: 'organisation',
} as const;
export type IndicatorType = (typeof IndicatorType)[keyof typeof IndicatorType];

export const PersonRole = {
  Victim: 'victim',
  Suspect: 'suspect',
  Recruiter: 'recruiter',
  Facilitator: 'facilitator',
  Witness: 'witness',
  Unknown: 'unknown',
} as const;
export type PersonRole = (typeof PersonRole)[keyof typeof PersonRole];

export const Gender = {
  Female: 'female',
  Male: 'male',
  Other: 'other',
  Unknown: 'unknown',
} as const;
export type Gender = (typeof Gender)[keyof typeof Gender];

export const DocumentType = {
  Passport: 'passport',
  NationalId: 'national-id',
  ResidencePermit: 'residence-permit',
  Visa: 'visa',
  DrivingLicence: 'driving-licence',
  Other: 'other',
} as const;
export type DocumentType = (typeof DocumentType)[keyof typeof DocumentType];

export const LocationRole = {
  Origin: 'origin',
  Recruitment: 'recruitment',
  Transit: 'transit',
  Destination: 'destination',
  ExploitationSite: 'exploitation-site',
  Other: 'other',
} as const;
export type LocationRole = (typeof LocationRole)[keyof typeof LocationRole];

/** Fields every indicator may carry. */
const common = {
  note: multilineText(500).optional(),
};

const personSchema = z.strictObject({
  type: z.literal(IndicatorType.Person),
  name: lineText(200),
  birthDate: z.iso.date({ message: 'must be a date YYYY-MM-DD' }).optional(),
  nationality: countryCodeSchema.optional(),
  gender: z.enum(Gender).optional(),
  role: z.enum(PersonRole).optional(),
  ...common,
});

const phoneSchema = z.strictObject({
  type: z.literal(IndicatorType.Phone),
  number: boundedString(32).regex(PATTERNS.e164, {
    message: 'must be E.164: + then 7–15 digits, the first not 0, no spaces',
  }),
  ...common,
});

const emailSchema = z.strictObject({
  type: z.literal(IndicatorType.Email),
  address: z.email({ message: 'must be an e-mail address' }).max(254),
  ...common,
});

const onlineHandleSchema = z.strictObject({
  type: z.literal(IndicatorType.OnlineHandle),
  handle: boundedString(128).regex(PATTERNS.handle, {
    message: 'must be 1–128 characters without white space',
  }),
  platform: boundedString(64).regex(PATTERNS.platform, {
    message: 'must be a lower-case platform token or domain, e.g. telegram',
  }),
  ...common,
});

const identityDocumentSchema = z.strictObject({
  type: z.literal(IndicatorType.IdentityDocument),
  documentType: z.enum(DocumentType),
  number: boundedString(64).regex(PATTERNS.documentNumber, {
    message: 'must be 3–32 upper-case letters, digits and inner hyphens, no spaces',
  }),
  issuingCountry: countryCodeSchema,
  ...common,
});

const vehicleSchema = z.strictObject({
  type: z.literal(IndicatorType.Vehicle),
  plate: boundedString(32).regex(PATTERNS.plate, {
    message: 'must be 1–16 upper-case letters, digits and inner hyphens, no spaces',
  }),
  country: countryCodeSchema,
  make: lineText(64).optional(),
  model: lineText(64).optional(),
  colour: lineText(32).optional(),
  ...common,
});

const vesselSchema = z
  .strictObject({
    type: z.literal(IndicatorType.Vessel),
    imo: boundedString(16)
      .regex(PATTERNS.imo, {
        message: 'must be the 7 digits of the IMO number, without "IMO"',
        abort: true,
      })
      .refine(isValidImo, { message: 'IMO check digit does not match' })
      .optional(),
    mmsi: boundedString(16)
      .regex(PATTERNS.mmsi, { message: 'must be a 9-digit ship MMSI starting with 2–7' })
      .optional(),
    name: lineText(200).optional(),
    flag: countryCodeSchema.optional(),
    ...common,
  })
  .refine((vessel) => vessel.imo !== undefined || vessel.mmsi !== undefined, {
    message: 'a vessel needs an imo or an mmsi',
  });

const financialAccountSchema = z.strictObject({
  type: z.literal(IndicatorType.FinancialAccount),
  iban: boundedString(64).superRefine((iban, ctx) => {
    const problem = ibanProblem(iban);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  }),
  bic: boundedString(16)
    .regex(PATTERNS.bic, {
      message: 'must be an 8- or 11-character BIC in upper case',
      abort: true,
    })
    // Kosovo's banks use the user-assigned XK in BICs.
    .refine((bic) => isIsoCountry(bic.slice(4, 6)) || bic.slice(4, 6) === 'XK', {
      message: 'BIC country is not an ISO 3166-1 code',
    })
    .optional(),
  holder: lineText(200).optional(),
  ...common,
});

const cryptoWalletSchema = z
  .strictObject({
    type: z.literal(IndicatorType.CryptoWallet),
    network: z.enum(CryptoNetwork),
    address: boundedString(128),
    ...common,
  })
  .superRefine((wallet, ctx) => {
    const problem = cryptoAddressProblem(wallet.network, wallet.address);
    if (problem !== undefined)
      ctx.addIssue({ code: 'custom', message: problem, path: ['address'] });
  });

const locationSchema = z
  .strictObject({
    type: z.literal(IndicatorType.Location),
    coordinates: z
      .strictObject({
        lat: z.number().min(-90).max(90),
        lon: z.number().min(-180).max(180),
      })
      .optional(),
    place: z.strictObject({ name: lineText(200), country: countryCodeSchema }).optional(),
    role: z.enum(LocationRole).optional(),
    ...common,
  })
  .refine((location) => location.coordinates !== undefined || location.place !== undefined, {
    message: 'a location needs coordinates or a place',
  });

const organisationSchema = z.strictObject({
  type: z.literal(IndicatorType.Organisation),
  name: lineText(200),
  registrationNumber: boundedString(64)
    .regex(PATTERNS.registrationNumber, {
      message: 'must be 1–64 letters, digits, spaces and . / - (no leading or trailing space)',
    })
    .optional(),
  country: countryCodeSchema.optional(),
  ...common,
});

/** One typed indicator, discriminated by `type`. */
export const indicatorSchema = z.discriminatedUnion('type', [
  personSchema.meta({ id: 'PersonIndicator' }),
  phoneSchema.meta({ id: 'PhoneIndicator' }),
  emailSchema.meta({ id: 'EmailIndicator' }),
  onlineHandleSchema.meta({ id: 'OnlineHandleIndicator' }),
  identityDocumentSchema.meta({ id: 'IdentityDocumentIndicator' }),
  vehicleSchema.meta({ id: 'VehicleIndicator' }),
  vesselSchema.meta({ id: 'VesselIndicator' }),
  financialAccountSchema.meta({ id: 'FinancialAccountIndicator' }),
  cryptoWalletSchema.meta({ id: 'CryptoWalletIndicator' }),
  locationSchema.meta({ id: 'LocationIndicator' }),
  organisationSchema.meta({ id: 'OrganisationIndicator' }),
]);

export type Indicator = z.infer<typeof indicatorSchema>;
