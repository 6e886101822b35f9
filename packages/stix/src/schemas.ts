import { z } from 'zod';
import {
  Category,
  CryptoNetwork,
  DocumentType,
  Gender,
  LocationRole,
  PersonRole,
  REPORT_SCHEMA_VERSION,
  SourceReliability,
  agencyIdSchema,
  jurisdictionSchema,
  uuidSchema,
} from '@mosaic/contract';
import { MOSAIC_EXTENSION_ID, TLP_EXTENSION_ID } from './constants.ts';

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';
const TYPE = '[a-z0-9][a-z0-9-]{1,248}[a-z0-9]';
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** The id of a STIX object of `type`: `<type>--<uuid>`, lower case. */
function stixIdOf(type: string) {
  return z.string().regex(new RegExp(`^${type}--${UUID}$`), {
    message: `must be ${type}--<uuid> in lower case`,
  });
}

/** A reference to any STIX object. */
const stixRefSchema = z
  .string()
  .regex(new RegExp(`^${TYPE}--${UUID}$`), { message: 'must be <type>--<uuid> in lower case' });

/** A STIX 2.1 timestamp: RFC 3339 in UTC ending in Z. */
const stixTimestampSchema = z
  .string()
  .regex(TIMESTAMP, { message: 'must be an RFC 3339 UTC timestamp ending in Z' })
  .refine((value) => !Number.isNaN(Date.parse(value)), { message: 'is not a real date and time' });

const markingRefs = z.array(stixRefSchema).min(1);

const releaseSchema = z.strictObject({
  jurisdictions: z.array(jurisdictionSchema).min(1).optional(),
  agencies: z.array(agencyIdSchema).min(1).optional(),
});

/** The Mosaic property extension of a `report`: what STIX's report has no property for. */
export const reportExtensionSchema = z
  .strictObject({
    extension_type: z.literal('property-extension'),
    schema_version: z.literal(REPORT_SCHEMA_VERSION),
    report_id: uuidSchema,
    origin: jurisdictionSchema,
    jurisdictions: z.array(jurisdictionSchema).min(1),
    category: z.enum(Category),
    source_reliability: z.enum(SourceReliability),
    analyst_confidence: z.number().int().min(0).max(100),
    valid_from: stixTimestampSchema.optional(),
    valid_until: stixTimestampSchema.optional(),
    supersedes: z.array(uuidSchema).min(1).optional(),
    retracts: uuidSchema.optional(),
    relates_to: z.array(uuidSchema).min(1).optional(),
    provenance: z
      .strictObject({
        jws: z.string().regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/),
        kid: z.string().min(1).max(256),
      })
      .optional(),
  })
  .meta({
    id: 'MosaicReportExtension',
    description:
      'Property extension of a STIX report: the Mosaic report id, origin, jurisdictions, category, source reliability, the analyst confidence (STIX confidence carries the information credibility), the report validity, lineage and the originator signature.',
  });
export type ReportExtension = z.infer<typeof reportExtensionSchema>;

/** The Mosaic property extension of a handling marking-definition: release restrictions. */
export const handlingExtensionSchema = z
  .strictObject({
    extension_type: z.literal('property-extension'),
    releasable_to: releaseSchema.optional(),
    not_releasable_to: releaseSchema.optional(),
  })
  .refine((ext) => ext.releasable_to !== undefined || ext.not_releasable_to !== undefined, {
    message: 'a handling marking restricts something',
  })
  .meta({
    id: 'MosaicHandlingExtension',
    description:
      'Property extension of a marking-definition: the jurisdictions and agencies an object may and may not be released to. Every listed restriction applies.',
  });

/** The Mosaic property extension of OpenCTI's bank-account and cryptocurrency-wallet SCOs. */
export const observableExtensionSchema = z
  .strictObject({
    extension_type: z.literal('property-extension'),
    holder: z.string().min(1).max(200).optional(),
    network: z.enum(CryptoNetwork).optional(),
  })
  .meta({
    id: 'MosaicObservableExtension',
    description:
      'Property extension of bank-account (holder) and cryptocurrency-wallet (network) observables.',
  });

const newSco = z.strictObject({ extension_type: z.literal('new-sco') });

function scoEnvelope<T extends string>(type: T) {
  return {
    type: z.literal(type),
    spec_version: z.literal('2.1'),
    id: stixIdOf(type),
    object_marking_refs: markingRefs,
  };
}

