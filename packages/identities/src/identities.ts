import { Algorithms, encodeUser } from '@nats-io/jwt';
import { createAccount, createOperator, createUser } from '@nats-io/nkeys';
import {
  Roles,
  adminPermissions,
  agencyPermissions,
  gatewayPermissions,
  hubPermissions,
  operatorPermissions,
  servicePermissions,
  systemPermissions,
  type Permissions,
  type Role,
} from './permissions.ts';
import { HubServices, agencyInboxPrefix, hubInboxPrefix, type HubService } from '@mosaic/protocol';

/** An NKey pair as stored: the public key and its seed (never logged or committed). */
export interface KeySeed {
  publicKey: string;
  seed: string;
}

/** The public half of a NATS user identity. */
export interface PublicIdentity {
  role: Role;
  /** Set for `role: 'agency'`. */
  agency?: string;
  /** NKey user public key (`U…`). */
  publicKey: string;
  /** The inbox prefix the identity must connect with (`connect({ inboxPrefix })`). */
  inboxPrefix: string;
}

/**
 * A NATS user with its secret NKey seed (`SU…`) and its user JWT, issued by its account
 * with its permissions. Seed and JWT go into a context file only.
 */
export interface NatsIdentity extends PublicIdentity {
  seed: string;
  jwt: string;
}

/** The keys of the NATS operator and of every account (see accounts.ts). */
export interface AccountKeySet {
  /** The NATS operator: signs every account JWT. */
  operator: KeySeed;
  system: KeySeed;
  hub: KeySeed;
  /** The routine operator's account (not the NATS operator). */
  operatorAccount: KeySeed;
  agencies: ReadonlyMap<string, KeySeed>;
}

/** Every key and user of a hub: the accounts, then one user per role and per agency. */
export interface IdentitySet<T extends PublicIdentity = NatsIdentity> {
  accounts: AccountKeySet;
  operator: T;
  services: Readonly<Record<HubService, T>>;
  hub: T;
  admin: T;
  system: T;
  agencies: ReadonlyMap<string, T>;
}

const decoder = new TextDecoder();

function keySeed(kp: { getPublicKey(): string; getSeed(): Uint8Array }): KeySeed {
  return { publicKey: kp.getPublicKey(), seed: decoder.decode(kp.getSeed()) };
}

/** The permissions of a user of this role. */
function permissionsOf(identity: PublicIdentity): Permissions {
  switch (identity.role) {
    case Roles.Agency:
      return agencyPermissions(identity.agency ?? '');
    case Roles.Ingest:
    case Roles.Router:
    case Roles.Auditor:
    case Roles.SelectorKeys:
    case Roles.Holdings:
      return servicePermissions(identity.role);
    case Roles.Operator:
      return operatorPermissions();
    case Roles.Hub:
      return hubPermissions();
    case Roles.Admin:
      return adminPermissions();
    case Roles.System:
      return systemPermissions();
    case Roles.Gateway:
      return gatewayPermissions();
  }
}

/** The account key that issues this user's JWT. */
function issuingAccount(accounts: AccountKeySet, identity: PublicIdentity): KeySeed {
  switch (identity.role) {
    case Roles.Agency: {
      const key = accounts.agencies.get(identity.agency ?? '');
      if (key === undefined) throw new Error(`no account for agency ${String(identity.agency)}`);
      return key;
    }
    case Roles.Operator:
      return accounts.operatorAccount;
    case Roles.System:
      return accounts.system;
    default:
      return accounts.hub;
  }
}

/** The JWT name of a user; the auditor recognises the break-glass user by it. */
function userName(identity: PublicIdentity): string {
  return identity.agency === undefined ? `mosaic-${identity.role}` : `agency-${identity.agency}`;
}

/**
 * Issues (signs) the user JWT of an identity with its account key: its permissions, no
 * bearer use, no expiry (revocation goes through the account).
 */
export async function issueUserJwt(
  accounts: AccountKeySet,
  identity: PublicIdentity,
): Promise<string> {
  const p = permissionsOf(identity);
  return encodeUser(
    userName(identity),
    identity.publicKey,
    issuingAccount(accounts, identity).seed,
    {
      pub: { allow: [...p.publish.allow] },
      sub: { allow: [...p.subscribe.allow] },
      subs: -1,
      data: -1,
      payload: -1,
      bearer_token: false,
    },
    { algorithm: Algorithms.v2 },
  );
}

async function newIdentity(
  accounts: AccountKeySet,
  role: Role,
  inboxPrefix: string,
  agency?: string,
): Promise<NatsIdentity> {
  const kp = createUser();
  const base: PublicIdentity = {
    role,
    publicKey: kp.getPublicKey(),
    inboxPrefix,
    ...(agency === undefined ? {} : { agency }),
  };
  return { ...base, seed: decoder.decode(kp.getSeed()), jwt: await issueUserJwt(accounts, base) };
}

/**
 * A fresh user for a hub service, for a data dir written before the service existed (the
 * hub adds it to the identities it keeps).
 */
export function newServiceIdentity(
  accounts: AccountKeySet,
  service: HubService,
): Promise<NatsIdentity> {
  return newIdentity(accounts, service, hubInboxPrefix(service));
}

/**
 * Generates fresh keys: the NATS operator, the system, hub and operator accounts, one
 * account per agency, and one user per agency, per hub service, for the hub runner, the
 * break-glass admin, the system user and the routine operator. Seeds are returned for the
 * data dir and the context files and must never be logged or committed.
 *
 * @example
 * ```ts
 * const ids = await createIdentities(federation);
 * const config = await brokerAuthConfig(federation, ids);
 * await writeFile(`${dataDir}/contexts/nl-police.json`, contextFile(ids.agencies.get('nl-police')!, url));
 * ```
 */
