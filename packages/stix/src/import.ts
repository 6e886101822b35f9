import { validateReport } from '@mosaic/contract';
import type { Report, SchemaIssue, Tlp } from '@mosaic/contract';
import { canonicalJson } from '@mosaic/audit-log';
import { ErrorCode, MosaicError, isMosaicError } from '@mosaic/errors';
import type { z } from 'zod';
import {
  MOSAIC_EXTENSION_ID,
  MOSAIC_IDENTITY_ID,
  credibilityOfConfidence,
  tlpMarkingDefinition,
  tlpOfMarking,
} from './constants.ts';
import { indicatorOf, patternOf } from './observables.ts';
import { provenanceKid } from './provenance.ts';
import { bundleSchema, objectSchemas, scoSchemas } from './schemas.ts';
import type {
  ScoType,
  HandlingMarking,
  StixIndicator,
  StixRelationship,
  StixReport,
} from './schemas.ts';

/** Why one object of a bundle cannot be imported. */
export interface StixProblem {
  code: ErrorCode;
  /** The object's id, or `objects[<index>]` when it has no usable id. */
  objectId: string;
  message: string;
  issues?: SchemaIssue[];
}

/** A report read back from STIX, unsigned, with the originator's JWS when the bundle has it. */
export interface ImportedReport {
  report: Report;
  /** The id of the STIX `report` object it was read from (versions share one id). */
  objectId: string;
  provenance?: { jws: string; kid: string };
}

/** All reports of the bundle, or every problem found: never a part of the bundle. */
export type ImportResult =
  { ok: true; reports: ImportedReport[] } | { ok: false; problems: StixProblem[] };

type Known = { type: string; id: string } & Record<string, unknown>;
type ObjectType = keyof typeof objectSchemas;
type Parsed = { [K in ObjectType]: z.infer<(typeof objectSchemas)[K]> };

/** The type part of a STIX id. */
const typeOfId = (id: string): string => id.slice(0, id.indexOf('--'));

const isObjectType = (type: string): type is ObjectType => Object.hasOwn(objectSchemas, type);
const isScoType = (type: string): type is ScoType => Object.hasOwn(scoSchemas, type);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function issuesOf(error: z.ZodError): SchemaIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    code: issue.code,
    message: issue.message,
  }));
}

/** Reads and checks every object on its own, so that each problem names its object. */
function readObjects(objects: readonly unknown[], problems: StixProblem[]): Known[] {
  const read: Known[] = [];
  const seen = new Map<string, Record<string, unknown>>();
  objects.forEach((object, index) => {
    const record =
      typeof object === 'object' && object !== null && !Array.isArray(object)
        ? (object as Record<string, unknown>)
        : undefined;
    const type = record?.['type'];
    const id = record?.['id'];
    const name = typeof id === 'string' ? id : `objects[${index}]`;
    if (record === undefined || typeof type !== 'string' || typeof id !== 'string') {
      problems.push({
        code: ErrorCode.StixInvalid,
        objectId: name,
        message: 'is not a STIX object with a string type and id',
      });
      return;
    }
    const [idType, uuid, extra] = id.split('--');
    if (idType !== type || uuid === undefined || !UUID.test(uuid) || extra !== undefined) {
      problems.push({
        code: ErrorCode.StixInvalid,
        objectId: name,
        message: `its id is not ${type}--<uuid> in lower case`,
      });
      return;
    }
    if (!isObjectType(type)) {
      problems.push({
        code: ErrorCode.StixUnmappable,
        objectId: id,
        message: `Mosaic has no mapping for objects of type ${type}`,
      });
      return;
    }
    const parsed = objectSchemas[type].safeParse(record);
    if (!parsed.success) {
      problems.push({
        code: ErrorCode.StixInvalid,
        objectId: id,
        message: `is not a ${type} as Mosaic's STIX mapping writes it`,
        issues: issuesOf(parsed.error),
      });
      return;
    }
    const key = type === 'report' ? `${id}@${String(record['modified'])}` : id;
    const earlier = seen.get(key);
    if (earlier === undefined) {
      seen.set(key, record);
      read.push(record as Known);
    } else if (canonicalJson(earlier) !== canonicalJson(record))
      problems.push({
        code: ErrorCode.StixInvalid,
        objectId: id,
        message: 'occurs twice with different content',
      });
  });
  return read;
}

/** A report that cannot be mapped: thrown inside one report's mapping, collected per report. */
function refuse(code: ErrorCode, objectId: string, message: string): MosaicError {
  return new MosaicError(code, message, { details: { objectId } });
}

class Bundle {
  readonly #byId = new Map<string, Known>();
  readonly used = new Set<string>();

  constructor(objects: readonly Known[]) {
    for (const object of objects) if (object.type !== 'report') this.#byId.set(object.id, object);
  }

