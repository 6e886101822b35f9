import { Tlp } from '@mosaic/contract';
import type { Report } from '@mosaic/contract';
import { canonicalJson } from '@mosaic/audit-log';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import {
  CREDIBILITY_TO_CONFIDENCE,
  FIXED_OBJECTS_TIME,
  MOSAIC_EXTENSION_ID,
  MOSAIC_EXTENSION_SCHEMA_URL,
  MOSAIC_IDENTITY_ID,
  TLP_MARKING_IDS,
  tlpMarkingDefinition,
} from './constants.ts';
import { derivedId, randomId } from './ids.ts';
import { deterministicScoId, patternOf, scoOf } from './observables.ts';
import { provenanceKid } from './provenance.ts';
import type { ReportExtension } from './schemas.ts';

/** A STIX 2.1 object as the export writes it. */
export type StixObject = { type: string; id: string } & Record<string, unknown>;

/** A STIX 2.1 bundle. */
export interface StixBundle {
  type: 'bundle';
  id: string;
  objects: StixObject[];
}

/** A report to export, with the originator's compact JWS of it when there is one. */
export interface ExportInput {
  report: Report;
  /** The compact JWS the originator signed; carried as provenance with its key id. */
  jws?: string;
}

/** The STIX object an earlier report was exported as: its id and first `created`. */
export interface StixVersion {
  id: string;
  created: string;
}

/** Options of {@link reportsToBundle}. */
export interface ExportOptions {
  /**
   * The STIX object of a report that a superseding or retracting report refers to and that is
   * not in the same export (e.g. looked up in the store it was exported from). A report in
   * the same export is found without it.
   */
  previousVersion?: (issuer: string, reportId: string) => StixVersion | undefined;
  /**
   * What a supersede or retraction becomes when it cannot be a version of its earlier
   * report — that report is found nowhere, or it is not issued after it: `'refuse'` (the
   * default) fails with ERR_STIX_LINEAGE; `'first-version'` makes it the first version of
   * its own STIX object, for a reader that must serve whatever it holds (a TAXII collection
   * of what one agency received, which may lack the start of a chain).
   */
  unlinkable?: 'refuse' | 'first-version';
}

const millis = (timestamp: string): string => new Date(timestamp).toISOString();

/** The id of the identity that stands for an agency: derived from its (public) agency id. */
export function agencyIdentityId(agency: string): string {
  return derivedId('identity', `agency:${agency}`);
}

function agencyIdentity(agency: string): StixObject {
  return {
    type: 'identity',
    spec_version: '2.1',
    id: agencyIdentityId(agency),
    created: FIXED_OBJECTS_TIME,
    modified: FIXED_OBJECTS_TIME,
    name: agency,
    identity_class: 'organization',
    object_marking_refs: [TLP_MARKING_IDS[Tlp.Clear]],
  };
}

/** The identity that publishes the Mosaic extension definition. */
function mosaicIdentity(): StixObject {
  return {
    type: 'identity',
    spec_version: '2.1',
    id: MOSAIC_IDENTITY_ID,
    created: FIXED_OBJECTS_TIME,
    modified: FIXED_OBJECTS_TIME,
    name: 'Mosaic',
    identity_class: 'system',
    object_marking_refs: [TLP_MARKING_IDS[Tlp.Clear]],
  };
}

/** The Mosaic extension definition object. */
function mosaicExtensionDefinition(): StixObject {
  return {
    type: 'extension-definition',
    spec_version: '2.1',
    id: MOSAIC_EXTENSION_ID,
    created: FIXED_OBJECTS_TIME,
    modified: FIXED_OBJECTS_TIME,
    created_by_ref: MOSAIC_IDENTITY_ID,
    name: 'Mosaic indicator report',
    description:
      'Observables of human-trafficking indicator reports (x-mosaic-* types) and the properties of Mosaic reports, handling markings and observables that STIX 2.1 has no property for.',
    schema: MOSAIC_EXTENSION_SCHEMA_URL,
    version: '1.0',
    extension_types: ['new-sco', 'property-extension'],
    object_marking_refs: [TLP_MARKING_IDS[Tlp.Clear]],
  };
}

