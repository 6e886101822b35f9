import { ErrorCode, MosaicError } from '@mosaic/errors';
import { checkFederation } from './check.ts';
import { formatPath } from './problems.ts';
import { federationSchema, type Federation } from './schema.ts';
import { REGISTRY_BUCKET, REGISTRY_STREAM } from './subjects.ts';

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

/**
 * Reads the federation back from the registry and validates it like a federation file.
 * Agencies and groups come back sorted by id, agreements in their original order.
 * Throws ERR_REGISTRY when the registry is empty, an entry is unknown or not JSON, or
 * the whole is not a valid federation.
 */
export async function readRegistry(kv: RegistryKv): Promise<Federation> {
  const keys: string[] = [];
  for await (const key of await kv.keys()) keys.push(key);
  keys.sort();
  let meta: unknown;
  const groups: unknown[] = [];
  const agencies: unknown[] = [];
  const agreements: unknown[] = [];
  for (const key of keys) {
    const entry = await kv.get(key);
    if (entry === null || entry.operation !== 'PUT') continue;
    const value = parseEntry(key, entry.string());
    const [kind] = key.split('.', 1);
    if (key === RegistryKeys.meta) meta = value;
    else if (kind === 'group') groups.push(value);
    else if (kind === 'agency') agencies.push(value);
    else if (kind === 'agreement') agreements.push(value);
    else
      throw new MosaicError(ErrorCode.Registry, `unknown registry entry ${key}`, {
        details: { key },
      });
  }
  if (meta === undefined)
    throw new MosaicError(ErrorCode.Registry, 'the registry holds no federation (no meta entry)', {
      details: { key: RegistryKeys.meta },
    });
  const parsed = federationSchema.safeParse({ ...(meta as object), groups, agencies, agreements });
  const problems = parsed.success
    ? checkFederation(parsed.data)
    : parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
  if (!parsed.success || problems.length > 0)
    throw new MosaicError(ErrorCode.Registry, 'the registry does not hold a valid federation', {
      details: { problems },
    });
  return parsed.data;
}

/** What `registryKeysByDirectGet` needs of a `JetStreamManager` (structural). */
export interface DirectLastReader {
  direct: {
    getLastMessagesFor(
      stream: string,
      opts: { multi_last: string[] },
    ): Promise<AsyncIterable<{ subject: string; header?: { get(k: string): string } }>>;
  };
}

/**
 * The live keys of the registry bucket, read with one batched direct get of the last entry
 * per key: what an identity that may not create consumers (the routine operator) uses
 * instead of `kv.keys()`, which creates one.
 */
export async function registryKeysByDirectGet(jsm: DirectLastReader): Promise<string[]> {
  const prefix = `$KV.${REGISTRY_BUCKET}.`;
  const keys: string[] = [];
  for await (const m of await jsm.direct.getLastMessagesFor(REGISTRY_STREAM, {
    multi_last: [`${prefix}>`],
  })) {
    const operation = m.header?.get('KV-Operation') ?? '';
    if (operation === 'DEL' || operation === 'PURGE') continue;
    keys.push(m.subject.slice(prefix.length));
  }
  return keys;
}