  get<K extends ObjectType>(id: string, type: K, from: string): Parsed[K] {
    const object = this.#byId.get(id);
    if (object === undefined)
      throw refuse(ErrorCode.StixUnmappable, from, `refers to ${id}, which the bundle lacks`);
    if (object.type !== type)
      throw refuse(ErrorCode.StixUnmappable, from, `refers to ${id}, which is no ${type}`);
    this.used.add(id);
    return object as Parsed[K];
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  find(predicate: (object: Known) => boolean): Known[] {
    return [...this.#byId.values()].filter(predicate);
  }
}

function handlingOf(report: StixReport, bundle: Bundle) {
  let tlp: Tlp | undefined;
  let handling: HandlingMarking | undefined;
  for (const ref of report.object_marking_refs) {
    const level = tlpOfMarking(ref);
    if (level !== undefined) {
      if (tlp !== undefined)
        throw refuse(ErrorCode.StixHandling, report.id, 'carries two TLP markings');
      tlp = level;
      if (bundle.has(ref)) bundle.get(ref, 'marking-definition', report.id);
      continue;
    }
    if (!bundle.has(ref))
      throw refuse(
        ErrorCode.StixHandling,
        report.id,
        `carries the marking ${ref}, which is neither TLP 2.0 nor defined in the bundle`,
      );
    const marking = bundle.get(ref, 'marking-definition', report.id);
    if (!('created_by_ref' in marking))
      throw refuse(
        ErrorCode.StixHandling,
        report.id,
        `carries the marking ${ref}, which Mosaic cannot map`,
      );
    if (handling !== undefined)
      throw refuse(ErrorCode.StixHandling, report.id, 'carries two Mosaic handling markings');
    handling = marking;
  }
  if (tlp === undefined)
    throw refuse(ErrorCode.StixHandling, report.id, 'carries no TLP 2.0 marking');
  const extension = handling?.extensions[MOSAIC_EXTENSION_ID];
  return {
    tlp,
    releasableTo: extension?.releasable_to,
    notReleasableTo: extension?.not_releasable_to,
  };
}

function indicatorFrom(
  indicator: StixIndicator,
  report: StixReport,
  bundle: Bundle,
  reached: Set<string>,
) {
  const relationships = bundle.find(
    (object) =>
      object.type === 'relationship' && (object as StixRelationship).source_ref === indicator.id,
  ) as StixRelationship[];
  const relationship = relationships[0];
  if (relationship === undefined || relationships.length > 1)
    throw refuse(
      ErrorCode.StixUnmappable,
      indicator.id,
      'needs exactly one based-on relationship to its observed-data',
    );
  bundle.used.add(relationship.id);
  const observed = bundle.get(relationship.target_ref, 'observed-data', relationship.id);
  const [scoId = ''] = observed.object_refs;
  const scoType = typeOfId(scoId);
  if (!isScoType(scoType))
    throw refuse(
      ErrorCode.StixUnmappable,
      observed.id,
      `observes ${scoId}, which Mosaic cannot map`,
    );
  const sco = bundle.get(scoId, scoType, observed.id);
  if (indicator.pattern !== patternOf(sco))
    throw refuse(
      ErrorCode.StixUnmappable,
      indicator.id,
      `its pattern is not the pattern of the observable ${scoId}`,
    );
  for (const id of [indicator.id, relationship.id, observed.id, sco.id]) reached.add(id);
  if (
    sco.type === 'cryptocurrency-wallet' &&
    sco.extensions[MOSAIC_EXTENSION_ID].network === undefined
  )
    throw refuse(ErrorCode.StixUnmappable, sco.id, 'a wallet needs its network');
  const extension = report.extensions[MOSAIC_EXTENSION_ID];
  if (
    indicator.valid_from !== (extension.valid_from ?? report.published) ||
    indicator.valid_until !== extension.valid_until
  )
    throw refuse(ErrorCode.StixUnmappable, indicator.id, "its validity is not its report's");
  return {
    ...indicatorOf(sco),
    ...(indicator.description === undefined ? {} : { note: indicator.description }),
  };
}

function reportFrom(report: StixReport, bundle: Bundle): ImportedReport {
  const extension = report.extensions[MOSAIC_EXTENSION_ID];
  const identity = bundle.get(report.created_by_ref, 'identity', report.id);
  if (identity.identity_class !== 'organization')
    throw refuse(ErrorCode.StixUnmappable, report.id, 'its author is not an organization');
  if ((report.revoked === true) !== (extension.retracts !== undefined))
    throw refuse(
      ErrorCode.StixUnmappable,
      report.id,
      'is revoked without naming the report it retracts, or retracts one without being revoked',
    );
  const handling = handlingOf(report, bundle);
  const indicators = [];
  const reached = new Set([report.created_by_ref]);
  for (const ref of report.object_refs)
    if (typeOfId(ref) === 'indicator')
      indicators.push(
        indicatorFrom(bundle.get(ref, 'indicator', report.id), report, bundle, reached),
      );
  for (const ref of report.object_refs)
    if (!reached.has(ref))
      throw refuse(
        ErrorCode.StixUnmappable,
        report.id,
        `lists ${ref}, which is neither its author nor reached from one of its indicators`,
      );
  const lineage = {
    supersedes: extension.supersedes,
    retracts: extension.retracts,
    relatesTo: extension.relates_to,
  };
  const draft = {
    schemaVersion: extension.schema_version,
    reportId: extension.report_id,
    issuer: identity.name,
    issuedAt: report.published,
    origin: extension.origin,
    jurisdictions: extension.jurisdictions,
    category: extension.category,
    indicators,
    narrative: report.description,
    grading: {
      sourceReliability: extension.source_reliability,
      informationCredibility: credibilityOfConfidence(report.confidence),
      confidence: extension.analyst_confidence,
    },
    handling: { ...handling, validFrom: extension.valid_from, validUntil: extension.valid_until },
    ...(Object.values(lineage).some((value) => value !== undefined) ? { lineage } : {}),
  };
  let mapped: Report;
  try {
    mapped = validateReport(JSON.parse(JSON.stringify(draft)));
  } catch (err) {
    if (!isMosaicError(err)) throw err;
    throw new MosaicError(err.code, `does not map to a valid report: ${err.message}`, {
      details: {
        objectId: report.id,
        issues: (err.details as { issues?: unknown } | undefined)?.issues,
      },
    });
  }
  const provenance = extension.provenance;
  if (provenance !== undefined && provenanceKid(provenance.jws, mapped) !== provenance.kid)
    throw refuse(
      ErrorCode.StixProvenance,
      report.id,
      'its provenance names another key than its JWS',
    );
  return provenance === undefined
    ? { report: mapped, objectId: report.id }
    : { report: mapped, objectId: report.id, provenance };
}

function problemOf(err: MosaicError, fallbackId: string): StixProblem {
  const details = (err.details ?? {}) as { objectId?: unknown; issues?: unknown };
  const objectId = typeof details.objectId === 'string' ? details.objectId : fallbackId;
  return Array.isArray(details.issues)
    ? { code: err.code, objectId, message: err.message, issues: details.issues as SchemaIssue[] }
    : { code: err.code, objectId, message: err.message };
}

/**
 * Maps a STIX 2.1 bundle (parsed JSON) back to unsigned Mosaic reports, one per `report`
 * object (each version of a superseded report is its own report). All or nothing: any
 * object that is malformed (ERR_STIX_INVALID), cannot be mapped or belongs to no report
 * (ERR_STIX_UNMAPPABLE), carries a marking Mosaic cannot keep (ERR_STIX_HANDLING) or a
 * provenance JWS of another report (ERR_STIX_PROVENANCE) is a problem naming its object,
 * and then no report is returned.
 *
 * @example
 * ```ts
 * const result = bundleToReports(JSON.parse(text));
 * if (!result.ok) for (const p of result.problems) process.stderr.write(`${p.code} ${p.objectId}: ${p.message}\n`);
 * ```
 */
export function bundleToReports(input: unknown): ImportResult {
  const envelope = bundleSchema.safeParse(input);
  if (!envelope.success) {
    const id = (input as { id?: unknown } | null)?.id;
    return {
      ok: false,
      problems: [
        {
          code: ErrorCode.StixInvalid,
          objectId: typeof id === 'string' ? id : 'bundle',
          message: 'is not a STIX 2.1 bundle of objects',
          issues: issuesOf(envelope.error),
        },
      ],
    };
  }
  const problems: StixProblem[] = [];
  const objects = readObjects(envelope.data.objects, problems);
  if (problems.length > 0) return { ok: false, problems };
  const bundle = new Bundle(objects);
  for (const object of objects) {
    const level = object.type === 'marking-definition' ? tlpOfMarking(object.id) : undefined;
    if (level !== undefined) {
      const official = tlpMarkingDefinition(level);
      if (canonicalJson(object) !== canonicalJson(official))
        problems.push({
          code: ErrorCode.StixHandling,
          objectId: object.id,
          message: 'has a TLP 2.0 id but is not the official TLP 2.0 marking definition',
        });
    } else if (object.type === 'extension-definition' && object.id !== MOSAIC_EXTENSION_ID)
      problems.push({
        code: ErrorCode.StixUnmappable,
        objectId: object.id,
        message: 'is an extension Mosaic does not know',
      });
  }
  // A report's own objects are its, even when it cannot be mapped: one problem, not one per object.
  for (const object of objects)
    if (object.type === 'report') {
      const { object_refs, object_marking_refs, created_by_ref } = object as StixReport;
      for (const id of [...object_refs, ...object_marking_refs, created_by_ref])
        bundle.used.add(id);
    }
  const reports: ImportedReport[] = [];
  for (const object of objects) {
    if (object.type !== 'report') continue;
    try {
      reports.push(reportFrom(object as StixReport, bundle));
    } catch (err) {
      if (!isMosaicError(err)) throw err;
      problems.push(problemOf(err, object.id));
    }
  }
  const free = new Set([MOSAIC_IDENTITY_ID, MOSAIC_EXTENSION_ID]);
  for (const object of objects)
    if (
      object.type !== 'report' &&
      !bundle.used.has(object.id) &&
      !free.has(object.id) &&
      tlpOfMarking(object.id) === undefined
    )
      problems.push({
        code: ErrorCode.StixUnmappable,
        objectId: object.id,
        message: 'belongs to no report in the bundle',
      });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, reports };
}
