import { isMosaicError, type MosaicError } from '@mosaic/errors';
import { createUser } from '@nats-io/nkeys';
import { describe, expect, it } from 'vitest';
import {
  brokerAuthConfig,
  createIdentities,
  publicIdentities,
  type IdentitySet,
  type PublicIdentity,
} from '../src/index.ts';

const federation = { agencies: [{ id: 'nl' }, { id: 'nl-police' }] };

function failure(run: () => unknown): MosaicError {
  try {
    run();
  } catch (err) {
    if (isMosaicError(err)) return err;
    throw err;
  }
  throw new Error('expected a MosaicError');
}

function withAgency(
  ids: IdentitySet<PublicIdentity>,
  agency: string,
  change: Partial<PublicIdentity> | undefined,
): IdentitySet<PublicIdentity> {
  const agencies = new Map(ids.agencies);
  const current = agencies.get(agency);
  if (change === undefined) agencies.delete(agency);
  else if (current !== undefined) agencies.set(agency, { ...current, ...change });
  return { ...ids, agencies };
}

describe('createIdentities', () => {
  it('creates a distinct NKey user per agency, per hub service and for the operator', () => {
    const ids = createIdentities(federation);
    const all = [ids.operator, ...Object.values(ids.services), ...ids.agencies.values()];
    expect(all).toHaveLength(6);
    expect(new Set(all.map((i) => i.publicKey)).size).toBe(6);
    for (const identity of all) {
      expect(identity.publicKey).toMatch(/^U[A-Z2-7]{55}$/);
      expect(identity.seed).toMatch(/^SU[A-Z2-7]{56}$/);
    }
    expect(ids.agencies.get('nl')).toMatchObject({
      role: 'agency',
      agency: 'nl',
      inboxPrefix: '_INBOX_nl',
    });
    expect(ids.services.ingest).toMatchObject({ role: 'ingest', inboxPrefix: '_INBOX_HUB_INGEST' });
    expect(ids.operator).toMatchObject({ role: 'operator', inboxPrefix: '_INBOX_HUB_OPERATOR' });
  });

  it('publicIdentities drops every seed', () => {
    const ids = createIdentities(federation);
    const text = JSON.stringify(publicIdentities(ids), (_k, v: unknown) =>
      v instanceof Map ? [...v] : v,
    );
    for (const identity of [ids.operator, ...Object.values(ids.services), ...ids.agencies.values()])
      expect(text).not.toContain(identity.seed);
  });
});

describe('brokerAuthConfig', () => {
  it('lists every identity once, by public key only, with its permissions', () => {
    const ids = createIdentities(federation);
    const config = brokerAuthConfig(federation, ids);
    expect(config).toMatch(/^# Generated .*\nauthorization \{\n {2}users = \[\n/);
    for (const identity of [
      ids.operator,
      ...Object.values(ids.services),
      ...ids.agencies.values(),
    ]) {
      expect(config.split(identity.publicKey)).toHaveLength(2);
      expect(config).not.toContain(identity.seed);
    }
    expect(config).toContain('"mosaic.ingest.nl-police"');
    expect(config).toContain('"$JS.ACK.ALERTS.alerts-nl.>"');
    expect(config).toContain('"mosaic.ingest.* ingest"');
    expect(config).not.toContain('allow_responses');
  });

  it('accepts the public identities alone', () => {
    const ids = createIdentities(federation);
    expect(brokerAuthConfig(federation, publicIdentities(ids))).toBe(
      brokerAuthConfig(federation, ids),
    );
  });

  it.each<[string, (ids: IdentitySet<PublicIdentity>) => IdentitySet<PublicIdentity>, RegExp]>([
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
      (ids) =>
        withAgency(ids, 'nl', {
          publicKey: (ids.agencies.get('nl')?.publicKey.slice(0, -1) ?? '') + 'A',
        }),
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
  ])('refuses %s (ERR_FEDERATION)', (_what, change, message) => {
    const ids = change(publicIdentities(createIdentities(federation)));
    const err = failure(() => brokerAuthConfig(federation, ids));
    expect(err.code).toBe('ERR_FEDERATION');
    expect(err.message).toMatch(message);
  });

  it('refuses an agency id that is not subject-safe', () => {
    const bad = { agencies: [{ id: 'a.>' }] };
    const ids = createIdentities(bad);
    expect(failure(() => brokerAuthConfig(bad, ids)).message).toMatch(
      /a\.>: is not a valid agency id/,
    );
  });
});
