import { ErrorCode, MosaicError } from '@mosaic/errors';
import { checkFederation, federationSchema, toProblems, type Federation } from '@mosaic/federation';
import { REGISTRY_BUCKET, REGISTRY_STREAM } from './subjects.ts';
import { directBatch } from './read.ts';
import type { JetStreamManager } from '@nats-io/jetstream';

/**
 * The part of a `@nats-io/kv` bucket the registry uses (structural, so this package does
 * not depend on the client): `new Kvm(js).create(REGISTRY_BUCKET)` satisfies it.
 */
export interface RegistryKv {
  put(key: string, value: string): Promise<number>;
  get(key: string): Promise<{ operation: string; string(): string } | null>;
  delete(key: string): Promise<void>;
  keys(filter?: string): Promise<AsyncIterable<string>>;
}

/** Registry keys: `meta`, `group.<id>`, `agency.<id>`, `agreement.<n>` (all subject-token safe). */
export const RegistryKeys = {
  meta: 'meta',
  group: (id: string): string => `group.${id}`,
  agency: (id: string): string => `agency.${id}`,
  agreement: (index: number): string => `agreement.${String(index).padStart(6, '0')}`,
} as const;

function entries(federation: Federation): Map<string, string> {
  const out = new Map<string, string>();
  const meta =
    federation.name === undefined
      ? { version: federation.version }
      : { version: federation.version, name: federation.name };
  out.set(RegistryKeys.meta, JSON.stringify(meta));
  for (const group of federation.groups)
    out.set(RegistryKeys.group(group.id), JSON.stringify(group));
  for (const agency of federation.agencies)
    out.set(RegistryKeys.agency(agency.id), JSON.stringify(agency));
  federation.agreements.forEach((agreement, i) => {
    out.set(RegistryKeys.agreement(i), JSON.stringify(agreement));
  });
  return out;
}

/**
 * Makes the registry hold exactly `federation`: writes every entry and deletes entries
 * the federation no longer has (KV history keeps what they were). Returns the keys written.
 *
 * @example
 * ```ts
 * const kv = await new Kvm(jetstream(nc)).create(REGISTRY_BUCKET, { history: 16 });
 * await seedRegistry(kv, await loadFederation({ path }));
 * ```
 */
export async function seedRegistry(kv: RegistryKv, federation: Federation): Promise<string[]> {
  const wanted = entries(federation);
  for (const [key, value] of wanted) await kv.put(key, value);
  const stale: string[] = [];
  for await (const key of await kv.keys()) if (!wanted.has(key)) stale.push(key);
  for (const key of stale) await kv.delete(key);
  return [...wanted.keys()];
}

function parseEntry(key: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    throw new MosaicError(ErrorCode.Registry, `registry entry ${key} is not JSON`, {
      details: { key },
      cause: err,
    });
  }
}

/** Options of `readRegistry`. */
export interface ReadRegistryOptions {
  /**
   * When given, an entry that is not JSON, of no known kind, named for another id than it
   * holds, or invalid (on its own or against the rest) is handed here and left out, instead
   * of failing the whole read: one bad entry cannot take the federation down. The `meta`
   * entry is never left out — without it there is no federation.
   */
  onInvalidEntry?: (key: string, error: MosaicError) => void;
}

const LISTS = ['groups', 'agencies', 'agreements'] as const;
type List = (typeof LISTS)[number];

function entryProblem(key: string, message: string, details: object = {}): MosaicError {
  return new MosaicError(ErrorCode.Registry, `registry entry ${key}: ${message}`, {
    details: { key, ...details },
  });
}

/** The entry behind a problem path (`agencies[2].keys[0]`), or undefined (the meta entry). */
function entryAt(path: readonly PropertyKey[] | string, keys: Record<List, string[]>) {
  const [list, index] =
    typeof path === 'string'
      ? (/^(groups|agencies|agreements)\[(\d+)\]/.exec(path)?.slice(1) ?? [])
      : path.map(String);
  return LISTS.includes(list as List) ? keys[list as List][Number(index)] : undefined;
}

/**
 * Reads the federation back from the registry and validates it like a federation file.
 * Agencies and groups come back sorted by id, agreements in their original order.
 * Throws ERR_REGISTRY when the registry is empty, an entry is unknown or not JSON, or
 * the whole is not a valid federation — unless `onInvalidEntry` is given: then each bad
 * entry is reported there and left out, and only a missing or invalid `meta` fails.
 */
