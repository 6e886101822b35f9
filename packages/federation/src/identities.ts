import { createUser } from '@nats-io/nkeys';
import { Roles, type Role } from './permissions.ts';
import { HubServices, agencyInboxPrefix, hubInboxPrefix, type HubService } from './subjects.ts';

/** The public half of a NATS identity: all the broker configuration ever needs. */
export interface PublicIdentity {
  role: Role;
  /** Set for `role: 'agency'`. */
  agency?: string;
  /** NKey user public key (`U…`), the only credential in the server configuration. */
  publicKey: string;
  /** The inbox prefix the identity must connect with (`connect({ inboxPrefix })`). */
  inboxPrefix: string;
}

/** A NATS identity with its secret NKey seed (`SU…`); the seed goes into a context file only. */
export interface NatsIdentity extends PublicIdentity {
  seed: string;
}

/** One identity per agency, per hub service and for the operator. */
export interface IdentitySet<T extends PublicIdentity = NatsIdentity> {
  operator: T;
  services: Readonly<Record<HubService, T>>;
  agencies: ReadonlyMap<string, T>;
}

const decoder = new TextDecoder();

function newIdentity(role: Role, inboxPrefix: string, agency?: string): NatsIdentity {
  const kp = createUser();
  const identity: NatsIdentity = {
    role,
    publicKey: kp.getPublicKey(),
    seed: decoder.decode(kp.getSeed()),
    inboxPrefix,
  };
  return agency === undefined ? identity : { ...identity, agency };
}

/**
 * Generates fresh NKey users: one per agency of the federation, one per hub service
 * (ingest, router, auditor) and one for the operator. Seeds are returned for the context
 * files and must never be logged or committed.
 *
 * @example
 * ```ts
 * const ids = createIdentities(federation);
 * const config = brokerAuthConfig(federation, publicIdentities(ids));
 * await writeFile(`${dataDir}/contexts/nl-police.json`, contextFile(ids.agencies.get('nl-police')!, url));
 * ```
 */
export function createIdentities(federation: { agencies: readonly { id: string }[] }): IdentitySet {
  const services = {
    [HubServices.Ingest]: newIdentity(Roles.Ingest, hubInboxPrefix(HubServices.Ingest)),
    [HubServices.Router]: newIdentity(Roles.Router, hubInboxPrefix(HubServices.Router)),
    [HubServices.Auditor]: newIdentity(Roles.Auditor, hubInboxPrefix(HubServices.Auditor)),
  };
  const agencies = new Map(
    federation.agencies.map((a) => [
      a.id,
      newIdentity(Roles.Agency, agencyInboxPrefix(a.id), a.id),
    ]),
  );
  return {
    operator: newIdentity(Roles.Operator, hubInboxPrefix('operator')),
    services,
    agencies,
  };
}

function strip(identity: PublicIdentity): PublicIdentity {
  const { role, publicKey, inboxPrefix, agency } = identity;
  return agency === undefined
    ? { role, publicKey, inboxPrefix }
    : { role, publicKey, inboxPrefix, agency };
}

/** The same set without seeds, e.g. to hand to `brokerAuthConfig` or to store. */
export function publicIdentities(set: IdentitySet<PublicIdentity>): IdentitySet<PublicIdentity> {
  return {
    operator: strip(set.operator),
    services: {
      [HubServices.Ingest]: strip(set.services[HubServices.Ingest]),
      [HubServices.Router]: strip(set.services[HubServices.Router]),
      [HubServices.Auditor]: strip(set.services[HubServices.Auditor]),
    },
    agencies: new Map([...set.agencies].map(([id, identity]) => [id, strip(identity)])),
  };
}