/** The one-to-one STIX versions of a batch of reports, following supersedes and retractions. */
function versionResolver(reports: readonly Report[], options: ExportOptions) {
  const byKey = new Map(reports.map((r) => [`${r.issuer}/${r.reportId}`, r]));
  const resolved = new Map<string, StixVersion>();
  const resolving = new Set<string>();
  const versionOf = (report: Report): StixVersion => {
    const key = `${report.issuer}/${report.reportId}`;
    const known = resolved.get(key);
    if (known !== undefined) return known;
    if (resolving.has(key) && options.unlinkable === 'first-version')
      return { id: derivedId('report', key), created: millis(report.issuedAt) };
    if (resolving.has(key))
      throw new MosaicError(ErrorCode.StixLineage, `the lineage of ${key} is a cycle`, {
        details: { report: key },
      });
    resolving.add(key);
    const earlier = report.lineage?.supersedes?.[0] ?? report.lineage?.retracts;
    let version: StixVersion | undefined;
    if (earlier === undefined)
      version = { id: derivedId('report', key), created: millis(report.issuedAt) };
    else {
      const inBatch = byKey.get(`${report.issuer}/${earlier}`);
      version =
        inBatch === undefined
          ? options.previousVersion?.(report.issuer, earlier)
          : versionOf(inBatch);
      const own = { id: derivedId('report', key), created: millis(report.issuedAt) };
      const lenient = options.unlinkable === 'first-version';
      if (version === undefined && lenient) version = own;
      else if (version === undefined)
        throw new MosaicError(
          ErrorCode.StixLineage,
          `${key} refers to ${report.issuer}/${earlier}, whose STIX object is neither in this export nor known to previousVersion`,
          { details: { report: key, refersTo: `${report.issuer}/${earlier}` } },
        );
      else if (!(Date.parse(report.issuedAt) > Date.parse(version.created)) && lenient)
        version = own;
      else if (!(Date.parse(report.issuedAt) > Date.parse(version.created)))
        throw new MosaicError(
          ErrorCode.StixLineage,
          `${key} is not issued after ${report.issuer}/${earlier}, so it cannot be a newer version of it`,
          { details: { report: key, refersTo: `${report.issuer}/${earlier}` } },
        );
    }
    resolving.delete(key);
    resolved.set(key, version);
    return version;
  };
  return versionOf;
}

function withoutMarkings(object: StixObject): string {
  const rest: Record<string, unknown> = { ...object };
  delete rest['object_marking_refs'];
  return canonicalJson(rest);
}

/** The objects of a bundle, one per id (one per id and `modified` for versioned reports). */
class ObjectSet {
  readonly #objects = new Map<string, StixObject>();

