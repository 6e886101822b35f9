import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../src/index.ts';
import { mosaic } from './helpers.ts';

const examples = new URL('../../../schemas/examples/', import.meta.url);
const validDir = new URL('valid/', examples);
const recruitment = new URL('recruitment-advert.json', validDir).pathname;
const badIban = new URL('invalid/iban-check-digits.json', examples).pathname;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function generate(agency: string, keyId: string): Promise<{ priv: string; pub: string }> {
  const res = await mosaic([
    'keys',
    'generate',
    '--agency',
    agency,
    '--key-id',
    keyId,
    '--out',
    dir,
  ]);
  expect(res.code, res.stderr).toBe(0);
  return {
    priv: join(dir, `${agency}.${keyId}.private.jwk`),
    pub: join(dir, `${agency}.${keyId}.public.jwk`),
  };
}

describe('mosaic help', () => {
  it('lists every command and exits 0 with --help', async () => {
    const res = await mosaic(['--help']);
    expect(res.code).toBe(0);
    for (const c of commands) expect(res.stdout).toContain(c.path.join(' '));
  });

  it('prints usage on stderr and exits 2 without arguments', async () => {
    const res = await mosaic([]);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain('Usage: mosaic <command>');
  });

  it.each(commands.map((c) => [c.path.join(' '), c] as const))(
    '%s --help shows its usage, options and exit codes',
    async (_name, command) => {
      const res = await mosaic([...command.path, '--help']);
      expect(res.code).toBe(0);
      expect(res.stdout).toContain(`Usage: mosaic ${command.path.join(' ')}`);
      expect(res.stdout).toContain('Exit codes');
      expect(res.stdout).toContain('141 when standard output is closed by its reader');
    },
  );

  it('refuses an unknown command and an unknown flag with ERR_USAGE', async () => {
    const unknown = await mosaic(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('error ERR_USAGE: unknown command "frobnicate"');
    expect(unknown.stderr).toContain('Usage: mosaic <command>');
    const flag = await mosaic(['schema', 'validate', '--frob', recruitment]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/^error ERR_USAGE: .*--frob/);
  });

  it.each([
    [['subscibe', '--context', 'x.json'], '"mosaic subscribe"'],
    [['pubilsh'], '"mosaic publish"'],
    [['keys', 'genrate', '--agency', 'x'], '"mosaic keys generate"'],
    [['audit', 'veriyf'], '"mosaic audit verify"'],
    [['rules', 'shwo'], '"mosaic rules show"'],
    [['keys'], '"mosaic keys generate" or "mosaic keys rotate" or "mosaic keys revoke"'],
  ])('suggests the nearest command for %j and exits 2', async (argv, suggestion) => {
    const res = await mosaic(argv);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^error ERR_USAGE: unknown command /);
    expect(res.stderr).toContain(`did you mean ${suggestion}?`);
  });

  it('prints the version', async () => {
    const res = await mosaic(['--version']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});

describe('mosaic keys generate', () => {
  it('writes a 0600 private JWK and a public JWK, and prints the public one', async () => {
    const res = await mosaic([
      'keys',
      'generate',
      '--agency',
      'nl-police',
      '--key-id',
      'k1',
      '--out',
      dir,
    ]);
    expect(res.code, res.stderr).toBe(0);
    const printed = JSON.parse(res.stdout) as Record<string, unknown>;
    expect(printed).toMatchObject({ kty: 'OKP', crv: 'Ed25519', kid: 'nl-police/k1' });
    expect(printed).not.toHaveProperty('d');
    const priv = join(dir, 'nl-police.k1.private.jwk');
    expect((await stat(priv)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(join(dir, 'nl-police.k1.public.jwk'), 'utf8'))).toEqual(
      printed,
    );
    expect(JSON.parse(await readFile(priv, 'utf8'))).toHaveProperty('d');
    expect(res.stderr).toContain('mode 0600');
  });

  it('creates a missing --out directory (parents too) with mode 0700', async () => {
    const out = join(dir, 'new', 'keys');
    const res = await mosaic([
      'keys',
      'generate',
      '--agency',
      'nl-police',
      '--key-id',
      'k9',
      '--out',
      out,
    ]);
    expect(res.code, res.stderr).toBe(0);
    expect((await stat(out)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'new'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(out, 'nl-police.k9.private.jwk'))).mode & 0o777).toBe(0o600);
  });

  it('never overwrites an existing key', async () => {
    await generate('de-bka', 'k1');
    const before = await readFile(join(dir, 'de-bka.k1.private.jwk'), 'utf8');
    const res = await mosaic([
      'keys',
      'generate',
      '--agency',
      'de-bka',
      '--key-id',
      'k1',
      '--out',
      dir,
    ]);
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/^error ERR_IO: /);
    expect(await readFile(join(dir, 'de-bka.k1.private.jwk'), 'utf8')).toBe(before);
  });

  it('requires --agency and refuses an agency id that is not a subject token', async () => {
    const missing = await mosaic(['keys', 'generate', '--out', dir]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--agency is required');
    const bad = await mosaic(['keys', 'generate', '--agency', 'nl.police', '--out', dir]);
    expect(bad.code).toBe(2);
    expect(await readdir(dir)).not.toContain(expect.stringContaining('nl.police'));
  });
});

describe('mosaic sign / verify', () => {
  it('round-trips every valid example and prints the exact signed bytes', async () => {
    const files = (await readdir(validDir)).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const file of files) {
      const bytes = await readFile(new URL(file, validDir));
      const issuer = (JSON.parse(bytes.toString('utf8')) as { issuer: string }).issuer;
      const keyId = `rt-${file.replace(/\.json$/, '').slice(0, 40)}`;
      const key = await generate(issuer, keyId);
      const signed = await mosaic(['sign', '--key', key.priv, new URL(file, validDir).pathname]);
      expect(signed.code, signed.stderr).toBe(0);
      expect(signed.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
      const verified = await mosaic(['verify', '--jwks', key.pub, '-'], signed.stdout);
      expect(verified.code, verified.stderr).toBe(0);
      const expected = bytes.toString('utf8');
      expect(verified.stdout).toBe(expected.endsWith('\n') ? expected : `${expected}\n`);
    }
  });

  it('refuses to sign an invalid report, naming the field', async () => {
    const key = await generate('de-bka', 'k2');
    const res = await mosaic(['sign', '--key', key.priv, badIban]);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^error ERR_SCHEMA: /);
    expect(res.stderr).toContain('indicators.0.iban');
  });

  it('refuses a tampered JWS with ERR_SIG_INVALID and exit 1', async () => {
    const key = await generate('ro-dicot', 'k1');
    const signed = await mosaic(['sign', '--key', key.priv, recruitment]);
    const [h, p, s] = signed.stdout.trim().split('.');
    const payload = Buffer.from(p!, 'base64url').toString('utf8').replace('"AMBER"', '"CLEAR"');
    expect(payload).toContain('"CLEAR"');
    const tampered = `${h!}.${Buffer.from(payload).toString('base64url')}.${s!}`;
    const res = await mosaic(['verify', '--jwks', key.pub, '-'], tampered);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^error ERR_SIG_INVALID: /);
  });

  it('refuses a JWS whose key is not in the given key set', async () => {
    const signer = await generate('ro-dicot', 'k2');
    const other = await generate('ro-dicot', 'k3');
    const signed = await mosaic(['sign', '--key', signer.priv, recruitment]);
    const res = await mosaic(['verify', '--jwks', other.pub, '-'], signed.stdout);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^error ERR_KEY_UNKNOWN: /);
  });

  it('says --key is a public key when given one, not chmod advice', async () => {
    const key = await generate('ro-dicot', 'k5');
    const res = await mosaic(['sign', '--key', key.pub, recruitment]);
    expect(res.code).toBe(3);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^error ERR_KEY_FILE: .*is a public key.*private key/);
    expect(res.stderr).not.toContain('chmod');
  });

  it('reports a missing file as an environment error', async () => {
    const key = await generate('ro-dicot', 'k4');
    const res = await mosaic(['sign', '--key', key.priv, join(dir, 'nope.json')]);
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/^error ERR_IO: cannot read .*nope\.json/);
    const noKey = await mosaic(['sign', '--key', join(dir, 'nope.jwk'), recruitment]);
    expect(noKey.code).toBe(3);
    expect(noKey.stderr).toMatch(/^error ERR_(IO|KEY_FILE): /);
  });
});

