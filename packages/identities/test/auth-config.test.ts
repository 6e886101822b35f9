import { isMosaicError, type MosaicError } from '@mosaic/errors';
import { decode, type Account, type User } from '@nats-io/jwt';
import { createUser } from '@nats-io/nkeys';
import { describe, expect, it } from 'vitest';
import {
  AccountNames,
  accountJwts,
  brokerAuthConfig,
  createIdentities,
  usersOf,
  withAgencies,
  type IdentitySet,
  type NatsIdentity,
} from '../src/index.ts';
import { HUB_API_PREFIX } from '@mosaic/protocol';

const federation = { agencies: [{ id: 'nl' }, { id: 'nl-police' }] };

async function failure(run: () => Promise<unknown>): Promise<MosaicError> {
  try {
    await run();
  } catch (err) {
    if (isMosaicError(err)) return err;
    throw err;
  }
  throw new Error('expected a MosaicError');
}

function withAgency(
  ids: IdentitySet,
  agency: string,
  change: Partial<NatsIdentity> | undefined,
): IdentitySet {
  const agencies = new Map(ids.agencies);
  const current = agencies.get(agency);
  if (change === undefined) agencies.delete(agency);
  else if (current !== undefined) agencies.set(agency, { ...current, ...change });
  return { ...ids, agencies };
}

describe('createIdentities', () => {
  it('creates a distinct NKey user per agency, per hub role and for the operator, each with its JWT', async () => {
    const ids = await createIdentities(federation);
    const all = usersOf(ids).map(([, i]) => i);
    expect(all).toHaveLength(11);
    expect(new Set(all.map((i) => i.publicKey)).size).toBe(11);
    for (const identity of all) {
      expect(identity.publicKey).toMatch(/^U[A-Z2-7]{55}$/);
      expect(identity.seed).toMatch(/^SU[A-Z2-7]{56}$/);
      expect(decode<User>(identity.jwt).sub).toBe(identity.publicKey);
    }
    expect(ids.agencies.get('nl')).toMatchObject({
      role: 'agency',
      agency: 'nl',
      inboxPrefix: '_INBOX_nl',
    });
    expect(ids.services.ingest).toMatchObject({ role: 'ingest', inboxPrefix: '_INBOX_HUB_INGEST' });
    expect(ids.operator).toMatchObject({ role: 'operator', inboxPrefix: '_INBOX_HUB_OPERATOR' });
  });

  it('issues each user by its own account: an agency by the agency’s, the operator by the operator’s', async () => {
    const ids = await createIdentities(federation);
    expect(decode(ids.agencies.get('nl')!.jwt).iss).toBe(
      ids.accounts.agencies.get('nl')!.publicKey,
    );
    expect(decode(ids.operator.jwt).iss).toBe(ids.accounts.operatorAccount.publicKey);
    for (const hubUser of [ids.services.ingest, ids.services.router, ids.hub, ids.admin])
      expect(decode(hubUser.jwt).iss).toBe(ids.accounts.hub.publicKey);
    expect(decode(ids.system.jwt).iss).toBe(ids.accounts.system.publicKey);
    const nl = decode<User>(ids.agencies.get('nl')!.jwt).nats;
    expect(nl.pub?.allow).toContain('mosaic.ingest.nl');
    expect(nl.pub?.allow).toContain(`${HUB_API_PREFIX}.CONSUMER.MSG.NEXT.ALERTS.alerts-nl`);
    expect(nl.sub?.allow).toEqual(['_INBOX_nl.>', 'mosaic.leaf.nl.alerts', '$JSC.R.>']);
    expect(nl.bearer_token).toBe(false);
  });

  it('withAgencies adds an account and a user for a new agency and keeps the others', async () => {
    const ids = await createIdentities(federation);
    const { set, added } = await withAgencies(ids, ['nl', 'nl-police', 'be']);
    expect(added).toEqual(['be']);
    expect(set.agencies.get('nl')).toEqual(ids.agencies.get('nl'));
    expect(set.accounts.agencies.get('be')?.publicKey).toMatch(/^A/);
    expect(decode(set.agencies.get('be')!.jwt).iss).toBe(
      set.accounts.agencies.get('be')!.publicKey,
    );
  });
});

