import { readFile } from 'node:fs/promises';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import {
  HubServices,
  Roles,
  agencyInboxPrefix,
  createIdentities,
  hubInboxPrefix,
  type IdentitySet,
  type NatsIdentity,
} from '@mosaic/federation';
import { writeFileAtomic } from './files.ts';

interface StoredIdentities {
  version: 1;
  operator: NatsIdentity;
  services: Record<string, NatsIdentity>;
  agencies: Record<string, NatsIdentity>;
}

function corrupt(path: string, problem: string, cause?: unknown): MosaicError {
  return new MosaicError(ErrorCode.HubDataDir, `${path}: ${problem}`, {
    details: { path },
    ...(cause === undefined ? {} : { cause }),
  });
}

function checkIdentity(
  value: unknown,
  role: string,
  inboxPrefix: string,
  where: string,
  path: string,
): NatsIdentity {
  const v = value as Partial<NatsIdentity> | undefined;
  if (
    v?.role !== role ||
    v.inboxPrefix !== inboxPrefix ||
    typeof v.publicKey !== 'string' ||
    !/^U[A-Z2-7]{55}$/.test(v.publicKey) ||
    typeof v.seed !== 'string' ||
    !/^SU[A-Z2-7]{56}$/.test(v.seed)
  )
    throw corrupt(path, `${where} is not a ${role} identity written by the hub`);
  return v as NatsIdentity;
}

/** Reads `identities.json`; undefined when it does not exist yet. */
export async function readIdentities(path: string): Promise<IdentitySet | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return undefined;
    throw corrupt(path, 'cannot be read', err);
  }
  let stored: StoredIdentities;
  try {
    stored = JSON.parse(text) as StoredIdentities;
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    throw corrupt(path, 'is not JSON', err);
  }
  if (stored.version !== 1 || typeof stored.agencies !== 'object')
    throw corrupt(path, 'is not an identities file of version 1');
  const service = (name: (typeof HubServices)[keyof typeof HubServices]): NatsIdentity =>
    checkIdentity(stored.services[name], name, hubInboxPrefix(name), `services.${name}`, path);
  return {
    operator: checkIdentity(
      stored.operator,
      Roles.Operator,
      hubInboxPrefix('operator'),
      'operator',
      path,
    ),
    services: {
      [HubServices.Ingest]: service(HubServices.Ingest),
      [HubServices.Router]: service(HubServices.Router),
      [HubServices.Auditor]: service(HubServices.Auditor),
    },
    agencies: new Map(
      Object.entries(stored.agencies).map(([id, identity]) => {
        const checked = checkIdentity(
          identity,
          Roles.Agency,
          agencyInboxPrefix(id),
          `agencies.${id}`,
          path,
        );
        if (checked.agency !== id) throw corrupt(path, `agencies.${id} names another agency`);
        return [id, checked];
      }),
    ),
  };
}

/** Writes `identities.json` (mode 0600: it holds every seed). */
export async function writeIdentities(path: string, set: IdentitySet): Promise<void> {
  const stored: StoredIdentities = {
    version: 1,
    operator: set.operator,
    services: { ...set.services },
    agencies: Object.fromEntries(set.agencies),
  };
  await writeFileAtomic(path, `${JSON.stringify(stored, null, 2)}\n`);
}

/**
 * The set with an identity for every agency in `agencies` (new ones generated; existing
 * ones, and those of agencies no longer listed, kept). `added` names the new ones.
 */
export function withAgencies(
  set: IdentitySet,
  agencies: readonly string[],
): { set: IdentitySet; added: string[] } {
  const missing = agencies.filter((id) => !set.agencies.has(id));
  if (missing.length === 0) return { set, added: [] };
  const fresh = createIdentities({ agencies: missing.map((id) => ({ id })) }).agencies;
  return {
    set: { ...set, agencies: new Map([...set.agencies, ...fresh]) },
    added: missing,
  };
}

/** The identities of exactly these agencies, for `brokerAuthConfig`. */
export function restrictedTo(set: IdentitySet, agencies: readonly string[]): IdentitySet {
  return {
    ...set,
    agencies: new Map(
      agencies.flatMap((id) => {
        const identity = set.agencies.get(id);
        return identity === undefined ? [] : [[id, identity] as const];
      }),
    ),
  };
}