describe('mosaic schema validate', () => {
  it('accepts a valid report from a file and from stdin', async () => {
    const fromFile = await mosaic(['schema', 'validate', recruitment]);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    const report = JSON.parse(await readFile(recruitment, 'utf8')) as { reportId: string };
    expect(JSON.parse(fromFile.stdout)).toEqual({
      valid: true,
      reportId: report.reportId,
      issuer: 'ro-dicot',
    });
    const fromStdin = await mosaic(['schema', 'validate', '-'], await readFile(recruitment));
    expect(fromStdin.stdout).toBe(fromFile.stdout);
  });

  it('rejects every invalid example with its expected code', async () => {
    const expected = JSON.parse(
      await readFile(new URL('invalid/expected.json', examples), 'utf8'),
    ) as Record<string, { code: string; path?: string }>;
    for (const [file, want] of Object.entries(expected)) {
      const res = await mosaic([
        'schema',
        'validate',
        new URL(`invalid/${file}`, examples).pathname,
      ]);
      expect(res.code, file).toBe(1);
      expect(res.stdout, file).toBe('');
      expect(res.stderr, file).toMatch(new RegExp(`^error ${want.code}: `));
      if (want.code === 'ERR_SCHEMA' && want.path !== undefined) {
        expect(res.stderr, file).toContain(`  ${want.path === '' ? '(root)' : want.path}: `);
      }
    }
  });

  it('rejects garbage with a JSON error, not a crash', async () => {
    const res = await mosaic(['schema', 'validate', '-'], Buffer.from([0xff, 0xfe, 0x00, 0x7b]));
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^error ERR_JSON_SYNTAX: /);
  });
});

