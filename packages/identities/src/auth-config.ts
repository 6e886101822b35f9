import { agencyIdSchema } from '@mosaic/contract';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import {
  Algorithms,
  encodeAccount,
  encodeOperator,
  type Export,
  type Import,
  type OperatorLimits,
} from '@nats-io/jwt';
import { NKeysError, fromPublic } from '@nats-io/nkeys';
import {
  AccountNames,
  agencyAccountName,
  agencyImports,
  agencyStreamImports,
  hubExports,
  hubStreamExports,
  operatorImports,
  type ServiceImport,
} from './accounts.ts';
import { usersOf, type IdentitySet, type KeySeed, type PublicIdentity } from './identities.ts';
import { assertAgencyIsolation } from './isolation.ts';
import { Roles } from './permissions.ts';
import { HubServices, agencyInboxPrefix, hubInboxPrefix } from '@mosaic/protocol';

const USER_NKEY = /^U[A-Z2-7]{55}$/;

interface Problem {
  path: string;
  message: string;
}

function checkKey(publicKey: string, path: string, problems: Problem[]): void {
  if (!USER_NKEY.test(publicKey)) {
    problems.push({ path, message: 'is not an NKey user public key (U…)' });
    return;
  }
  try {
    fromPublic(publicKey);
  } catch (err) {
    if (!(err instanceof NKeysError)) throw err;
    problems.push({ path, message: `is not a valid NKey: ${err.message}` });
  }
}

function checkIdentities(agencies: readonly string[], identities: IdentitySet): void {
  const problems: Problem[] = [];
  const expect = (identity: PublicIdentity, path: string, role: string, inbox: string): void => {
    if (identity.role !== role)
      problems.push({ path, message: `has role ${identity.role}, not ${role}` });
    if (identity.inboxPrefix !== inbox)
      problems.push({ path, message: `has inbox prefix ${identity.inboxPrefix}, not ${inbox}` });
    checkKey(identity.publicKey, path, problems);
  };
  expect(identities.operator, 'operator', Roles.Operator, hubInboxPrefix('operator'));
  for (const service of Object.values(HubServices))
    expect(identities.services[service], `services.${service}`, service, hubInboxPrefix(service));
  expect(identities.hub, 'hub', Roles.Hub, hubInboxPrefix('hub'));
  expect(identities.admin, 'admin', Roles.Admin, hubInboxPrefix('admin'));
  expect(identities.system, 'system', Roles.System, hubInboxPrefix('system'));
  for (const agency of agencies) {
    if (!agencyIdSchema.safeParse(agency).success) {
      problems.push({ path: `agencies.${agency}`, message: 'is not a valid agency id' });
      continue;
    }
    const identity = identities.agencies.get(agency);
    if (identity === undefined) {
      problems.push({ path: `agencies.${agency}`, message: 'has no NATS identity' });
      continue;
    }
    if (!identities.accounts.agencies.has(agency))
      problems.push({ path: `accounts.agencies.${agency}`, message: 'has no NATS account' });
    expect(identity, `agencies.${agency}`, Roles.Agency, agencyInboxPrefix(agency));
    if (identity.agency !== agency)
      problems.push({
        path: `agencies.${agency}`,
        message: `names agency ${String(identity.agency)}`,
      });
  }
  const known = new Set(agencies);
  for (const agency of identities.agencies.keys())
    if (!known.has(agency))
      problems.push({ path: `agencies.${agency}`, message: 'is not an agency of the federation' });
  const seen = new Map<string, string>();
  const keys: [string, string][] = [
    ...usersOf(identities).map(([path, i]): [string, string] => [path, i.publicKey]),
    ['accounts.system', identities.accounts.system.publicKey],
    ['accounts.hub', identities.accounts.hub.publicKey],
    ['accounts.operatorAccount', identities.accounts.operatorAccount.publicKey],
    ...[...identities.accounts.agencies].map(([a, k]): [string, string] => [
      `accounts.agencies.${a}`,
      k.publicKey,
    ]),
  ];
  for (const [path, key] of keys) {
    const other = seen.get(key);
    if (other !== undefined)
      problems.push({ path, message: `shares its public key with ${other}` });
    else seen.set(key, path);
  }
  if (problems.length > 0)
    throw new MosaicError(
      ErrorCode.Federation,
      `NATS identities do not match the federation:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`,
      { details: { problems } },
    );
}

/** No limit on connections, subscriptions, payload (the server's max_payload applies). */
const UNLIMITED: OperatorLimits = {
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  conn: -1,
  leaf: -1,
};

/** JetStream for the hub account alone: bounded by the server's own store limits. */
const JETSTREAM: OperatorLimits = {
  mem_storage: -1,
  disk_storage: -1,
  streams: -1,
  consumer: -1,
};

const v2 = { algorithm: Algorithms.v2 };

function imports(hub: string, list: readonly ServiceImport[]): Import[] {
  return list.map((i) => ({
    name: i.name,
    type: 'service',
    account: hub,
    subject: i.subject,
    local_subject: i.localSubject,
    ...(i.share ? { share: true } : {}),
  }));
}

