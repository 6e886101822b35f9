import { createHash } from 'node:crypto';
import { Tlp, type Indicator, type Report } from '@mosaic/contract';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import type { ExportInput } from './export.ts';
import { uuidV5 } from './ids.ts';
import { provenanceKid } from './provenance.ts';

/** Mosaic's namespace for the uuids of MISP events and attributes (named by issuer and report id). */
const MISP_NAMESPACE = 'b3b0c3a4-7d1e-5f5c-9a52-3f4e2c8d6a10';

/** MISP's `distribution` "Your organisation only": the receiving MISP shares it with nobody. */
export const MISP_DISTRIBUTION_ORGANISATION = '0';
/** An attribute's `distribution` "Inherit event". */
const INHERIT = '5';
/** MISP's `analysis` "Completed": a signed report is final; a change is a new report. */
const ANALYSIS_COMPLETED = '2';
/** MISP's `threat_level_id` "Undefined": Mosaic grades credibility, not threat. */
const THREAT_UNDEFINED = '4';
/** Longest tag name MISP stores. */
const MAX_TAG = 255;

/** TLP 2.0 as the names of MISP's `tlp` taxonomy. */
export const MISP_TLP_TAGS = {
  [Tlp.Clear]: 'tlp:clear',
  [Tlp.Green]: 'tlp:green',
  [Tlp.Amber]: 'tlp:amber',
  [Tlp.AmberStrict]: 'tlp:amber+strict',
  [Tlp.Red]: 'tlp:red',
} as const satisfies Record<Tlp, string>;

const TLP_COLOURS: Record<Tlp, string> = {
  [Tlp.Clear]: '#ffffff',
  [Tlp.Green]: '#33ff00',
  [Tlp.Amber]: '#ffc000',
  [Tlp.AmberStrict]: '#ffc000',
  [Tlp.Red]: '#ff2b2b',
};
const TAG_COLOUR = '#0088cc';

/** A MISP tag. */
export interface MispTag {
  name: string;
  colour: string;
  exportable: boolean;
}

/** A MISP attribute as a feed carries it. */
export interface MispAttribute {
  uuid: string;
  type: string;
  category: string;
  value: string;
  comment: string;
  to_ids: boolean;
  disable_correlation: boolean;
  distribution: string;
  timestamp: string;
  deleted: boolean;
}

/** One event file of a MISP feed (`<uuid>.json`). */
export interface MispEventFile {
  Event: {
    uuid: string;
    info: string;
    date: string;
    timestamp: string;
    publish_timestamp: string;
    published: boolean;
    analysis: string;
    threat_level_id: string;
    distribution: string;
    Orgc: { name: string; uuid: string };
    Tag: MispTag[];
    Attribute: MispAttribute[];
  };
}

/** The entry of an event in a feed's `manifest.json`. */
export interface MispManifestEntry {
  info: string;
  date: string;
  timestamp: string;
  analysis: string;
  threat_level_id: string;
  Orgc: { name: string; uuid: string };
  Tag: { name: string; colour: string }[];
}

/** A MISP feed: `manifest.json`, one `<uuid>.json` per event, `hashes.csv`. */
export interface MispFeed {
  manifest: Record<string, MispManifestEntry>;
  events: MispEventFile[];
  /** `hashes.csv`: `<md5 of an attribute value>,<event uuid>` per line. */
  hashes: string;
}

/** The uuid of a report's MISP event: named by its (public) issuer and report id. */
export function mispEventUuid(issuer: string, reportId: string): string {
  return uuidV5(MISP_NAMESPACE, `event:${issuer}/${reportId}`);
}

/** The uuid of the MISP organisation that stands for an agency. */
function mispOrgUuid(agency: string): string {
  return uuidV5(MISP_NAMESPACE, `org:${agency}`);
}

type Field = [field: string, value: string, type: string, category: string];

