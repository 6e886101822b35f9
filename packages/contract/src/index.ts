export { parseJson, DEFAULT_JSON_LIMITS } from './parse-json.ts';
export type { JsonLimits } from './parse-json.ts';
export { parseReport, validateReport } from './validate.ts';
export type { SchemaIssue } from './validate.ts';
export {
  reportSchema,
  REPORT_SCHEMA_VERSION,
  Tlp,
  Category,
  SourceReliability,
  MAX_INDICATORS,
  MAX_JURISDICTIONS,
  MAX_NARRATIVE,
} from './report-schema.ts';
export type { Report } from './report-schema.ts';
export {
  indicatorSchema,
  IndicatorType,
  PersonRole,
  Gender,
  DocumentType,
  LocationRole,
} from './indicators.ts';
export type { Indicator } from './indicators.ts';
export {
  agencyIdSchema,
  jurisdictionSchema,
  jurisdictionGroupSchema,
  countryCodeSchema,
  uuidSchema,
  timestampSchema,
} from './primitives.ts';
export type { AgencyId, Jurisdiction } from './primitives.ts';
export { isIsoCountry, ISO_3166_ALPHA2 } from './countries.ts';
export type { IsoCountry } from './countries.ts';
export { isValidIban, ibanCheckDigits, IBAN_LENGTHS } from './iban.ts';
export { isValidImo, imoCheckDigit, isValidMmsi } from './maritime.ts';
export { isValidCryptoAddress, CryptoNetwork } from './crypto-address.ts';
export {
  assertSafeIdentifier,
  assertReportIdentifiersSafe,
  assertReportTextSafe,
  findUnsafeCharacter,
  findUnsafeTextCharacter,
  hasUnsafeCharacters,
} from './unsafe-characters.ts';
export type {
  UnsafeCharacter,
  UnsafeTextCharacter,
  UnsafeTextReason,
} from './unsafe-characters.ts';
export { isSubjectToken, assertSubjectToken } from './subject-token.ts';
export { generateReportJsonSchema, REPORT_JSON_SCHEMA_ID } from './json-schema.ts';
export { E164_PATTERN } from './patterns.ts';