  #key(object: StixObject): string {
    return object.type === 'report' ? `${object.id}@${String(object['modified'])}` : object.id;
  }

  add(object: StixObject): void {
    const key = this.#key(object);
    const present = this.#objects.get(key);
    if (present === undefined) {
      this.#objects.set(key, object);
      return;
    }
    if (canonicalJson(present) === canonicalJson(object)) return;
    if (object.type === 'report')
      throw new MosaicError(
        ErrorCode.StixLineage,
        `two reports in this export are the same version of ${object.id}`,
        { details: { objectId: object.id, modified: object['modified'] } },
      );
    // The same observable in two reports: all markings of both apply to it.
    const markings = new Set([
      ...(present['object_marking_refs'] as string[]),
      ...(object['object_marking_refs'] as string[]),
    ]);
    present['object_marking_refs'] = [...markings];
  }

  /** Adds a fixed object (a TLP definition, an agency) unless its id is there already. */
  addFixed(id: string, make: () => StixObject): void {
    if (!this.#objects.has(id)) this.add(make());
  }

  /** True when `id` is taken by an observable other than `object` (markings aside). */
  conflicts(object: StixObject): boolean {
    const present = this.#objects.get(object.id);
    return present !== undefined && withoutMarkings(present) !== withoutMarkings(object);
  }

  values(): StixObject[] {
    return [...this.#objects.values()];
  }
}

function handlingMarking(report: Report, tlpId: string): StixObject | undefined {
  const { releasableTo, notReleasableTo } = report.handling;
  if (releasableTo === undefined && notReleasableTo === undefined) return undefined;
  const key = `${report.issuer}/${report.reportId}`;
  return {
    type: 'marking-definition',
    spec_version: '2.1',
    id: derivedId('marking-definition', `handling:${key}`),
    created: millis(report.issuedAt),
    created_by_ref: agencyIdentityId(report.issuer),
    name: `Mosaic handling of ${key}`,
    object_marking_refs: [tlpId],
    extensions: {
      [MOSAIC_EXTENSION_ID]: {
        extension_type: 'property-extension',
        releasable_to: releasableTo,
        not_releasable_to: notReleasableTo,
      },
    },
  };
}

function reportExtension(report: Report, jws: string | undefined): ReportExtension {
  const { lineage, handling, grading } = report;
  return {
    extension_type: 'property-extension',
    schema_version: report.schemaVersion,
    report_id: report.reportId,
    origin: report.origin,
    jurisdictions: report.jurisdictions,
    category: report.category,
    source_reliability: grading.sourceReliability,
    analyst_confidence: grading.confidence,
    valid_from: handling.validFrom,
    valid_until: handling.validUntil,
    supersedes: lineage?.supersedes,
    retracts: lineage?.retracts,
    relates_to: lineage?.relatesTo,
    provenance: jws === undefined ? undefined : { jws, kid: provenanceKid(jws, report) },
  };
}

function exportOne({ report, jws }: ExportInput, version: StixVersion, objects: ObjectSet): void {
  const key = `${report.issuer}/${report.reportId}`;
  const issued = millis(report.issuedAt);
  const creator = agencyIdentityId(report.issuer);
  const tlp = report.handling.tlp;
  objects.addFixed(TLP_MARKING_IDS[tlp], () => tlpMarkingDefinition(tlp));
  objects.addFixed(creator, () => agencyIdentity(report.issuer));
  const handling = handlingMarking(report, TLP_MARKING_IDS[tlp]);
  if (handling !== undefined) objects.add(handling);
  const markings = [TLP_MARKING_IDS[tlp], ...(handling === undefined ? [] : [handling.id])];
  const validFrom = report.handling.validFrom ?? report.issuedAt;
  const validUntil = report.handling.validUntil;
  if (validUntil !== undefined && !(Date.parse(validUntil) > Date.parse(validFrom)))
    throw new MosaicError(
      ErrorCode.StixUnmappable,
      `${key}: its validity ends before it starts (validUntil before issuedAt), which a STIX indicator cannot express`,
      { details: { report: key } },
    );
  // Public content may use the spec's deterministic observable ids; anything else would leak
  // its selectors through a hash anyone can recompute from a guess.
  const publicContent = tlp === Tlp.Clear || tlp === Tlp.Green;
  const refs: string[] = [];
  report.indicators.forEach((indicator, index) => {
    const body = scoOf(indicator);
    let sco: StixObject = {
      ...body,
      spec_version: '2.1',
      // Otherwise named like the indicator: by report, not by selector, and the same on every export.
      id: publicContent ? deterministicScoId(body) : derivedId(body.type, `${key}/${index}`),
      object_marking_refs: markings,
    };
    if (objects.conflicts(sco)) sco = { ...sco, id: derivedId(body.type, `${key}/${index}`) };
    const indicatorId = derivedId('indicator', `${key}/${index}`);
    const observedId = derivedId('observed-data', `${key}/${index}`);
    const relationshipId = derivedId('relationship', `${key}/${index}`);
    const stamps = { created: issued, modified: issued, created_by_ref: creator };
    objects.add({
      type: 'indicator',
      spec_version: '2.1',
      id: indicatorId,
      ...stamps,
      name: `${indicator.type} in ${key}`,
      ...(indicator.note === undefined ? {} : { description: indicator.note }),
      pattern: patternOf(body),
      pattern_type: 'stix',
      valid_from: validFrom,
      ...(validUntil === undefined ? {} : { valid_until: validUntil }),
      object_marking_refs: markings,
    });
    objects.add({
      type: 'observed-data',
      spec_version: '2.1',
      id: observedId,
      ...stamps,
      first_observed: report.issuedAt,
      last_observed: report.issuedAt,
      number_observed: 1,
      object_refs: [sco.id],
      object_marking_refs: markings,
    });
    objects.add({
      type: 'relationship',
      spec_version: '2.1',
      id: relationshipId,
      ...stamps,
      relationship_type: 'based-on',
      source_ref: indicatorId,
      target_ref: observedId,
      object_marking_refs: markings,
    });
    objects.add(sco);
    refs.push(indicatorId, observedId, relationshipId, sco.id);
  });
  const confidence = CREDIBILITY_TO_CONFIDENCE[report.grading.informationCredibility];
  objects.add({
    type: 'report',
    spec_version: '2.1',
    id: version.id,
    created: version.created,
    modified: issued,
    created_by_ref: creator,
    name: `Mosaic ${report.category} report ${key}`,
    description: report.narrative,
    published: report.issuedAt,
    report_types: ['threat-report'],
    ...(confidence === undefined ? {} : { confidence }),
    // A report with no indicator (a retraction) still needs one reference: its author.
    object_refs: refs.length === 0 ? [creator] : refs,
    ...(report.lineage?.retracts === undefined ? {} : { revoked: true }),
    object_marking_refs: markings,
    extensions: {
      [MOSAIC_EXTENSION_ID]: JSON.parse(JSON.stringify(reportExtension(report, jws))) as object,
    },
  });
}

/**
 * Maps signed Mosaic reports to one STIX 2.1 bundle (see docs/stix.md): per report a
 * `report`, and per indicator an `indicator`, an `observed-data`, the `based-on` relationship
 * between them and the observable; the agencies as `identity`, the official TLP 2.0 marking
 * definitions, one handling marking per report with release restrictions, and the Mosaic
 * extension definition. A report that supersedes or retracts another becomes a new version
 * of that report's STIX object. Throws ERR_STIX_LINEAGE, ERR_STIX_PROVENANCE or
 * ERR_STIX_UNMAPPABLE rather than writing a bundle that loses something.
 *
 * @example
 * ```ts
 * const bundle = reportsToBundle([{ report, jws }]);
 * process.stdout.write(JSON.stringify(bundle));
 * ```
 */
export function reportsToBundle(
  inputs: readonly ExportInput[],
  options: ExportOptions = {},
): StixBundle {
  const objects = new ObjectSet();
  objects.add(tlpMarkingDefinition(Tlp.Clear));
  objects.add(mosaicIdentity());
  objects.add(mosaicExtensionDefinition());
  const versionOf = versionResolver(
    inputs.map((input) => input.report),
    options,
  );
  for (const input of inputs) exportOne(input, versionOf(input.report), objects);
  return { type: 'bundle', id: randomId('bundle'), objects: objects.values() };
}