/** The MISP attribute type and category of each field of an indicator; the first is its selector. */
function fieldsOf(indicator: Indicator): Field[] {
  const f = (
    field: string,
    value: string | number | undefined,
    type = 'text',
    category = 'Other',
  ) => (value === undefined ? [] : [[field, String(value), type, category] as Field]);
  switch (indicator.type) {
    case 'person':
      return [
        ...f('name', indicator.name, 'text', 'Person'),
        ...f('birthDate', indicator.birthDate, 'date-of-birth', 'Person'),
        ...f('nationality', indicator.nationality, 'nationality', 'Person'),
        ...f('gender', indicator.gender, 'gender', 'Person'),
        ...f('role', indicator.role, 'text', 'Person'),
      ];
    case 'phone':
      return f('number', indicator.number, 'phone-number', 'Person');
    case 'email':
      return f('address', indicator.address, 'email-src', 'Social network');
    case 'online-handle': {
      const typed: Record<string, string> = {
        github: 'github-username',
        twitter: 'twitter-id',
        jabber: 'jabber-id',
      };
      return [
        ...f('handle', indicator.handle, typed[indicator.platform] ?? 'text', 'Social network'),
        ...f('platform', indicator.platform, 'text', 'Social network'),
      ];
    }
    case 'identity-document': {
      const passport = indicator.documentType === 'passport';
      const numberType = passport
        ? 'passport-number'
        : indicator.documentType === 'visa'
          ? 'visa-number'
          : 'identity-card-number';
      return [
        ...f('number', indicator.number, numberType, 'Person'),
        ...f('documentType', indicator.documentType, 'text', 'Person'),
        ...f(
          'issuingCountry',
          indicator.issuingCountry,
          passport ? 'passport-country' : 'text',
          'Person',
        ),
      ];
    }
    case 'vehicle':
      return [
        ...f('plate', indicator.plate),
        ...f('country', indicator.country),
        ...f('make', indicator.make),
        ...f('model', indicator.model),
        ...f('colour', indicator.colour),
      ];
    case 'vessel':
      return [
        ...f('imo', indicator.imo),
        ...f('mmsi', indicator.mmsi),
        ...f('name', indicator.name),
        ...f('flag', indicator.flag),
      ];
    case 'financial-account':
      return [
        ...f('iban', indicator.iban, 'iban', 'Financial fraud'),
        ...f('bic', indicator.bic, 'bic', 'Financial fraud'),
        ...f('holder', indicator.holder, 'text', 'Financial fraud'),
      ];
    case 'crypto-wallet': {
      const typed: Record<string, string> = { bitcoin: 'btc', monero: 'xmr' };
      return [
        ...f('address', indicator.address, typed[indicator.network] ?? 'text', 'Financial fraud'),
        ...f('network', indicator.network, 'text', 'Financial fraud'),
      ];
    }
    case 'location':
      return [
        ...f(
          'coordinates',
          indicator.coordinates === undefined
            ? undefined
            : `${String(indicator.coordinates.lat)},${String(indicator.coordinates.lon)}`,
        ),
        ...f('place.name', indicator.place?.name),
        ...f('place.country', indicator.place?.country),
        ...f('role', indicator.role),
      ];
    case 'organisation':
      return [
        ...f('name', indicator.name, 'text', 'Attribution'),
        ...f('registrationNumber', indicator.registrationNumber, 'text', 'Attribution'),
        ...f('country', indicator.country, 'text', 'Attribution'),
      ];
  }
}

/** A machine tag `mosaic:<predicate>="<value>"`, or ERR_MISP_UNMAPPABLE when MISP cannot hold it. */
function machineTag(key: string, predicate: string, value: string, colour = TAG_COLOUR): MispTag {
  const name = `mosaic:${predicate}="${value}"`;
  let control = false;
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) < 0x20) control = true;
  if (value.includes('"') || control || name.length > MAX_TAG)
    throw new MosaicError(
      ErrorCode.MispUnmappable,
      `${key}: ${predicate} "${value}" cannot be written as a MISP tag, so the feed would drop it`,
      { details: { report: key, predicate } },
    );
  return { name, colour, exportable: true };
}