function mosaicSco<T extends string, S extends z.ZodRawShape>(type: T, shape: S) {
  return z.strictObject({
    ...scoEnvelope(type),
    ...shape,
    extensions: z.strictObject({ [MOSAIC_EXTENSION_ID]: newSco }),
  });
}

const text = (max: number) => z.string().min(1).max(max);
const country = z.string().regex(/^[A-Z]{2}$/);

export const personScoSchema = mosaicSco('x-mosaic-person', {
  name: text(200),
  birth_date: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .optional(),
  nationality: country.optional(),
  gender: z.enum(Gender).optional(),
  role: z.enum(PersonRole).optional(),
}).meta({ id: 'MosaicPersonObservable', description: 'A person named in a report.' });

export const identityDocumentScoSchema = mosaicSco('x-mosaic-identity-document', {
  document_type: z.enum(DocumentType),
  number: text(64),
  issuing_country: country,
}).meta({
  id: 'MosaicIdentityDocumentObservable',
  description: 'A travel or identity document: passport, national id, visa, permit, licence.',
});

export const vehicleScoSchema = mosaicSco('x-mosaic-vehicle', {
  plate: text(32),
  country,
  make: text(64).optional(),
  model: text(64).optional(),
  colour: text(32).optional(),
}).meta({ id: 'MosaicVehicleObservable', description: 'A road vehicle by its registration.' });

export const vesselScoSchema = mosaicSco('x-mosaic-vessel', {
  imo: z
    .string()
    .regex(/^\d{7}$/)
    .optional(),
  mmsi: z
    .string()
    .regex(/^\d{9}$/)
    .optional(),
  name: text(200).optional(),
  flag: country.optional(),
}).meta({ id: 'MosaicVesselObservable', description: 'A ship by IMO number and/or MMSI.' });

export const locationScoSchema = mosaicSco('x-mosaic-location', {
  latitude: z.number().min(-90).max(90).optional(),
  longitude: z.number().min(-180).max(180).optional(),
  place_name: text(200).optional(),
  country: country.optional(),
  role: z.enum(LocationRole).optional(),
}).meta({
  id: 'MosaicLocationObservable',
  description:
    'A place seen in a case (coordinates and/or a named place); an observable, so that an indicator pattern can name it.',
});

export const organisationScoSchema = mosaicSco('x-mosaic-organisation', {
  name: text(200),
  registration_number: text(64).optional(),
  country: country.optional(),
}).meta({ id: 'MosaicOrganisationObservable', description: 'A company or other organisation.' });

const emailScoSchema = z.strictObject({ ...scoEnvelope('email-addr'), value: text(254) });
const userAccountScoSchema = z.strictObject({
  ...scoEnvelope('user-account'),
  account_login: text(128),
  account_type: text(64),
});
const phoneScoSchema = z.strictObject({ ...scoEnvelope('phone-number'), value: text(32) });
const bankAccountScoSchema = z.strictObject({
  ...scoEnvelope('bank-account'),
  value: text(64),
  iban: text(64),
  bic: text(16).optional(),
  extensions: z.strictObject({ [MOSAIC_EXTENSION_ID]: observableExtensionSchema }).optional(),
});
const walletScoSchema = z.strictObject({
  ...scoEnvelope('cryptocurrency-wallet'),
  value: text(128),
  extensions: z.strictObject({ [MOSAIC_EXTENSION_ID]: observableExtensionSchema }),
});

/** Every observable type the mapping writes and reads, by STIX type. */
export const scoSchemas = {
  'email-addr': emailScoSchema,
  'user-account': userAccountScoSchema,
  'phone-number': phoneScoSchema,
  'bank-account': bankAccountScoSchema,
  'cryptocurrency-wallet': walletScoSchema,
  'x-mosaic-person': personScoSchema,
  'x-mosaic-identity-document': identityDocumentScoSchema,
  'x-mosaic-vehicle': vehicleScoSchema,
  'x-mosaic-vessel': vesselScoSchema,
  'x-mosaic-location': locationScoSchema,
  'x-mosaic-organisation': organisationScoSchema,
} as const;
export type ScoType = keyof typeof scoSchemas;
export type Sco = z.infer<(typeof scoSchemas)[ScoType]>;

const common = <T extends string>(type: T) => ({
  type: z.literal(type),
  spec_version: z.literal('2.1'),
  id: stixIdOf(type),
  created: stixTimestampSchema,
  modified: stixTimestampSchema,
});