describe('mosaic demo', () => {
  it('verifies the examples and shows each forgery refused with its code', async () => {
    const res = await mosaic(['demo']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('accepted  recruitment-advert.json');
    for (const code of ['ERR_SIG_INVALID', 'ERR_ISSUER_MISMATCH', 'ERR_JWS_ALG', 'ERR_SCHEMA']) {
      expect(res.stdout).toContain(code);
    }
    expect(res.stdout).not.toContain('NOT REFUSED');
  });
});

describe('the mosaic bin', () => {
  it('runs from the TypeScript source through npx with results on stdout', async () => {
    const root = new URL('../../../', import.meta.url).pathname;
    const { stdout } = await promisify(execFile)(
      'npx',
      ['--no-install', 'mosaic', 'schema', 'validate', recruitment],
      { cwd: root },
    );
    expect(JSON.parse(stdout)).toMatchObject({ valid: true, issuer: 'ro-dicot' });
  });

  it('exits non-zero with the code on stderr when a report is invalid', async () => {
    const bin = new URL('../bin/mosaic.js', import.meta.url).pathname;
    const result = await promisify(execFile)(process.execPath, [
      bin,
      'schema',
      'validate',
      badIban,
    ]).then(
      () => ({ code: 0, stderr: '' }),
      (err: unknown) => err as { code: number; stderr: string },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error ERR_SCHEMA');
  });

  it('stops quietly with exit 141 when the reader of its stdout pipe has gone', async () => {
    const bin = new URL('../bin/mosaic.js', import.meta.url).pathname;
    // "mosaic demo" writes many lines without a hub; the shared output guard stops it.
    // The reader closes its end before the child can write (the child needs far longer
    // than this tick to start), so every write fails, whatever the machine's speed. Had it
    // read a line first, a fast child could have written all its output into the pipe's
    // buffer before the reader closed, and exited 0.
    const child = spawn(process.execPath, [bin, 'demo'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      const [code] = await exited;
      expect(code, stderr).toBe(141);
      expect(stderr).toBe('');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
