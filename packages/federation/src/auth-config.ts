import { agencyIdSchema } from '@mosaic/contract';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { NKeysError, fromPublic } from '@nats-io/nkeys';
import type { IdentitySet, PublicIdentity } from './identities.ts';
import { assertAgencyIsolation } from './isolation.ts';
import {
  Roles,
  agencyPermissions,
  operatorPermissions,
  servicePermissions,
  type Permissions,
} from './permissions.ts';
import { HubServices, agencyInboxPrefix, hubInboxPrefix } from './subjects.ts';

const USER_NKEY = /^U[A-Z2-7]{55}$/;

interface Problem {
  path: string;
  message: string;
}

function checkKey(identity: PublicIdentity, path: string, problems: Problem[]): void {
  if (!USER_NKEY.test(identity.publicKey)) {
    problems.push({ path, message: 'is not an NKey user public key (U…)' });
    return;
  }
  try {
    fromPublic(identity.publicKey);
  } catch (err) {
    if (!(err instanceof NKeysError)) throw err;
    problems.push({ path, message: `is not a valid NKey: ${err.message}` });
  }
}

function checkIdentities(
  agencies: readonly string[],
  identities: IdentitySet<PublicIdentity>,
): void {
  const problems: Problem[] = [];
  const expect = (identity: PublicIdentity, path: string, role: string, inbox: string): void => {
    if (identity.role !== role)
      problems.push({ path, message: `has role ${identity.role}, not ${role}` });
    if (identity.inboxPrefix !== inbox)
      problems.push({ path, message: `has inbox prefix ${identity.inboxPrefix}, not ${inbox}` });
    checkKey(identity, path, problems);
  };
  expect(identities.operator, 'operator', Roles.Operator, hubInboxPrefix('operator'));
  for (const service of Object.values(HubServices))
    expect(identities.services[service], `services.${service}`, service, hubInboxPrefix(service));
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
  const all: [string, PublicIdentity][] = [
    ['operator', identities.operator],
    ...Object.values(HubServices).map((s): [string, PublicIdentity] => [
      `services.${s}`,
      identities.services[s],
    ]),
    ...[...identities.agencies].map(([a, i]): [string, PublicIdentity] => [`agencies.${a}`, i]),
  ];
  for (const [path, identity] of all) {
    const other = seen.get(identity.publicKey);
    if (other !== undefined)
      problems.push({ path, message: `shares its public key with ${other}` });
    else seen.set(identity.publicKey, path);
  }
  if (problems.length > 0)
    throw new MosaicError(
      ErrorCode.Federation,
      `NATS identities do not match the federation:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`,
      { details: { problems } },
    );
}

function renderUser(comment: string, publicKey: string, permissions: Permissions): string {
  const list = (subjects: readonly string[]): string =>
    `[\n${subjects.map((s) => `          ${JSON.stringify(s)}`).join('\n')}\n        ]`;
  return [
    `    # ${comment}`,
    '    {',
    `      nkey: ${JSON.stringify(publicKey)}`,
    '      permissions: {',
    `        publish: { allow: ${list(permissions.publish.allow)} }`,
    `        subscribe: { allow: ${list(permissions.subscribe.allow)} }`,
    '      }',
    '    }',
  ].join('\n');
}

/**
 * The nats-server configuration text giving every identity exactly its permissions: an
 * `authorization { users = [...] }` block of NKey users (public keys only). Include it in
 * the server configuration; a reload (SIGHUP) applies a changed federation.
 *
 * Throws ERR_FEDERATION when the identities do not cover exactly the federation's
 * agencies, are malformed or reuse a key, and refuses to emit a configuration in which one
 * agency's permissions would reach another agency's subjects.
 *
 * @example
 * ```ts
 * const ids = createIdentities(federation);
 * await using server = await startServer({ config: brokerAuthConfig(federation, ids) });
 * ```
 */
export function brokerAuthConfig(
  federation: { agencies: readonly { id: string }[] },
  identities: IdentitySet<PublicIdentity>,
): string {
  const agencies = federation.agencies.map((a) => a.id);
  checkIdentities(agencies, identities);
  assertAgencyIsolation(agencies);
  const users = [
    renderUser('operator', identities.operator.publicKey, operatorPermissions()),
    ...Object.values(HubServices).map((service) =>
      renderUser(
        `hub service ${service}`,
        identities.services[service].publicKey,
        servicePermissions(service, agencies),
      ),
    ),
    ...agencies.map((agency) =>
      renderUser(
        `agency ${agency}`,
        // checkIdentities guarantees presence
        identities.agencies.get(agency)?.publicKey ?? '',
        agencyPermissions(agency),
      ),
    ),
  ];
  return [
    '# Generated by @mosaic/federation brokerAuthConfig() from the federation; do not edit.',
    'authorization {',
    '  users = [',
    users.join('\n'),
    '  ]',
    '}',
    '',
  ].join('\n');
}
