import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensurePythonPackage, jwcrypto, pythonArgs, systemPython } from '../src/index.ts';

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'debian-python-test-'));
});
afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const absent = {
  package: 'python3-mosaic-absent',
  imports: ['mosaic_absent'],
  pip: 'mosaic-absent',
};

describe('pythonArgs', () => {
  it('runs the system python3 isolated, with the given directories first on sys.path', () => {
    mkdirSync(join(tmp, 'site'));
    writeFileSync(join(tmp, 'site', 'mosaic_probe.py'), 'WHERE = "site"\n');
    writeFileSync(
      join(tmp, 'main.py'),
      'import sys, mosaic_probe\nprint(mosaic_probe.WHERE, sys.argv[1:])\n',
    );
    const out = execFileSync(
      systemPython,
      pythonArgs([join(tmp, 'site')], join(tmp, 'main.py'), 'a', 'b'),
      {
        encoding: 'utf8',
        // -I must ignore it: only the bootstrap's directories count.
        env: { ...process.env, PYTHONPATH: join(tmp, 'elsewhere') },
      },
    );
    expect(out).toBe("site ['a', 'b']\n");
    expect(
      execFileSync(
        systemPython,
        pythonArgs([join(tmp, 'site')], '-c', 'import mosaic_probe, sys; print(sys.argv)', 'x'),
        {
          encoding: 'utf8',
        },
      ),
    ).toBe("['-c', 'x']\n");
  });
});

describe('ensurePythonPackage', () => {
  it('provides python3-jwcrypto for /usr/bin/python3 (integration)', async () => {
    const lines: string[] = [];
    const found = await ensurePythonPackage(jwcrypto, { log: (line) => lines.push(line) });
    expect(found.python).toBe(systemPython);
    expect(['system', 'cache', 'debian']).toContain(found.source);
    const version = execFileSync(
      systemPython,
      pythonArgs(found.paths, '-c', 'import jwcrypto, jwcrypto.jws; print(jwcrypto.__file__)'),
      { encoding: 'utf8' },
    );
    if (found.source !== 'system') expect(version.startsWith(found.paths[0]!)).toBe(true);
    expect(lines.at(-1)).toMatch(
      /^using python3-jwcrypto for \/usr\/bin\/python3 \((system|cache|debian)\)/,
    );
  }, 600_000);

  it('stops with a coded error giving the exact command when there is no Debian mirror', async () => {
    const etcApt = join(tmp, 'apt');
    mkdirSync(etcApt);
    const cacheDir = join(tmp, 'cache');
    const err = await ensurePythonPackage(absent, { etcApt, cacheDir }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'ERR_PYTHON_PACKAGE_UNAVAILABLE',
      details: { command: 'sudo apt-get install python3-mosaic-absent' },
    });
    const message = (err as Error).message;
    expect(message).toContain("No module named 'mosaic_absent'");
    expect(message).toContain(`no Debian archive mirror`);
    expect(message).toContain('\n  sudo apt-get install python3-mosaic-absent\n');
    expect(message).toContain('\n  sudo /usr/bin/python3 -m pip install mosaic-absent\n');
    // The lock is released and nothing half-made is left in the cache.
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it('stops with a coded error when the interpreter does not exist', async () => {
    const python = join(tmp, 'no-python3');
    const err = await ensurePythonPackage(jwcrypto, { python, cacheDir: join(tmp, 'cache') }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'ERR_PYTHON_PACKAGE_UNAVAILABLE' });
    expect((err as Error).message).toContain(python);
    expect((err as Error).message).toContain('sudo apt-get install python3-jwcrypto');
    expect(existsSync(join(tmp, 'cache'))).toBe(false);
  });
});
