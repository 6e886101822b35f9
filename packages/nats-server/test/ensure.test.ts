import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ensureNatsServer, parseNatsVersion } from '../src/index.ts';

const setupScript = fileURLToPath(new URL('../bin/setup.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'nats-server-test-'));
  vi.stubEnv('MOSAIC_NATS_SERVER', '');
});
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(tmp, { recursive: true, force: true });
});

function fakeServer(version: string, name = 'nats-server'): string {
  const path = join(tmp, name);
  writeFileSync(path, `#!/bin/sh\necho "nats-server: v${version}"\n`);
  chmodSync(path, 0o755);
  return path;
}

/** PATH without any directory holding a nats-server, so the cache or apt must serve. */
function pathWithoutNatsServer(): string {
  return (process.env['PATH'] ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '' && !existsSync(join(dir, 'nats-server')))
    .join(delimiter);
}

const fixes = [
  'apt-get install nats-server',
  'MOSAIC_NATS_SERVER=/path/to/nats-server',
  "NATS project's GitHub releases",
  'NATS_URL',
];

describe('ensureNatsServer', () => {
  it('provides a working nats-server >= 2.12 (integration)', async () => {
    const lines: string[] = [];
    const binary = await ensureNatsServer({ log: (line) => lines.push(line) });
    const printed = execFileSync(binary.path, ['--version'], { encoding: 'utf8' });
    expect(parseNatsVersion(printed)).toBe(binary.version);
    expect(binary.version).toMatch(/^2\.(1\d|[2-9]\d)\./);
    expect(['env', 'path', 'cache', 'debian']).toContain(binary.source);
    expect(lines.at(-1)).toBe(
      `using nats-server ${binary.version} at ${binary.path} (${binary.source})`,
    );
  });

  it('refuses a MOSAIC_NATS_SERVER that does not exist, naming the fixes', async () => {
    vi.stubEnv('MOSAIC_NATS_SERVER', join(tmp, 'missing', 'nats-server'));
    const err = await ensureNatsServer().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_NATS_SERVER_UNAVAILABLE' });
    const message = (err as Error).message;
    expect(message).toContain(`MOSAIC_NATS_SERVER=${join(tmp, 'missing', 'nats-server')}`);
    for (const fix of fixes) expect(message).toContain(fix);
  });

  it('refuses a MOSAIC_NATS_SERVER older than 2.12 rather than looking elsewhere', async () => {
    vi.stubEnv('MOSAIC_NATS_SERVER', fakeServer('2.11.9'));
    const err = await ensureNatsServer().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_NATS_SERVER_UNAVAILABLE' });
    expect((err as Error).message).toMatch(/is nats-server 2\.11\.9, older than 2\.12/);
    for (const fix of fixes) expect((err as Error).message).toContain(fix);
  });

  it('uses a MOSAIC_NATS_SERVER that is new enough', async () => {
    vi.stubEnv('MOSAIC_NATS_SERVER', fakeServer('2.12.4', 'my-nats'));
    await expect(ensureNatsServer()).resolves.toEqual({
      path: join(tmp, 'my-nats'),
      version: '2.12.4',
      source: 'env',
    });
  });

  it('uses a nats-server on PATH that is new enough', async () => {
    fakeServer('2.13.0');
    vi.stubEnv('PATH', `${tmp}${delimiter}${process.env['PATH'] ?? ''}`);
    await expect(ensureNatsServer({ cacheDir: join(tmp, 'cache') })).resolves.toEqual({
      path: join(tmp, 'nats-server'),
      version: '2.13.0',
      source: 'path',
    });
  });

  it('skips a too-old nats-server on PATH, says so, and takes the cached one', async () => {
    const cacheDir = join(tmp, 'cache');
    const cached = join(cacheDir, '2.14.3');
    mkdirSync(cached, { recursive: true });
    writeFileSync(join(cached, 'nats-server'), '#!/bin/sh\necho "nats-server: v2.14.3"\n');
    chmodSync(join(cached, 'nats-server'), 0o755);
    // An older and a broken cache entry must lose against the good one.
    mkdirSync(join(cacheDir, '2.11.0'));
    writeFileSync(
      join(cacheDir, '2.11.0', 'nats-server'),
      '#!/bin/sh\necho "nats-server: v2.11.0"\n',
    );
    chmodSync(join(cacheDir, '2.11.0', 'nats-server'), 0o755);
    mkdirSync(join(cacheDir, '2.15.0'));
    writeFileSync(join(cacheDir, '2.15.0', 'nats-server'), '#!/bin/sh\nexit 3\n');
    chmodSync(join(cacheDir, '2.15.0', 'nats-server'), 0o755);
    fakeServer('2.9.11');
    vi.stubEnv('PATH', `${tmp}${delimiter}${pathWithoutNatsServer()}`);
    const lines: string[] = [];
    await expect(ensureNatsServer({ cacheDir, log: (l) => lines.push(l) })).resolves.toEqual({
      path: join(cached, 'nats-server'),
      version: '2.14.3',
      source: 'cache',
    });
    expect(lines).toContain(
      `skipping ${join(tmp, 'nats-server')} is nats-server 2.9.11, older than 2.12.0 (Debian 12 ships 2.9)`,
    );
    expect(lines.some((l) => l.startsWith(`ignoring cached ${join(cacheDir, '2.15.0')}`))).toBe(
      true,
    );
  });

  it('explains what is missing when nothing is found and apt cannot be used', async () => {
    vi.stubEnv('PATH', tmp);
    const err = await ensureNatsServer({ cacheDir: join(tmp, 'cache') }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_NATS_SERVER_UNAVAILABLE' });
    const message = (err as Error).message;
    expect(message).toContain('no nats-server on PATH');
    expect(message).toContain(`none cached in ${join(tmp, 'cache')}`);
    expect(message).toContain('apt-get, apt-cache, dpkg-deb not found on PATH');
    for (const fix of fixes) expect(message).toContain(fix);
    expect(readdirSync(join(tmp, 'cache'))).toEqual([]);
  });

  it('fetches Debian’s package through the machine’s mirror into an empty cache, once for concurrent callers', async () => {
    const cacheDir = join(tmp, 'cache');
    vi.stubEnv('PATH', pathWithoutNatsServer());
    const lines: string[] = [];
    const [a, b] = await Promise.all([
      ensureNatsServer({ cacheDir, log: (l) => lines.push(`a ${l}`) }),
      ensureNatsServer({ cacheDir, log: (l) => lines.push(`b ${l}`) }),
    ]);
    expect([a.source, b.source].sort()).toEqual(['cache', 'debian']);
    expect(a.path).toBe(b.path);
    expect(a.path).toBe(join(cacheDir, a.version, 'nats-server'));
    expect(parseNatsVersion(execFileSync(a.path, ['--version'], { encoding: 'utf8' }))).toBe(
      a.version,
    );
    expect(lines.filter((l) => l.includes('fetching nats-server with apt'))).toHaveLength(1);
    // No temporary files, lock or partial binary are left behind.
    expect(readdirSync(cacheDir)).toEqual([a.version]);
    expect(readdirSync(dirname(a.path))).toEqual(['nats-server']);
  }, 180_000);
});

describe('bin/setup.ts', () => {
  const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx');
  const runSetup = (args: string[], env: Record<string, string>) =>
    spawnSync(tsx, [setupScript, ...args], {
      encoding: 'utf8',
      env: { ...process.env, MOSAIC_TEST_NATS: 'local', ...env },
    });

  it('prints the binary it found, and nothing with --quiet', () => {
    const loud = runSetup([], {});
    expect(loud.status).toBe(0);
    expect(loud.stdout).toMatch(/^nats-server 2\.\d+\.\d+ at \/\S+ \((env|path|cache|debian)\)\n$/);
    const quiet = runSetup(['--quiet'], {});
    expect(quiet.status).toBe(0);
    expect(quiet.stdout).toBe('');
    expect(quiet.stderr).toBe('');
  });

  it('reports a failure as `error ERR_…: message` on stderr and exits 1', () => {
    const res = runSetup(['--quiet'], { MOSAIC_NATS_SERVER: join(tmp, 'nope') });
    expect(res.status).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(
      /^error ERR_NATS_SERVER_UNAVAILABLE: no usable nats-server >= 2\.12: /,
    );
  });

  it('skips provisioning when tests use NATS_URL', () => {
    const res = runSetup([], {
      MOSAIC_TEST_NATS: '',
      NATS_URL: 'nats://127.0.0.1:4222',
      MOSAIC_NATS_SERVER: join(tmp, 'nope'),
    });
    expect(res.status).toBe(0);
    expect(res.stdout).toContain('NATS_URL=nats://127.0.0.1:4222');
  });
});
