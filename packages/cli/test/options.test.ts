import { describe, expect, it } from 'vitest';
import { defineCommand, parseCommandArgs } from '../src/command.ts';
import { ExitCode } from '../src/exit-codes.ts';
import { duration, flag, integer, list, oneOf, string, time } from '../src/options.ts';
import { mosaic } from './helpers.ts';

const probe = defineCommand({
  path: ['probe'],
  summary: 'a command to parse with',
  usage: 'Usage: mosaic probe',
  footer: 'Exit codes: 0.',
  options: {
    name: string({ placeholder: '<id>', description: 'a name', required: true }),
    count: integer({ min: 1, max: 10, description: 'how many' }),
    port: integer({ min: 0, max: 65_535, description: 'a port', default: 4222 }),
    at: time({ accepts: 'utc-or-now', description: 'when' }),
    since: time({ accepts: 'rfc3339-or-date', description: 'since' }),
    wait: duration({ description: 'how long' }),
    format: oneOf({ values: ['ndjson', 'csv'], description: 'format', default: 'ndjson' }),
    to: list({ description: 'who' }),
    verbose: flag({ description: 'say more' }),
  },
  positionals: { min: 0, max: 1 },
  run: () => Promise.resolve(ExitCode.Ok),
});

function parse(...argv: string[]): Record<string, unknown> {
  return { ...parseCommandArgs(probe, ['--name', 'n', ...argv]).values };
}

function refusal(argv: string[]): string {
  try {
    parseCommandArgs(probe, argv);
  } catch (err) {
    expect(err).toMatchObject({ code: 'ERR_USAGE' });
    return (err as Error).message;
  }
  throw new Error(`${argv.join(' ')} was accepted`);
}

describe('typed options', () => {
  it('returns typed values, defaults for absent options', () => {
    expect(parse()).toEqual({
      name: 'n',
      count: undefined,
      port: 4222,
      at: undefined,
      since: undefined,
      wait: undefined,
      format: 'ndjson',
      to: undefined,
      verbose: false,
    });
    expect(
      parse(
        '--count=3',
        '--port',
        '0',
        '--at',
        'now',
        '--since',
        '2025-06-01',
        '--wait',
        '2m',
        '--format',
        'csv',
        '--to',
        'a, b,,c',
        '--verbose',
      ),
    ).toEqual({
      name: 'n',
      count: 3,
      port: 0,
      at: 'now',
      since: '2025-06-01',
      wait: 120_000,
      format: 'csv',
      to: ['a', 'b', 'c'],
      verbose: true,
    });
    expect(parse('--wait', '90')).toMatchObject({ wait: 90_000 });
    expect(parse('--wait', '500ms')).toMatchObject({ wait: 500 });
    expect(parse('--at', '2026-01-31T12:00:00Z')).toMatchObject({ at: '2026-01-31T12:00:00Z' });
    expect(parse('--since', '2025-06-01T10:00+02:00')).toMatchObject({
      since: '2025-06-01T10:00+02:00',
    });
  });

  it.each([
    [['--count', '0'], 'mosaic probe: --count must be an integer from 1 to 10, not "0"'],
    [['--count', '1.5'], '--count must be an integer from 1 to 10, not "1.5"'],
    [['--port', '65536'], '--port must be an integer from 0 to 65535, not "65536"'],
    [['--at', 'yesterday'], '--at must be an RFC 3339 time such as 2026-01-31T12:00:00Z, or "now"'],
    [['--at', '2026-01-31'], '--at must be an RFC 3339 time'],
    [['--since', 'now'], '--since must be an RFC 3339 time (2025-06-01T00:00:00Z) or a date'],
    [['--wait', '1h'], '--wait must be a duration such as 60s, 2m or 500ms, not "1h"'],
    [['--format', 'xml'], '--format must be ndjson or csv, not "xml"'],
    [['--format', 'cvs'], '--format must be ndjson or csv, not "cvs" (did you mean csv?)'],
    [['--to', ','], '--to must be a comma-separated list'],
    [['--name', ''], '--name must be a non-empty <id>, not ""'],
  ])('%j: one usage message naming the option and what it takes', (argv, message) => {
    expect(refusal(['--name', 'n', ...argv])).toContain(message);
  });

  it.each([
    [[], 'mosaic probe: --name is required (see --help)'],
    [['--name'], '--name needs a value <id>'],
    [['--name', '--verbose'], '--name needs a value <id>, not the option "--verbose"'],
    [['--name', 'n', '--verbose=yes'], '--verbose takes no value'],
    [['--name', 'n', '--cuont', '2'], 'unknown option --cuont (did you mean --count?)'],
    [['--name', 'n', '--frob'], 'unknown option --frob (see --help)'],
    [['--name', 'n', 'a', 'b'], 'unexpected argument "b"'],
  ])('%j is refused', (argv, message) => {
    expect(refusal(argv)).toContain(message);
  });

  it('takes a value that starts with "-" when it is written with "="', () => {
    expect(parse('--to=-x')).toMatchObject({ to: ['-x'] });
  });
});

describe('usage errors of the commands, before anything is read or connected', () => {
  it.each([
    [
      ['replay', '--context', 'c.json', '--stream', 'report', '--reason', 'r'],
      'mosaic replay: --stream must be reports, alerts, rejections or audit, not "report" (did you mean reports?)',
    ],
    [
      ['replay', '--context', 'c.json', '--stream', 'reports', '--reason', 'r', '--from-seq', '0'],
      'mosaic replay: --from-seq must be an integer >= 1, not "0"',
    ],
    [
      ['replay', '--context', 'c.json', '--stream', 'reports', '--reason', 'r', '--since', 'x'],
      'mosaic replay: --since must be an RFC 3339 time such as 2026-01-31T12:00:00Z, or "now"',
    ],
    [
      ['replay', '--context', 'c.json', '--stream', 'audit', '--reason', 'r', '--verify'],
      'mosaic replay: --verify applies to reports and alerts',
    ],
    [
      ['subscribe', '--context', 'c.json', '--reconnect-timeout', 'soon'],
      'mosaic subscribe: --reconnect-timeout must be a duration such as 60s, 2m or 500ms',
    ],
    [
      ['subscribe', '--context', 'c.json', '--key-source', 'hbu'],
      'mosaic subscribe: --key-source must be "hub", not "hbu" (did you mean hub?)',
    ],
    [['dev', '--port', '70000'], 'mosaic dev: --port must be an integer from 0 to 65535'],
    [
      [
        'keys',
        'revoke',
        '--context',
        'c.json',
        '--agency',
        'a',
        '--key-id',
        'k',
        '--reason',
        'r',
        '--at',
        'soon',
      ],
      'mosaic keys revoke: --at must be an RFC 3339 time',
    ],
    [
      ['agreements', 'remove', '--context', 'c.json', '--id', 'x', '--reason', 'r'],
      'mosaic agreements remove: --id must be an integer >= 0, not "x"',
    ],
    [
      ['publish', '--context', 'c.json', '--key', 'k.jwk', '--concurrency', '0', '--ndjson', 'x'],
      'mosaic publish: --concurrency must be an integer from 1 to 1024, not "0"',
    ],
    [
      ['audit', 'verify', '--contxt', 'c.json'],
      'mosaic audit verify: unknown option --contxt (did you mean --context?)',
    ],
  ])('%j', async (argv, message) => {
    const res = await mosaic(argv);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain(`error ERR_USAGE: ${message}`);
  });
});
