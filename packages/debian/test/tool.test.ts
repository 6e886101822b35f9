import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  debianTools,
  ensureDebianTool,
  ensureFaketime,
  parseToolArg,
  toolEnvVar,
} from '../src/index.ts';

const setupScript = fileURLToPath(new URL('../bin/setup.ts', import.meta.url));
const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));

/**
 * PATH where no directory holds any of `names`, so the cache or apt must serve: each directory that
 * has it is replaced by a copy of links to everything else in it (with a merged /usr,
 * /usr/bin holds `ip` as well as apt-get).
 */
function pathWithout(names: readonly string[], scratch: string): string {
  return (process.env['PATH'] ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '')
    .map((dir, i) => {
      if (!names.some((name) => existsSync(join(dir, name)))) return dir;
      const copy = join(scratch, `path-${i}`);
      mkdirSync(copy, { recursive: true });
      for (const entry of readdirSync(dir))
        if (!names.includes(entry)) symlinkSync(join(dir, entry), join(copy, entry));
      return copy;
    })
    .join(delimiter);
}

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'debian-tool-test-'));
  vi.stubEnv('MOSAIC_FAKETIME', '');
  vi.stubEnv('MOSAIC_IP', '');
  vi.stubEnv('MOSAIC_TC', '');
});
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(tmp, { recursive: true, force: true });
});

describe('ensureFaketime (real fetch)', () => {
  // One cache for the block: the first test fills it, the others use it.
  let shared: string;
  beforeAll(() => {
    shared = mkdtempSync(join(tmpdir(), 'debian-faketime-test-'));
  });
  afterAll(() => {
    rmSync(shared, { recursive: true, force: true });
  });

  it('fetches faketime and libfaketime once for concurrent callers; a child date sees the faked time', async () => {
    const cacheDir = join(shared, 'debian');
    vi.stubEnv('PATH', pathWithout(['faketime'], tmp));
    const lines: string[] = [];
    const [a, b] = await Promise.all([
      ensureFaketime({ cacheDir, log: (l) => lines.push(`a ${l}`) }),
      ensureFaketime({ cacheDir, log: (l) => lines.push(`b ${l}`) }),
    ]);
    expect([a.tool.source, b.tool.source].sort()).toEqual(['cache', 'debian']);
    expect(a.library).toBe(b.library);
    expect(lines.filter((l) => l.includes('fetching faketime with apt'))).toHaveLength(1);
    const entry = readdirSync(cacheDir);
    expect(entry).toHaveLength(1);
    expect(entry[0]).toMatch(/^faketime_\d/);
    expect(a.tool.path).toBe(join(cacheDir, entry[0]!, 'root', 'usr', 'bin', 'faketime'));
    expect(a.library.startsWith(join(cacheDir, entry[0]!, 'root', 'usr', 'lib'))).toBe(true);

    const date = (env: NodeJS.ProcessEnv): string =>
      execFileSync('date', ['-u', '+%Y-%m-%d'], { encoding: 'utf8', env }).trim();
    const faked = date({ ...process.env, ...a.env('@2001-02-03 04:05:06', {}), TZ: 'UTC' });
    expect(faked).toBe('2001-02-03');
    expect(date(process.env)).not.toBe('2001-02-03');
    // A relative offset, and a preload already there is kept after libfaketime.
    const env = a.env('-3650d', { LD_PRELOAD: '/nonexistent/other.so' });
    expect(env['LD_PRELOAD']).toBe(`${a.library}:/nonexistent/other.so`);
    const tenYearsAgo = Number(date({ ...process.env, ...a.env('-3650d', {}) }).slice(0, 4));
    expect(tenYearsAgo).toBeLessThanOrEqual(new Date().getUTCFullYear() - 9);
  }, 300_000);

  it('bin/setup.ts prints what it found, nothing with --quiet, and a coded error', () => {
    const env = { ...process.env, MOSAIC_CACHE_DIR: shared, PATH: pathWithout(['faketime'], tmp) };
    const loud = spawnSync(tsx, [setupScript, 'faketime'], { encoding: 'utf8', env });
    expect(loud.stderr).toContain('using faketime at');
    expect(loud.status).toBe(0);
    expect(loud.stdout).toMatch(/^faketime at \/\S+\/usr\/bin\/faketime \(cache\)\n$/);
    const quiet = spawnSync(tsx, [setupScript, '--quiet', 'faketime'], { encoding: 'utf8', env });
    expect([quiet.status, quiet.stdout, quiet.stderr]).toEqual([0, '', '']);
    const bad = spawnSync(tsx, [setupScript, '--quiet', 'faketime'], {
      encoding: 'utf8',
      env: { ...env, MOSAIC_FAKETIME: join(shared, 'nope') },
    });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/^error ERR_DEBIAN_TOOL_UNAVAILABLE: no usable faketime /);
    const usage = spawnSync(tsx, [setupScript], { encoding: 'utf8', env });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('usage:');
  }, 60_000);
});