const tlpMarkingSchema = z.strictObject({
  type: z.literal('marking-definition'),
  spec_version: z.literal('2.1'),
  id: stixIdOf('marking-definition'),
  created: stixTimestampSchema,
  name: z.string(),
  extensions: z.strictObject({
    [TLP_EXTENSION_ID]: z.strictObject({
      extension_type: z.literal('property-extension'),
      tlp_2_0: z.enum(['clear', 'green', 'amber', 'amber+strict', 'red']),
    }),
  }),
});

const handlingMarkingSchema = z.strictObject({
  type: z.literal('marking-definition'),
  spec_version: z.literal('2.1'),
  id: stixIdOf('marking-definition'),
  created: stixTimestampSchema,
  created_by_ref: stixIdOf('identity'),
  name: z.string(),
  object_marking_refs: markingRefs,
  extensions: z.strictObject({ [MOSAIC_EXTENSION_ID]: handlingExtensionSchema }),
});

/** The marking definitions the mapping reads: official TLP 2.0 and Mosaic handling. */
const markingDefinitionSchema = z.union([tlpMarkingSchema, handlingMarkingSchema]);
export type HandlingMarking = z.infer<typeof handlingMarkingSchema>;

const identitySchema = z.strictObject({
  ...common('identity'),
  name: text(256),
  identity_class: z.enum(['organization', 'system']),
  object_marking_refs: markingRefs,
});

const extensionDefinitionSchema = z.strictObject({
  ...common('extension-definition'),
  created_by_ref: stixIdOf('identity'),
  name: text(256),
  description: z.string(),
  schema: z.string(),
  version: z.string(),
  extension_types: z.array(z.enum(['new-sco', 'property-extension'])).min(1),
  object_marking_refs: markingRefs,
});

const reportSchemaStix = z.strictObject({
  ...common('report'),
  created_by_ref: stixIdOf('identity'),
  name: text(256),
  description: z.string().min(1),
  published: stixTimestampSchema,
  report_types: z.array(z.string()).min(1),
  confidence: z.number().int().min(0).max(100).optional(),
  object_refs: z.array(stixRefSchema).min(1),
  revoked: z.boolean().optional(),
  object_marking_refs: markingRefs,
  extensions: z.strictObject({ [MOSAIC_EXTENSION_ID]: reportExtensionSchema }),
});
export type StixReport = z.infer<typeof reportSchemaStix>;

const indicatorSchemaStix = z.strictObject({
  ...common('indicator'),
  created_by_ref: stixIdOf('identity'),
  name: text(256),
  description: z.string().min(1).optional(),
  pattern: z.string().min(1),
  pattern_type: z.literal('stix'),
  valid_from: stixTimestampSchema,
  valid_until: stixTimestampSchema.optional(),
  object_marking_refs: markingRefs,
});
export type StixIndicator = z.infer<typeof indicatorSchemaStix>;

const observedDataSchema = z.strictObject({
  ...common('observed-data'),
  created_by_ref: stixIdOf('identity'),
  first_observed: stixTimestampSchema,
  last_observed: stixTimestampSchema,
  number_observed: z.number().int().min(1),
  object_refs: z.array(stixRefSchema).length(1),
  object_marking_refs: markingRefs,
});

const relationshipSchema = z.strictObject({
  ...common('relationship'),
  created_by_ref: stixIdOf('identity'),
  relationship_type: z.literal('based-on'),
  source_ref: stixIdOf('indicator'),
  target_ref: stixIdOf('observed-data'),
  object_marking_refs: markingRefs,
});
export type StixRelationship = z.infer<typeof relationshipSchema>;

/** Every STIX type the import understands, with its strict schema. */
export const objectSchemas = {
  'marking-definition': markingDefinitionSchema,
  identity: identitySchema,
  'extension-definition': extensionDefinitionSchema,
  report: reportSchemaStix,
  indicator: indicatorSchemaStix,
  'observed-data': observedDataSchema,
  relationship: relationshipSchema,
  ...scoSchemas,
} as const;

/** A bundle: `objects` are checked one by one, so that each problem names its object. */
export const bundleSchema = z.strictObject({
  type: z.literal('bundle'),
  id: stixIdOf('bundle'),
  objects: z.array(z.unknown()).min(1),
});
