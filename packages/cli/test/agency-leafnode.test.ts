/**
 * `mosaic agency leafnode`: the files it writes (modes included), that nats-server accepts
 * the configuration, that the credentials and the local context are the agency's own, and
 * its usage errors. The leaf running that configuration against the hub is tested in the
 * SDK (`packages/sdk/test/leaf.test.ts`) and in the reply matrix of @mosaic/identities.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { contextFile, createIdentities, parseContextFile } from '@mosaic/identities';
import { ensureNatsServer } from '@mosaic/nats-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosaic } from './helpers.ts';

let dir: string;
let nlContext: string;
let ids: Awaited<ReturnType<typeof createIdentities>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-cli-leafnode-'));
  ids = await createIdentities({ agencies: [{ id: 'nl-police' }, { id: 'de-bka' }] });
  nlContext = join(dir, 'nl-police.json');
  await writeFile(nlContext, contextFile(ids.agencies.get('nl-police')!, 'nats://hub:4222'), {
    mode: 0o600,
  });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mosaic agency leafnode', () => {
  it('writes a configuration nats-server accepts, the agency’s credentials and a local context, secrets 0600', async () => {
    const out = join(dir, 'leaf');
    const r = await mosaic([
      'agency',
      'leafnode',
      '--agency',
      'nl-police',
      '--context',
      nlContext,
      '--hub',
      'nats-leaf://hub-a:7422,nats-leaf://hub-b:7422',
      '--out',
      out,
      '--listen',
      '127.0.0.1:14222',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.stdout) as Record<string, string>;
    expect(printed).toEqual({
      config: join(out, 'leafnode.conf'),
      credentials: join(out, 'nl-police.creds'),
      context: join(out, 'context.json'),
      domain: 'leaf-nl-police',
    });
    expect((await stat(printed['credentials']!)).mode & 0o777).toBe(0o600);
    expect((await stat(printed['context']!)).mode & 0o777).toBe(0o600);

    const config = await readFile(printed['config']!, 'utf8');
    expect(config).toContain('domain: "leaf-nl-police"');
    expect(config).toContain('urls: ["nats-leaf://hub-a:7422", "nats-leaf://hub-b:7422"]');
    expect(config).toContain(`credentials: ${JSON.stringify(printed['credentials'])}`);
    expect(config).toContain('listen: "127.0.0.1:14222"');
    const { path } = await ensureNatsServer();
    // `-t`: nats-server parses and checks the configuration, then exits.
    await expect(
      promisify(execFile)(path, ['-t', '-c', printed['config']!]),
    ).resolves.toBeDefined();

    const identity = ids.agencies.get('nl-police')!;
    const creds = await readFile(printed['credentials']!, 'utf8');
    expect(creds).toContain(identity.jwt);
    expect(creds).toContain(identity.seed);
    const local = parseContextFile(await readFile(printed['context']!, 'utf8'));
    expect(local).toMatchObject({
      url: 'nats://127.0.0.1:14222',
      agency: 'nl-police',
      jwt: identity.jwt,
      nkeySeed: identity.seed,
      inboxPrefix: '_INBOX_nl-police',
    });
  });

  it('refuses another agency’s context, a malformed --listen and a --hub that is not a URL (exit 2), writing nothing', async () => {
    const out = join(dir, 'refused');
    const base = ['agency', 'leafnode', '--context', nlContext, '--out', out];
    const other = await mosaic([...base, '--agency', 'de-bka', '--hub', 'nats-leaf://hub:7422']);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('not of agency de-bka');
    const listen = await mosaic([
      ...base,
      '--agency',
      'nl-police',
      '--hub',
      'nats-leaf://hub:7422',
      '--listen',
      'localhost',
    ]);
    expect(listen.code).toBe(2);
    expect(listen.stderr).toContain('--listen');
    const hub = await mosaic([...base, '--agency', 'nl-police', '--hub', 'hub:7422']);
    expect(hub.code).toBe(2);
    expect(hub.stderr).toContain('--hub');
    await expect(stat(out)).rejects.toThrow();
  });

  it('a context that cannot be read exits 3', async () => {
    const r = await mosaic([
      'agency',
      'leafnode',
      '--agency',
      'nl-police',
      '--context',
      join(dir, 'missing.json'),
      '--hub',
      'nats-leaf://hub:7422',
      '--out',
      join(dir, 'never'),
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('ERR_CONTEXT_FILE');
  });
});