/** The handling of a report as MISP tags: TLP and every restriction, or ERR_MISP_UNMAPPABLE. */
function handlingTags(report: Report, key: string): MispTag[] {
  const { tlp, releasableTo, notReleasableTo, validFrom, validUntil, ...rest } = report.handling;
  const unknown = Object.keys(rest);
  if (unknown.length > 0)
    throw new MosaicError(
      ErrorCode.MispUnmappable,
      `${key}: the handling field(s) ${unknown.join(', ')} have no MISP form, so the feed would drop them`,
      { details: { report: key, fields: unknown } },
    );
  const tags: MispTag[] = [
    { name: MISP_TLP_TAGS[tlp], colour: TLP_COLOURS[tlp], exportable: true },
  ];
  const lists = [
    ['releasable-to', releasableTo],
    ['not-releasable-to', notReleasableTo],
  ] as const;
  for (const [predicate, list] of lists) {
    if (list === undefined) continue;
    const { jurisdictions, agencies, ...more } = list;
    if (Object.keys(more).length > 0)
      throw new MosaicError(
        ErrorCode.MispUnmappable,
        `${key}: ${predicate} names ${Object.keys(more).join(', ')}, which the feed cannot carry`,
        { details: { report: key, fields: Object.keys(more) } },
      );
    for (const j of jurisdictions ?? [])
      tags.push(machineTag(key, `${predicate}-jurisdiction`, j, '#ff2b2b'));
    for (const a of agencies ?? []) tags.push(machineTag(key, `${predicate}-agency`, a, '#ff2b2b'));
  }
  if (validFrom !== undefined) tags.push(machineTag(key, 'valid-from', validFrom));
  if (validUntil !== undefined) tags.push(machineTag(key, 'valid-until', validUntil));
  return tags;
}

const seconds = (timestamp: string): string => String(Math.floor(Date.parse(timestamp) / 1000));

/**
 * One report as a MISP event (see docs/misp.md): the event named by issuer and report id,
 * `distribution` 0 ("your organisation only", never "all communities"), TLP as the `tlp`
 * taxonomy (`tlp:amber+strict` included), every release restriction and the validity as
 * `mosaic:` machine tags, the Admiralty grading as the `admiralty-scale` taxonomy, and one
 * attribute per indicator field; the originator's JWS and key id as provenance. Throws
 * ERR_MISP_UNMAPPABLE rather than write an event that loses a restriction.
 *
 * @example
 * ```ts
 * const event = reportToMispEvent({ report, jws });
 * await writeFile(`${event.Event.uuid}.json`, JSON.stringify(event));
 * ```
 */