export async function createIdentities(federation: {
  agencies: readonly { id: string }[];
}): Promise<IdentitySet> {
  const accounts: AccountKeySet = {
    operator: keySeed(createOperator()),
    system: keySeed(createAccount()),
    hub: keySeed(createAccount()),
    operatorAccount: keySeed(createAccount()),
    agencies: new Map(federation.agencies.map((a) => [a.id, keySeed(createAccount())])),
  };
  const user = (role: Role, name: Parameters<typeof hubInboxPrefix>[0]) =>
    newIdentity(accounts, role, hubInboxPrefix(name));
  return {
    accounts,
    operator: await user(Roles.Operator, 'operator'),
    services: {
      [HubServices.Ingest]: await user(Roles.Ingest, HubServices.Ingest),
      [HubServices.Router]: await user(Roles.Router, HubServices.Router),
      [HubServices.Auditor]: await user(Roles.Auditor, HubServices.Auditor),
      [HubServices.SelectorKeys]: await user(Roles.SelectorKeys, HubServices.SelectorKeys),
      [HubServices.Holdings]: await user(Roles.Holdings, HubServices.Holdings),
    },
    hub: await user(Roles.Hub, 'hub'),
    admin: await user(Roles.Admin, 'admin'),
    system: await user(Roles.System, 'system'),
    agencies: new Map(
      await Promise.all(
        federation.agencies.map(
          async (a) =>
            [
              a.id,
              await newIdentity(accounts, Roles.Agency, agencyInboxPrefix(a.id), a.id),
            ] as const,
        ),
      ),
    ),
  };
}

/**
 * The set with an account and a user for every agency in `agencies` (new ones generated;
 * existing ones, and those of agencies no longer listed, kept). `added` names the new ones.
 */
export async function withAgencies(
  set: IdentitySet,
  agencies: readonly string[],
): Promise<{ set: IdentitySet; added: string[] }> {
  const missing = agencies.filter((id) => !set.agencies.has(id));
  if (missing.length === 0) return { set, added: [] };
  const accounts: AccountKeySet = {
    ...set.accounts,
    agencies: new Map([
      ...set.accounts.agencies,
      ...missing.map((id) => [id, keySeed(createAccount())] as const),
    ]),
  };
  const fresh = await Promise.all(
    missing.map(
      async (id) =>
        [id, await newIdentity(accounts, Roles.Agency, agencyInboxPrefix(id), id)] as const,
    ),
  );
  return {
    set: { ...set, accounts, agencies: new Map([...set.agencies, ...fresh]) },
    added: missing,
  };
}

/**
 * The HTTP gateway's hub-account user (`gatewayPermissions`), made afresh (new key) at every
 * hub start and never written to disk.
 */
export function gatewayServiceIdentity(accounts: AccountKeySet): Promise<NatsIdentity> {
  return newIdentity(accounts, Roles.Gateway, hubInboxPrefix('gateway'));
}

/**
 * A gateway user of agency `agency`'s own account with exactly the agency's permissions,
 * made afresh and never written to disk. The gateway submits the agency's reports on its
 * connection, so ingest sees the broker's attestation of the agency's account as for any
 * of the agency's clients; removing the agency revokes every user of its account, this
 * one included.
 *
 * @example
 * ```ts
 * const user = await gatewayAgencyIdentity(set.accounts, 'nl-police'); // role agency
 * ```
 */
export function gatewayAgencyIdentity(
  accounts: AccountKeySet,
  agency: string,
): Promise<NatsIdentity> {
  return newIdentity(accounts, Roles.Agency, agencyInboxPrefix(agency), agency);
}

/** Every user of the set with its path (`operator`, `services.ingest`, `agencies.<id>`, …). */
export function usersOf<T extends PublicIdentity>(set: IdentitySet<T>): [string, T][] {
  return [
    ['operator', set.operator],
    ...Object.values(HubServices).map((s): [string, T] => [`services.${s}`, set.services[s]]),
    ['hub', set.hub],
    ['admin', set.admin],
    ['system', set.system],
    ...[...set.agencies].map(([a, i]): [string, T] => [`agencies.${a}`, i]),
  ];
}

/**
 * Re-issues every user JWT with the permissions of this version of Mosaic (the keys stay):
 * a hub started after an upgrade hands out JWTs that match its code.
 */
export async function reissueUserJwts(set: IdentitySet): Promise<IdentitySet> {
  const again = async (identity: NatsIdentity): Promise<NatsIdentity> => ({
    ...identity,
    jwt: await issueUserJwt(set.accounts, identity),
  });
  return {
    accounts: set.accounts,
    operator: await again(set.operator),
    services: {
      [HubServices.Ingest]: await again(set.services[HubServices.Ingest]),
      [HubServices.Router]: await again(set.services[HubServices.Router]),
      [HubServices.Auditor]: await again(set.services[HubServices.Auditor]),
      [HubServices.SelectorKeys]: await again(set.services[HubServices.SelectorKeys]),
      [HubServices.Holdings]: await again(set.services[HubServices.Holdings]),
    },
    hub: await again(set.hub),
    admin: await again(set.admin),
    system: await again(set.system),
    agencies: new Map(
      await Promise.all([...set.agencies].map(async ([id, i]) => [id, await again(i)] as const)),
    ),
  };
}

/**
 * Who each agency's account is, for the services that check the broker's attestation
 * (`startIngest({ accounts })`).
 */
export function accountDirectory(set: IdentitySet): {
  accountOf(agency: string): string | undefined;
} {
  return { accountOf: (agency) => set.accounts.agencies.get(agency)?.publicKey };
}
