import { readFile } from 'node:fs/promises';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { HubServices, agencyInboxPrefix, hubInboxPrefix } from '@mosaic/protocol';
import {
  Roles,
  newServiceIdentity,
  reissueUserJwts,
  type IdentitySet,
  type KeySeed,
  type NatsIdentity,
} from '@mosaic/identities';
import { z } from 'zod';
import { writeFileAtomic } from './files.ts';

const keySeed = (prefix: 'O' | 'A') =>
  z.strictObject({
    publicKey: z.string().regex(new RegExp(`^${prefix}[A-Z2-7]{55}$`)),
    seed: z.string().regex(new RegExp(`^S${prefix}[A-Z2-7]{56}$`)),
  });

const user = z.object({
  role: z.enum(Roles),
  agency: z.string().exactOptional(),
  publicKey: z.string().regex(/^U[A-Z2-7]{55}$/),
  seed: z.string().regex(/^SU[A-Z2-7]{56}$/),
  inboxPrefix: z.string(),
});

const stored = z.strictObject({
  version: z.literal(2),
  accounts: z.strictObject({
    operator: keySeed('O'),
    system: keySeed('A'),
    hub: keySeed('A'),
    operatorAccount: keySeed('A'),
    agencies: z.record(z.string(), keySeed('A')),
  }),
  users: z.strictObject({
    operator: user,
    ingest: user,
    router: user,
    auditor: user,
    // Absent in a data dir written before the selector key service: created at start.
    'selector-keys': user.optional(),
    // Absent in a data dir written before the holdings service: created at start.
    holdings: user.optional(),
    hub: user,
    admin: user,
    system: user,
  }),
  agencies: z.record(z.string(), user),
});

function corrupt(path: string, problem: string, cause?: unknown): MosaicError {
  return new MosaicError(ErrorCode.HubDataDir, `${path}: ${problem}`, {
    details: { path },
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * Reads `identities.json` (every NATS key of the hub) and issues fresh user JWTs from it;
 * undefined when it does not exist yet, or was written by an earlier version without
 * accounts (the hub then creates new identities and rewrites every context file).
 * `{ userJwts: false }` leaves every user JWT empty: signing them all takes a while in
 * pure-JS Ed25519, and a reader that needs one issues it (`issueUserJwt`).
 */
export async function readIdentities(
  path: string,
  options: { userJwts?: boolean } = {},
): Promise<IdentitySet | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return undefined;
    throw corrupt(path, 'cannot be read', err);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    throw corrupt(path, 'is not JSON', err);
  }
  if (typeof value === 'object' && value !== null && 'version' in value && value.version === 1)
    return undefined;
  const parsed = stored.safeParse(value);
  if (!parsed.success) throw corrupt(path, 'is not an identities file written by the hub');
  const s = parsed.data;
  const check = (u: z.output<typeof user>, role: string, inbox: string, where: string) => {
    if (u.role !== role || u.inboxPrefix !== inbox)
      throw corrupt(path, `${where} is not a ${role} identity written by the hub`);
    // The JWT is issued afresh below (reissueUserJwts).
    const identity: NatsIdentity = { ...u, jwt: '' };
    return identity;
  };
  const agencies = new Map<string, NatsIdentity>();
  for (const [id, u] of Object.entries(s.agencies)) {
    if (u.agency !== id) throw corrupt(path, `agencies.${id} names another agency`);
    if (s.accounts.agencies[id] === undefined) throw corrupt(path, `agencies.${id} has no account`);
    agencies.set(id, check(u, Roles.Agency, agencyInboxPrefix(id), `agencies.${id}`));
  }
  const accounts = {
    ...s.accounts,
    agencies: new Map<string, KeySeed>(Object.entries(s.accounts.agencies)),
  };
  const set: IdentitySet = {
    accounts,
    operator: check(s.users.operator, Roles.Operator, hubInboxPrefix('operator'), 'operator'),
    services: {
      [HubServices.Ingest]: check(s.users.ingest, Roles.Ingest, hubInboxPrefix('ingest'), 'ingest'),
      [HubServices.Router]: check(s.users.router, Roles.Router, hubInboxPrefix('router'), 'router'),
      [HubServices.Auditor]: check(
        s.users.auditor,
        Roles.Auditor,
        hubInboxPrefix('auditor'),
        'auditor',
      ),
      [HubServices.SelectorKeys]:
        s.users['selector-keys'] === undefined
          ? await newServiceIdentity(accounts, HubServices.SelectorKeys)
          : check(
              s.users['selector-keys'],
              Roles.SelectorKeys,
              hubInboxPrefix(HubServices.SelectorKeys),
              'selector-keys',
            ),
      [HubServices.Holdings]:
        s.users.holdings === undefined
          ? await newServiceIdentity(accounts, HubServices.Holdings)
          : check(
              s.users.holdings,
              Roles.Holdings,
              hubInboxPrefix(HubServices.Holdings),
              'holdings',
            ),
    },
    hub: check(s.users.hub, Roles.Hub, hubInboxPrefix('hub'), 'hub'),
    admin: check(s.users.admin, Roles.Admin, hubInboxPrefix('admin'), 'admin'),
    system: check(s.users.system, Roles.System, hubInboxPrefix('system'), 'system'),
    agencies,
  };
  return options.userJwts === false ? set : reissueUserJwts(set);
}

/** Writes `identities.json` (mode 0600: it holds every seed). User JWTs are re-issued at start. */
export async function writeIdentities(path: string, set: IdentitySet): Promise<void> {
  await writeFileAtomic(path, renderIdentities(set));
}

/**
 * Writes `identities.json` only when it would change (an identity it lacks, such as a
 * service user made at read for a file older than the service); true when it wrote.
 */
export async function updateIdentities(path: string, set: IdentitySet): Promise<boolean> {
  const text = renderIdentities(set);
  if ((await readFile(path, 'utf8').catch(() => undefined)) === text) return false;
  await writeFileAtomic(path, text);
  return true;
}

function renderIdentities(set: IdentitySet): string {
  // JWTs are not stored: they are issued again at every start.
  const strip = (i: NatsIdentity): Omit<NatsIdentity, 'jwt'> => ({
    role: i.role,
    publicKey: i.publicKey,
    seed: i.seed,
    inboxPrefix: i.inboxPrefix,
    ...(i.agency === undefined ? {} : { agency: i.agency }),
  });
  const out: z.input<typeof stored> = {
    version: 2,
    accounts: { ...set.accounts, agencies: Object.fromEntries(set.accounts.agencies) },
    users: {
      operator: strip(set.operator),
      ingest: strip(set.services.ingest),
      router: strip(set.services.router),
      auditor: strip(set.services.auditor),
      'selector-keys': strip(set.services['selector-keys']),
      holdings: strip(set.services.holdings),
      hub: strip(set.hub),
      admin: strip(set.admin),
      system: strip(set.system),
    },
    agencies: Object.fromEntries([...set.agencies].map(([id, i]) => [id, strip(i)])),
  };
  return `${JSON.stringify(out, null, 2)}\n`;
}

/** The identities of exactly these agencies, for `brokerAuthConfig`. */
export function restrictedTo(set: IdentitySet, agencies: readonly string[]): IdentitySet {
  const pick = <T>(map: ReadonlyMap<string, T>): Map<string, T> =>
    new Map(
      agencies.flatMap((id) => {
        const value = map.get(id);
        return value === undefined ? [] : [[id, value] as const];
      }),
    );
  return {
    ...set,
    accounts: { ...set.accounts, agencies: pick(set.accounts.agencies) },
    agencies: pick(set.agencies),
  };
}