export function reportToMispEvent({ report, jws }: ExportInput): MispEventFile {
  const key = `${report.issuer}/${report.reportId}`;
  const uuid = mispEventUuid(report.issuer, report.reportId);
  const timestamp = seconds(report.issuedAt);
  const tags: MispTag[] = [
    ...handlingTags(report, key),
    {
      name: `admiralty-scale:source-reliability="${report.grading.sourceReliability.toLowerCase()}"`,
      colour: TAG_COLOUR,
      exportable: true,
    },
    {
      name: `admiralty-scale:information-credibility="${String(report.grading.informationCredibility)}"`,
      colour: TAG_COLOUR,
      exportable: true,
    },
    machineTag(key, 'confidence', String(report.grading.confidence)),
    machineTag(key, 'issuer', report.issuer),
    machineTag(key, 'report-id', report.reportId),
    machineTag(key, 'category', report.category),
    machineTag(key, 'origin', report.origin),
    ...report.jurisdictions.map((j) => machineTag(key, 'jurisdiction', j)),
    ...(report.lineage?.supersedes ?? []).map((id) => machineTag(key, 'supersedes', id)),
    ...(report.lineage?.retracts === undefined
      ? []
      : [machineTag(key, 'retracts', report.lineage.retracts)]),
    ...(report.lineage?.relatesTo ?? []).map((id) => machineTag(key, 'relates-to', id)),
  ];
  const attribute = (
    path: string,
    value: string,
    type: string,
    category: string,
    comment: string,
    selector: boolean,
  ): MispAttribute => ({
    uuid: uuidV5(MISP_NAMESPACE, `attribute:${key}/${path}`),
    type,
    category,
    value,
    comment,
    to_ids: false,
    // Correlation across events is the receiving MISP's work on selectors only.
    disable_correlation: !selector,
    distribution: INHERIT,
    timestamp,
    deleted: false,
  });
  const attributes: MispAttribute[] = [
    attribute('narrative', report.narrative, 'text', 'Other', 'narrative', false),
  ];
  report.indicators.forEach((indicator, index) => {
    fieldsOf(indicator).forEach(([field, value, type, category], n) => {
      attributes.push(
        attribute(
          `indicators/${String(index)}/${field}`,
          value,
          type,
          category,
          `indicator ${String(index)} (${indicator.type}) ${field}`,
          n === 0,
        ),
      );
    });
    if (indicator.note !== undefined)
      attributes.push(
        attribute(
          `indicators/${String(index)}/note`,
          indicator.note,
          'comment',
          'Other',
          `indicator ${String(index)} (${indicator.type}) note`,
          false,
        ),
      );
  });
  if (jws !== undefined) {
    const kid = provenanceKid(jws, report);
    tags.push(machineTag(key, 'provenance-kid', kid));
    attributes.push(
      attribute(
        'provenance',
        jws,
        'text',
        'Internal reference',
        `provenance: the originator's compact JWS of this report (kid ${kid}); verify it with the key in the federation registry`,
        false,
      ),
    );
  }
  return {
    Event: {
      uuid,
      info: `Mosaic ${report.category} report ${key}`,
      date: report.issuedAt.slice(0, 10),
      timestamp,
      publish_timestamp: timestamp,
      published: true,
      analysis: ANALYSIS_COMPLETED,
      threat_level_id: THREAT_UNDEFINED,
      distribution: MISP_DISTRIBUTION_ORGANISATION,
      Orgc: { name: report.issuer, uuid: mispOrgUuid(report.issuer) },
      Tag: tags,
      Attribute: attributes,
    },
  };
}

/** The manifest entry of an event. */
export function mispManifestEntry(event: MispEventFile): MispManifestEntry {
  const e = event.Event;
  return {
    info: e.info,
    date: e.date,
    timestamp: e.timestamp,
    analysis: e.analysis,
    threat_level_id: e.threat_level_id,
    Orgc: e.Orgc,
    Tag: e.Tag.map(({ name, colour }) => ({ name, colour })),
  };
}

/** The `hashes.csv` lines of an event: the MD5 of each attribute value, as MISP's feeds write them. */
export function mispHashLines(event: MispEventFile): string[] {
  return event.Event.Attribute.map(
    (a) => `${createHash('md5').update(a.value, 'utf8').digest('hex')},${event.Event.uuid}`,
  );
}

/**
 * A MISP feed of reports: one event per report ({@link reportToMispEvent}), the manifest,
 * and the hashes. Throws ERR_MISP_UNMAPPABLE when a report's handling cannot be carried.
 */
export function reportsToMispFeed(inputs: readonly ExportInput[]): MispFeed {
  const events = inputs.map((input) => reportToMispEvent(input));
  const manifest: Record<string, MispManifestEntry> = {};
  for (const event of events) manifest[event.Event.uuid] = mispManifestEntry(event);
  const lines = events.flatMap(mispHashLines);
  return { manifest, events, hashes: lines.length === 0 ? '' : `${lines.join('\n')}\n` };
}