/** The account JWT of the hub: JetStream, and the exported services. */
function hubAccountJwt(accounts: IdentitySet['accounts']): Promise<string> {
  const exports: Export[] = [
    ...hubExports().map((e): Export => ({
      name: e.name,
      type: 'service',
      subject: e.subject,
      response_type: e.responseType,
    })),
    ...hubStreamExports().map((e): Export => ({
      name: e.name,
      type: 'stream',
      subject: e.subject,
    })),
  ];
  return encodeAccount(
    AccountNames.Hub,
    accounts.hub.publicKey,
    { limits: { ...UNLIMITED, ...JETSTREAM }, exports },
    { ...v2, signer: accounts.operator.seed },
  );
}

/**
 * The account JWT of an agency: its imports, no JetStream of its own. With `revokedAt`
 * (seconds since the epoch) every user issued before then is refused and disconnected: how
 * an agency that left the federation is shut out on every server.
 */
export function agencyAccountJwt(
  accounts: IdentitySet['accounts'],
  agency: string,
  account: KeySeed,
  options: { revokedAt?: number } = {},
): Promise<string> {
  return encodeAccount(
    agencyAccountName(agency),
    account.publicKey,
    {
      limits: UNLIMITED,
      imports: [
        ...imports(accounts.hub.publicKey, agencyImports(agency)),
        ...agencyStreamImports(agency).map((i): Import => ({
          name: i.name,
          type: 'stream',
          account: accounts.hub.publicKey,
          subject: i.subject,
        })),
      ],
      ...(options.revokedAt === undefined ? {} : { revocations: { '*': options.revokedAt } }),
    },
    { ...v2, signer: accounts.operator.seed },
  );
}

function operatorAccountJwt(accounts: IdentitySet['accounts']): Promise<string> {
  return encodeAccount(
    AccountNames.Operator,
    accounts.operatorAccount.publicKey,
    { limits: UNLIMITED, imports: imports(accounts.hub.publicKey, operatorImports()) },
    { ...v2, signer: accounts.operator.seed },
  );
}

function systemAccountJwt(accounts: IdentitySet['accounts']): Promise<string> {
  return encodeAccount(
    AccountNames.System,
    accounts.system.publicKey,
    { limits: UNLIMITED },
    { ...v2, signer: accounts.operator.seed },
  );
}

/**
 * Every account JWT of the hub for these agencies, keyed by account public key: what the
 * servers' resolver is preloaded with, and what an update pushes.
 */
export async function accountJwts(
  identities: IdentitySet,
  agencies: readonly string[],
): Promise<Map<string, string>> {
  const { accounts } = identities;
  const out = new Map<string, string>([
    [accounts.system.publicKey, await systemAccountJwt(accounts)],
    [accounts.hub.publicKey, await hubAccountJwt(accounts)],
    [accounts.operatorAccount.publicKey, await operatorAccountJwt(accounts)],
  ]);
  for (const agency of agencies) {
    const account = accounts.agencies.get(agency);
    if (account !== undefined)
      out.set(account.publicKey, await agencyAccountJwt(accounts, agency, account));
  }
  return out;
}

/** Options of `brokerAuthConfig`. */
export interface BrokerAuthOptions {
  /**
   * Where the `full` account resolver keeps account JWTs; account updates pushed through the
   * system account then apply without a restart or reload. Without it the resolver is
   * MEMORY, preloaded: fine for a fixed set of agencies (tests).
   */
  resolverDir?: string;
}

const q = (s: string): string => JSON.stringify(s);

/**
 * The nats-server configuration text for decentralised JWT auth: the NATS operator, the
 * system account, the account resolver preloaded with every account JWT (the hub account,
 * the operator's, one per agency). Users authenticate with their user JWT and NKey; no user
 * is listed in the configuration.
 *
 * Throws ERR_FEDERATION when the identities do not cover exactly the federation's agencies,
 * are malformed or reuse a key, and refuses to emit a configuration in which one agency's
 * account or permissions would reach another agency's subjects or the hub's streams.
 *
 * @example
 * ```ts
 * const ids = await createIdentities(federation);
 * await using server = await startServer({ config: await brokerAuthConfig(federation, ids) });
 * ```
 */
export async function brokerAuthConfig(
  federation: { agencies: readonly { id: string }[] },
  identities: IdentitySet,
  options: BrokerAuthOptions = {},
): Promise<string> {
  const agencies = federation.agencies.map((a) => a.id);
  checkIdentities(agencies, identities);
  assertAgencyIsolation(agencies);
  const { accounts } = identities;
  const operatorJwt = await encodeOperator(
    'mosaic',
    accounts.operator.seed,
    { system_account: accounts.system.publicKey },
    v2,
  );
  const preload = await accountJwts(identities, agencies);
  const resolver =
    options.resolverDir === undefined
      ? 'resolver: MEMORY'
      : `resolver: { type: full, dir: ${q(options.resolverDir)}, allow_delete: true, interval: "2m", timeout: "5s" }`;
  return [
    '# Generated by @mosaic/federation brokerAuthConfig() from the federation; do not edit.',
    `operator: ${q(operatorJwt)}`,
    `system_account: ${q(accounts.system.publicKey)}`,
    // A user JWT travels in the CONNECT line. The hub's lists every subject its services use
    // and outgrows nats-server's 4 KB default as services are added.
    'max_control_line: 16KB',
    resolver,
    'resolver_preload: {',
    ...[...preload].map(([key, jwt]) => `  ${q(key)}: ${q(jwt)}`),
    '}',
    '',
  ].join('\n');
}