describe('ensureDebianTool', () => {
  it('fetches iproute2 into an empty cache when ip and tc are not on PATH; ip -V runs; tc comes from the same entry', async () => {
    const cacheDir = join(tmp, 'cache');
    vi.stubEnv('PATH', pathWithout(['ip', 'tc'], tmp));
    const lines: string[] = [];
    const ip = await ensureDebianTool(debianTools.ip, { cacheDir, log: (l) => lines.push(l) });
    expect(ip.source).toBe('debian');
    expect(ip.package).toBe('iproute2');
    expect(ip.path.startsWith(join(cacheDir, `iproute2_${ip.version ?? ''}`, 'root'))).toBe(true);
    const printed = execFileSync(ip.path, ['-V'], {
      encoding: 'utf8',
      env: { ...process.env, ...ip.env },
    });
    expect(printed).toMatch(/^ip utility, iproute2-/);

    const tc = await ensureDebianTool(debianTools.tc, { cacheDir, log: (l) => lines.push(l) });
    expect(tc.source).toBe('cache');
    expect(tc.version).toBe(ip.version);
    expect(lines.filter((l) => l.startsWith('fetching iproute2 with apt'))).toHaveLength(1);
    expect(readdirSync(cacheDir)).toEqual([`iproute2_${ip.version ?? ''}`]);
  }, 300_000);

  it('refuses an override that does not work, naming the variable and the apt command', async () => {
    vi.stubEnv('MOSAIC_IP', join(tmp, 'missing', 'ip'));
    const err = await ensureDebianTool(debianTools.ip, { cacheDir: join(tmp, 'cache') }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({
      code: 'ERR_DEBIAN_TOOL_UNAVAILABLE',
      details: { envVar: 'MOSAIC_IP', command: 'sudo apt-get install iproute2' },
    });
    const message = (err as Error).message;
    expect(message).toContain(`MOSAIC_IP=${join(tmp, 'missing', 'ip')} cannot be used`);
    expect(message).toContain('sudo apt-get install iproute2');
    expect(message).toContain('set MOSAIC_IP=/path/to/ip');
    expect(existsSync(join(tmp, 'cache'))).toBe(false);
  });

  it('explains every reason when nothing is on PATH and apt cannot be used', async () => {
    vi.stubEnv('PATH', tmp);
    const cacheDir = join(tmp, 'cache');
    const err = await ensureDebianTool(debianTools.ip, { cacheDir }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_DEBIAN_TOOL_UNAVAILABLE' });
    const message = (err as Error).message;
    expect(message).toContain('no ip on PATH');
    expect(message).toContain(`none cached in ${cacheDir}`);
    expect(message).toContain('apt-get, apt-cache, dpkg-deb not found on PATH');
    // The lock is released and nothing half-made is left in the cache.
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it('stops with a coded error when the apt sources name no Debian mirror', async () => {
    const etcApt = join(tmp, 'apt');
    mkdirSync(etcApt);
    vi.stubEnv('PATH', pathWithout(['ip'], tmp));
    const cacheDir = join(tmp, 'cache');
    const err = await ensureDebianTool(debianTools.ip, { cacheDir, etcApt }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'ERR_DEBIAN_TOOL_UNAVAILABLE' });
    expect((err as Error).message).toContain(`no Debian archive mirror`);
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it('follows links inside a cached tree only, and takes the newest entry that works', async () => {
    const cacheDir = join(tmp, 'cache');
    const entry = (version: string, link: string): string => {
      const root = join(cacheDir, `mosaic-probe_${version}`, 'root');
      mkdirSync(join(root, 'usr', 'bin'), { recursive: true });
      mkdirSync(join(root, 'usr', 'lib', 'mosaic'), { recursive: true });
      writeFileSync(join(root, 'usr', 'lib', 'mosaic', 'real'), '#!/bin/sh\necho probe-ok\n');
      chmodSync(join(root, 'usr', 'lib', 'mosaic', 'real'), 0o755);
      symlinkSync(link, join(root, 'usr', 'bin', 'mosaic-probe'));
      writeFileSync(
        join(cacheDir, `mosaic-probe_${version}`, 'manifest.json'),
        JSON.stringify({ package: 'mosaic-probe', version, unpacked: [] }),
      );
      return root;
    };
    // An absolute link is read inside the tree; one leading out of it is not followed.
    const good = entry('1.0', '/usr/lib/mosaic/real');
    entry('2.0', '../../../../../../../../bin/sh');
    vi.stubEnv('PATH', tmp);
    const lines: string[] = [];
    const tool = await ensureDebianTool(
      { package: 'mosaic-probe', binary: 'mosaic-probe', probe: [] },
      { cacheDir, log: (l) => lines.push(l) },
    );
    expect(tool).toMatchObject({
      path: join(good, 'usr', 'lib', 'mosaic', 'real'),
      source: 'cache',
      version: '1.0',
      root: good,
    });
    expect(lines).toContain(
      `ignoring cached ${join(cacheDir, 'mosaic-probe_2.0')}: no mosaic-probe in it`,
    );
  });
});

describe('parseToolArg and toolEnvVar', () => {
  it('names a known tool, <package>:<binary>, or a package whose program has its name', () => {
    expect(parseToolArg('ip')).toBe(debianTools.ip);
    expect(parseToolArg('promtool')).toMatchObject({ package: 'prometheus', binary: 'promtool' });
    expect(parseToolArg('iproute2:ss')).toEqual({ package: 'iproute2', binary: 'ss' });
    expect(parseToolArg('jq')).toEqual({ package: 'jq', binary: 'jq' });
    expect(parseToolArg('toString')).toEqual({ package: 'toString', binary: 'toString' });
    expect(toolEnvVar('ip')).toBe('MOSAIC_IP');
    expect(toolEnvVar('nats-server')).toBe('MOSAIC_NATS_SERVER');
  });
});
