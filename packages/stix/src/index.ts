export { reportsToBundle, agencyIdentityId } from './export.ts';
export type { ExportInput, ExportOptions, StixBundle, StixObject, StixVersion } from './export.ts';
export { bundleToReports } from './import.ts';
export type { ImportResult, ImportedReport, StixProblem } from './import.ts';
export {
  MOSAIC_EXTENSION_ID,
  MOSAIC_IDENTITY_ID,
  TLP_EXTENSION_ID,
  TLP_MARKING_IDS,
  CREDIBILITY_TO_CONFIDENCE,
  credibilityOfConfidence,
  tlpMarkingDefinition,
} from './constants.ts';
export { derivedId } from './ids.ts';
export { generateStixExtensionJsonSchema, STIX_EXTENSION_JSON_SCHEMA_ID } from './json-schema.ts';
export {
  reportToMispEvent,
  reportsToMispFeed,
  mispEventUuid,
  mispManifestEntry,
  mispHashLines,
  MISP_TLP_TAGS,
  MISP_DISTRIBUTION_ORGANISATION,
} from './misp.ts';
export type { MispAttribute, MispEventFile, MispFeed, MispManifestEntry, MispTag } from './misp.ts';
