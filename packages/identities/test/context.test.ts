import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMosaicError, type MosaicError } from '@mosaic/errors';
import { fromPublic } from '@nats-io/nkeys';
import { describe, expect, it } from 'vitest';
import {
  contextConnectOptions,
  contextFile,
  createIdentities,
  parseContextFile,
  readContextFile,
} from '../src/index.ts';

const ids = await createIdentities({ agencies: [{ id: 'nl-police' }, { id: 'de-bka' }] });
const agency = ids.agencies.get('nl-police')!;
const url = 'nats://127.0.0.1:4222';

function failure(run: () => unknown): MosaicError {
  try {
    run();
  } catch (err) {
    if (isMosaicError(err)) return err;
    throw err;
  }
  throw new Error('expected a MosaicError');
}

describe('context files', () => {
  it('round-trips an agency context', () => {
    const text = contextFile(agency, url);
    expect(JSON.parse(text)).toEqual({
      version: 1,
      url,
      role: 'agency',
      agency: 'nl-police',
      nkeySeed: agency.seed,
      jwt: agency.jwt,
      inboxPrefix: '_INBOX_nl-police',
    });
    expect(parseContextFile(text)).toEqual(JSON.parse(text));
  });

  it('round-trips the operator and service contexts, without an agency', () => {
    for (const identity of [ids.operator, ...Object.values(ids.services), ids.hub, ids.admin]) {
      const context = parseContextFile(contextFile(identity, url));
      expect(context.role).toBe(identity.role);
      expect(context).not.toHaveProperty('agency');
    }
  });

  it('refuses to write a context with a bad url', () => {
    expect(failure(() => contextFile(agency, 'http://x')).code).toBe('ERR_CONTEXT_FILE');
  });

  it.each<[string, (c: Record<string, unknown>) => void, string]>([
    ['an agency without its id', (c) => delete c['agency'], 'agency'],
    ['another user’s JWT', (c) => (c['jwt'] = ids.agencies.get('de-bka')!.jwt), 'jwt'],
    ['a JWT that is not one', (c) => (c['jwt'] = 'not-a-jwt'), 'jwt'],
    [
      'an operator with an agency',
      (c) => ((c['role'] = 'operator'), (c['inboxPrefix'] = '_INBOX_HUB_OPERATOR')),
      'agency',
    ],
    ['another agency’s inbox prefix', (c) => (c['inboxPrefix'] = '_INBOX_nl'), 'inboxPrefix'],
    [
      'a corrupted seed',
      // One payload character changed: CRC-16 catches every error burst of 16 bits or fewer,
      // so this is refused whatever the seed (rewriting the tail could leave it unchanged,
      // or change only padding bits).
      (c) => {
        const seed = String(c['nkeySeed']);
        c['nkeySeed'] = `${seed.slice(0, 10)}${seed[10] === 'A' ? 'B' : 'A'}${seed.slice(11)}`;
      },
      'nkeySeed',
    ],
    ['an account seed', (c) => (c['nkeySeed'] = `SA${String(c['nkeySeed']).slice(2)}`), 'nkeySeed'],
    ['an unknown field', (c) => (c['password'] = 'x'), ''],
    ['an unknown role', (c) => (c['role'] = 'root'), 'role'],
  ])('refuses %s without echoing the seed', (_what, change, path) => {
    const context = JSON.parse(contextFile(agency, url)) as Record<string, unknown>;
    change(context);
    const err = failure(() => parseContextFile(JSON.stringify(context), 'ctx.json'));
    expect(err.code).toBe('ERR_CONTEXT_FILE');
    expect((err.details as { issues: { path: string }[] }).issues.map((i) => i.path)).toContain(
      path,
    );
    expect(JSON.stringify(err.toJSON())).not.toContain(agency.seed.slice(2, 20));
  });

  it('refuses text that is not JSON', () => {
    expect(failure(() => parseContextFile('{', 'ctx.json'))).toMatchObject({
      code: 'ERR_CONTEXT_FILE',
      details: { path: 'ctx.json' },
    });
  });

  it('reads a file, and names a missing one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mosaic-context-'));
    try {
      const path = join(dir, 'nl-police.json');
      await writeFile(path, contextFile(agency, url), { mode: 0o600 });
      expect((await readContextFile(path)).agency).toBe('nl-police');
      const err: unknown = await readContextFile(join(dir, 'missing.json')).catch(
        (e: unknown) => e,
      );
      expect(err).toMatchObject({
        code: 'ERR_CONTEXT_FILE',
        details: { path: join(dir, 'missing.json') },
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('gives connection options that answer the server’s nonce with a valid signature', () => {
    const options = contextConnectOptions(parseContextFile(contextFile(agency, url)));
    expect(options).toMatchObject({
      servers: url,
      inboxPrefix: '_INBOX_nl-police',
      name: 'mosaic-agency-nl-police',
      // No per-request Error for async stack traces: ~10 % of the hub's CPU under load.
      noAsyncTraces: true,
    });
    const { nkey, sig } = options.authenticator('nonce-123');
    expect(nkey).toBe(agency.publicKey);
    const signature = Uint8Array.from(atob(sig), (c) => c.charCodeAt(0));
    expect(fromPublic(nkey).verify(new TextEncoder().encode('nonce-123'), signature)).toBe(true);
  });
});