export async function readRegistry(
  kv: RegistryKv,
  options: ReadRegistryOptions = {},
): Promise<Federation> {
  const names: string[] = [];
  for await (const key of await kv.keys()) names.push(key);
  names.sort();
  let meta: unknown;
  const values: Record<List, { key: string; value: unknown }[]> = {
    groups: [],
    agencies: [],
    agreements: [],
  };
  const skip = (error: MosaicError): void => {
    const key = (error.details as { key: string }).key;
    if (options.onInvalidEntry === undefined) throw error;
    options.onInvalidEntry(key, error);
  };
  for (const key of names) {
    const entry = await kv.get(key);
    if (entry === null || entry.operation !== 'PUT') continue;
    let value: unknown;
    try {
      value = parseEntry(key, entry.string());
    } catch (err) {
      if (!(err instanceof MosaicError) || key === RegistryKeys.meta) throw err;
      skip(err);
      continue;
    }
    const [kind] = key.split('.', 1);
    const list: List | undefined =
      kind === 'group'
        ? 'groups'
        : kind === 'agency'
          ? 'agencies'
          : kind === 'agreement'
            ? 'agreements'
            : undefined;
    if (key === RegistryKeys.meta) meta = value;
    else if (list === undefined)
      skip(
        new MosaicError(ErrorCode.Registry, `unknown registry entry ${key}`, { details: { key } }),
      );
    else if (
      list !== 'agreements' &&
      key !== `${kind}.${String((value as { id?: unknown } | null)?.id)}`
    )
      skip(entryProblem(key, 'holds another id than its key names'));
    else values[list].push({ key, value });
  }
  if (meta === undefined)
    throw new MosaicError(ErrorCode.Registry, 'the registry holds no federation (no meta entry)', {
      details: { key: RegistryKeys.meta },
    });
  // Leaves out, one round at a time, the entries the problems point at; fails on the rest.
  for (;;) {
    const keys = {
      groups: values.groups.map((e) => e.key),
      agencies: values.agencies.map((e) => e.key),
      agreements: values.agreements.map((e) => e.key),
    };
    const parsed = federationSchema.safeParse({
      ...(meta as object),
      groups: values.groups.map((e) => e.value),
      agencies: values.agencies.map((e) => e.value),
      agreements: values.agreements.map((e) => e.value),
    });
    const problems = parsed.success
      ? checkFederation(parsed.data)
      : toProblems(parsed.error.issues);
    if (parsed.success && problems.length === 0) return parsed.data;
    const paths = parsed.success
      ? problems.map((p) => p.path)
      : parsed.error.issues.map((i) => i.path);
    const targets = problems.map((_, i) => entryAt(paths[i] ?? '', keys));
    // A problem of the whole (meta, list sizes) or strict reading: the registry is unusable.
    if (options.onInvalidEntry === undefined || targets.includes(undefined))
      throw new MosaicError(ErrorCode.Registry, 'the registry does not hold a valid federation', {
        details: { problems },
      });
    const blamed = new Map<string, string[]>();
    problems.forEach((problem, i) => {
      const key = targets[i] ?? '';
      blamed.set(key, [...(blamed.get(key) ?? []), `${problem.path}: ${problem.message}`]);
    });
    for (const [key, messages] of blamed) {
      skip(entryProblem(key, messages.join('; '), { problems: messages }));
      for (const list of LISTS) values[list] = values[list].filter((e) => e.key !== key);
    }
  }
}

/**
 * The live keys of the registry bucket, read with one batched direct get of the last entry
 * per key: what an identity that may not create consumers (the routine operator) uses
 * instead of `kv.keys()`, which creates one.
 */
export async function registryKeysByDirectGet(jsm: JetStreamManager): Promise<string[]> {
  const prefix = `$KV.${REGISTRY_BUCKET}.`;
  const keys: string[] = [];
  for (const m of await directBatch(jsm, REGISTRY_STREAM, { multi_last: [`${prefix}>`] })) {
    const operation = m.header?.get('KV-Operation') ?? '';
    if (operation === 'DEL' || operation === 'PURGE') continue;
    keys.push(m.subject.slice(prefix.length));
  }
  return keys;
}