describe('brokerAuthConfig', () => {
  it('configures JWT auth: the operator, the system account, every account preloaded, no seed', async () => {
    const ids = await createIdentities(federation);
    const config = await brokerAuthConfig(federation, ids);
    expect(config).toMatch(
      /^# Generated .*\noperator: "[^"]+"\nsystem_account: "A[A-Z2-7]{55}"\nmax_control_line: 16KB\nresolver: MEMORY\n/,
    );
    for (const [, identity] of usersOf(ids)) expect(config).not.toContain(identity.seed);
    for (const key of [
      ids.accounts.operator,
      ids.accounts.system,
      ids.accounts.hub,
      ids.accounts.operatorAccount,
      ...ids.accounts.agencies.values(),
    ])
      expect(config).not.toContain(key.seed);
    const jwts = await accountJwts(ids, ['nl', 'nl-police']);
    expect(jwts.size).toBe(5);
    for (const key of jwts.keys()) expect(config).toContain(`"${key}":`);
    expect(config).not.toContain('allow_responses');
    const full = await brokerAuthConfig(federation, ids, {
      resolverDir: '/var/lib/mosaic/accounts',
    });
    expect(full).toContain('resolver: { type: full, dir: "/var/lib/mosaic/accounts"');
  });

  it('gives JetStream and exports to the hub account alone; agencies and the operator only import', async () => {
    const ids = await createIdentities(federation);
    const jwts = await accountJwts(ids, ['nl', 'nl-police']);
    const account = (key: string) => decode<Account>(jwts.get(key)!);
    const hub = account(ids.accounts.hub.publicKey);
    expect(hub.name).toBe(AccountNames.Hub);
    expect(hub.nats.limits?.disk_storage).toBe(-1);
    expect(hub.nats.imports ?? []).toEqual([]);
    expect(hub.nats.exports?.map((e) => e.subject)).toContain('mosaic.ingest.*');
    const nl = account(ids.accounts.agencies.get('nl')!.publicKey);
    expect(nl.name).toBe('agency-nl');
    expect(nl.nats.limits?.disk_storage).toBeUndefined();
    expect(nl.nats.exports ?? []).toEqual([]);
    expect(nl.nats.imports?.map((i) => i.subject)).toEqual([
      'mosaic.ingest.nl',
      '$JS.API.CONSUMER.INFO.ALERTS.alerts-nl',
      '$JS.API.CONSUMER.MSG.NEXT.ALERTS.alerts-nl',
      '$JS.ACK.ALERTS.alerts-nl.>',
      '$JS.API.CONSUMER.INFO.ALERTS.leaf-nl',
      '$JS.API.CONSUMER.RESET.ALERTS.leaf-nl',
      '$JS.FC.ALERTS.leaf-nl.>',
      '$JS.API.CONSUMER.INFO.ALERTS.leafcheck-nl',
      '$JS.API.CONSUMER.MSG.NEXT.ALERTS.leafcheck-nl',
      '$JS.API.CONSUMER.RESET.ALERTS.leafcheck-nl',
      '$JS.API.STREAM.MSG.GET.KV_mosaic-keys',
      '$JS.API.DIRECT.GET.KV_mosaic-keys',
      '$JS.API.DIRECT.GET.KV_mosaic-keys.>',
      'mosaic.selectors.evaluate.nl',
      'mosaic.holdings.nl',
      // A stream import: the deliveries of its own leaf consumer.
      'mosaic.leaf.nl.alerts',
    ]);
    expect(nl.nats.imports?.find((i) => i.subject === 'mosaic.ingest.nl')?.share).toBe(true);
    expect(nl.nats.imports?.find((i) => i.subject === 'mosaic.selectors.evaluate.nl')?.share).toBe(
      true,
    );
    expect(nl.nats.imports?.find((i) => i.subject === 'mosaic.holdings.nl')?.share).toBe(true);
    for (const i of nl.nats.imports ?? []) expect(i.account).toBe(ids.accounts.hub.publicKey);
    const op = account(ids.accounts.operatorAccount.publicKey);
    expect(op.nats.imports?.map((i) => i.subject)).not.toContain('$JS.API.STREAM.DELETE.*');
  });

  it.each<[string, (ids: IdentitySet) => IdentitySet, RegExp]>([
    [
      'a missing agency identity',
      (ids) => withAgency(ids, 'nl', undefined),
      /agencies\.nl: has no NATS identity/,
    ],
    [
      'an identity for an agency not in the federation',
      (ids) => ({
        ...ids,
        agencies: new Map([
          ...ids.agencies,
          [
            'ghost',
            { ...ids.operator, role: 'agency', agency: 'ghost', inboxPrefix: '_INBOX_ghost' },
          ],
        ]),
      }),
      /agencies\.ghost: is not an agency of the federation/,
    ],
    [
      'an agency identity with another role',
      (ids) => withAgency(ids, 'nl', { role: 'operator' }),
      /has role operator, not agency/,
    ],
    [
      'an agency identity naming another agency',
      (ids) => withAgency(ids, 'nl', { agency: 'nl-police' }),
      /names agency nl-police/,
    ],
    [
      'a wrong inbox prefix',
      (ids) => withAgency(ids, 'nl', { inboxPrefix: '_INBOX_nl-police' }),
      /inbox prefix _INBOX_nl-police, not _INBOX_nl/,
    ],
    [
      'a seed instead of a public key',
      (ids) =>
        withAgency(ids, 'nl', {
          publicKey: ids.agencies.get('nl')?.publicKey.replace(/^U/, 'S') ?? '',
        }),
      /not an NKey user public key/,
    ],
    [
      'an account key',
      (ids) =>
        withAgency(ids, 'nl', {
          publicKey: `A${ids.agencies.get('nl')?.publicKey.slice(1) ?? ''}`,
        }),
      /not an NKey user public key/,
    ],
    [
      'a key with a bad checksum',
      (ids) => {
        // The last character carries checksum bits only: change it to another letter.
        const key = ids.agencies.get('nl')?.publicKey ?? '';
        return withAgency(ids, 'nl', {
          publicKey: key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A'),
        });
      },
      /not a valid NKey|not an NKey/,
    ],
    [
      'config injection through a key',
      (ids) =>
        withAgency(ids, 'nl', {
          publicKey: `${createUser().getPublicKey()}"\n}] }\nauthorization { users = [ { user: x } ] }`,
        }),
      /not an NKey user public key/,
    ],
    [
      'one key shared by two identities',
      (ids) => withAgency(ids, 'nl', { publicKey: ids.services.router.publicKey }),
      /shares its public key with services\.router/,
    ],
    [
      'a service with the wrong role',
      (ids) => ({
        ...ids,
        services: { ...ids.services, router: { ...ids.services.router, role: 'ingest' } },
      }),
      /services\.router: has role ingest/,
    ],
  ])('refuses %s (ERR_FEDERATION)', async (_what, change, message) => {
    const ids = change(await createIdentities(federation));
    const err = await failure(() => brokerAuthConfig(federation, ids));
    expect(err.code).toBe('ERR_FEDERATION');
    expect(err.message).toMatch(message);
  });

  it('refuses an agency id that is not subject-safe', async () => {
    const bad = { agencies: [{ id: 'a.>' }] };
    const ids = await createIdentities(bad);
    expect((await failure(() => brokerAuthConfig(bad, ids))).message).toMatch(
      /a\.>: is not a valid agency id/,
    );
  });
});
