import type { StixObject } from '@mosaic/stix';
import type { HttpAlert } from './alerts.ts';

/** Reads up to `limit` of the agency's alerts from ALERTS sequence `seq` on. */
type ReadAlerts = (agency: string, seq: number, limit: number) => Promise<HttpAlert[]>;
/** The STIX objects of one alert. */
type ObjectsOf = (agency: string, alert: HttpAlert) => Promise<StixObject[]>;

interface AgencyIndex {
  /** The last ALERTS sequence indexed. */
  upTo: number;
  /** Object id → version → the latest ALERTS sequence whose objects carry that version. */
  ids: Map<string, Map<string, number>>;
  /** The catch-up in progress: one at a time per agency. */
  busy: Promise<void>;
}

const BATCH = 500;

/**
 * Where each STIX object of an agency's collection is: per object id and version, the alert
 * that carries it. An object's id cannot be turned back into its report (ids are hashes), so
 * a get by id would otherwise map every alert of the collection on every request. The index
 * reads each alert once: a lookup first maps only the alerts stored since the last one.
 * It holds one entry per distinct object and version of the collection, in memory.
 */
export class ObjectIndex {
  readonly #agencies = new Map<string, AgencyIndex>();
  readonly #read: ReadAlerts;
  readonly #objectsOf: ObjectsOf;
  readonly #versionOf: (object: StixObject) => string;

  constructor(read: ReadAlerts, objectsOf: ObjectsOf, versionOf: (object: StixObject) => string) {
    this.#read = read;
    this.#objectsOf = objectsOf;
    this.#versionOf = versionOf;
  }

  /** The alerts (by sequence, per version) that carry object `id`, up to the newest alert. */
  async lookup(agency: string, id: string): Promise<ReadonlyMap<string, number> | undefined> {
    let index = this.#agencies.get(agency);
    if (index === undefined) {
      index = { upTo: 0, ids: new Map(), busy: Promise.resolve() };
      this.#agencies.set(agency, index);
    }
    const entry = index;
    const run = entry.busy.then(() => this.#catchUp(agency, entry));
    // A failed catch-up fails this lookup only; the next one starts where it stopped.
    entry.busy = run.catch(() => undefined);
    await run;
    return entry.ids.get(id);
  }

  async #catchUp(agency: string, index: AgencyIndex): Promise<void> {
    for (;;) {
      const batch = await this.#read(agency, index.upTo + 1, BATCH);
      for (const alert of batch) {
        for (const object of await this.#objectsOf(agency, alert)) {
          let versions = index.ids.get(object.id);
          if (versions === undefined) {
            versions = new Map();
            index.ids.set(object.id, versions);
          }
          versions.set(this.#versionOf(object), alert.seq);
        }
        index.upTo = alert.seq;
      }
      if (batch.length < BATCH) return;
    }
  }
}
