import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, errorClass, type ErrorCode as Code } from '@mosaic/errors';
import { ExitCode, exitCodeOf } from '../src/exit-codes.ts';
import { reportError } from '../src/io.ts';
import { mosaic } from './helpers.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-cli-exit-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('exit codes', () => {
  it('are a function of the error class for every code, ERR_OUTPUT_CLOSED aside', () => {
    const byClass = { input: 1, usage: 2, environment: 3, internal: 4 } as const;
    for (const code of Object.values(ErrorCode)) {
      const expected = code === ErrorCode.OutputClosed ? 141 : byClass[errorClass(code)];
      expect(exitCodeOf(code), code).toBe(expected);
    }
  });

  it('give a bug 4, a failed environment 3, refused input 1 and a wrong call 2', () => {
    expect(exitCodeOf(ErrorCode.Internal)).toBe(ExitCode.Internal);
    expect(exitCodeOf(ErrorCode.Registry)).toBe(ExitCode.Environment);
    expect(exitCodeOf(ErrorCode.Schema)).toBe(ExitCode.Rejected);
    expect(exitCodeOf(ErrorCode.Usage)).toBe(ExitCode.Usage);
  });

  it('treat a code of a newer hub, passed on from its reply, as a refusal', () => {
    expect(exitCodeOf('ERR_FROM_A_NEWER_HUB' as Code)).toBe(ExitCode.Rejected);
  });
});

describe('error output', () => {
  const capture = (err: Parameters<typeof reportError>[1], prefix?: string): string => {
    const stream = new PassThrough();
    reportError(stream, err, prefix);
    stream.end();
    return String(stream.read() ?? '');
  };

  it('prints details.issues of any code, one line each, (root) for the value itself', () => {
    const issues = [
      { path: '', code: 'unrecognized_keys', message: 'Unrecognized key: "x"' },
      { path: 'inboxPrefix', code: 'custom', message: 'must be _INBOX_nl' },
    ];
    for (const code of [ErrorCode.Schema, ErrorCode.ContextFile, ErrorCode.AuditEntry])
      expect(capture({ code, message: 'invalid', details: { issues } })).toBe(
        `error ${code}: invalid\n  (root): Unrecognized key: "x"\n  inboxPrefix: must be _INBOX_nl\n`,
      );
    expect(
      capture({ code: ErrorCode.Io, message: 'gone', details: { path: 'x' } }, 'line 2: '),
    ).toBe('line 2: error ERR_IO: gone\n');
  });

  it('shows the issues of an invalid context file given to mosaic publish, exit 3', async () => {
    const context = join(dir, 'bad-context.json');
    await writeFile(context, JSON.stringify({ version: 1, url: 'nats://127.0.0.1:4222' }));
    const res = await mosaic([
      'publish',
      '--context',
      context,
      '--key',
      join(dir, 'absent.jwk'),
      new URL('../../../schemas/examples/valid/recruitment-advert.json', import.meta.url).pathname,
    ]);
    expect(res.code, res.stderr).toBe(3);
    const [first, ...rest] = res.stderr.trimEnd().split('\n');
    expect(first).toMatch(/^error ERR_CONTEXT_FILE: .*is not a valid context file/);
    expect(rest.length).toBeGreaterThan(0);
    for (const line of rest) expect(line).toMatch(/^ {2}\S+: \S/);
    expect(res.stderr).toContain('  role: ');
  });
});
