import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { expect } from 'vitest';
import { run, type CliIo } from '../src/index.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI in-process with captured streams and the given standard input; with `tty`,
 * stderr claims to be a terminal (progress bars appear only then). With `until`, a
 * long-running command (mosaic dev) gets SIGTERM once its stdout so far satisfies it.
 */
export async function mosaic(
  argv: string[],
  stdin: string | Uint8Array = '',
  options: { tty?: boolean; until?: (stdout: string) => boolean } = {},
): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough() as PassThrough & { isTTY?: boolean };
  if (options.tty === true) stderr.isTTY = true;
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let signalled = false;
  stdout.on('data', (c: Buffer) => {
    out.push(c);
    if (!signalled && options.until?.(Buffer.concat(out).toString('utf8')) === true) {
      signalled = true;
      // The command's own SIGTERM listener, as a real signal would reach it.
      process.emit('SIGTERM', 'SIGTERM');
    }
  });
  stderr.on('data', (c: Buffer) => err.push(c));
  const io: CliIo = { stdin: Readable.from([Buffer.from(stdin)]), stdout, stderr };
  const code = await run(argv, io);
  return {
    code,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
  };
}

/** Waits (bounded) until the router has acknowledged every stored report. */
export { routerIdle } from '@mosaic/faults';

/**
 * Adds agency be-police (key `k1`, generated into `dir` as `be-police.k1.private.jwk`) to a
 * running hub with the CLI, as an operator would: `keys generate`, then `agency add`.
 */
export async function addBePolice(dir: string, operatorContext: string): Promise<void> {
  const keys = await mosaic([
    'keys',
    'generate',
    '--agency',
    'be-police',
    '--key-id',
    'k1',
    '--out',
    dir,
  ]);
  expect(keys.code, keys.stderr).toBe(0);
  const file = join(dir, 'be-police.json');
  await writeFile(
    file,
    JSON.stringify({
      id: 'be-police',
      name: 'Belgian Federal Police',
      kind: 'police',
      jurisdictions: ['BE'],
      contact: { email: 'demo-be@police.example' },
      keys: [{ keyId: 'k1', publicJwk: JSON.parse(keys.stdout) as object }],
    }),
  );
  const added = await mosaic([
    'agency',
    'add',
    '--context',
    operatorContext,
    '--file',
    file,
    '--reason',
    'MoU',
  ]);
  expect(added.code, added.stderr).toBe(0);
}

/**
 * A GREEN recruitment report of nl-police about NL, issued a minute ago under a fresh id:
 * in the demo federation ngo-lastrada and others receive it.
 */
export function recruitment(lineage?: object): { reportId: string } & Record<string, unknown> {
  return {
    schemaVersion: '1.0',
    reportId: randomUUID(),
    issuer: 'nl-police',
    issuedAt: new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    origin: 'NL',
    jurisdictions: ['NL'],
    category: 'recruitment',
    indicators: [{ type: 'phone', number: '+31612345678' }],
    narrative: 'Job offers abroad with debt bondage.',
    grading: { sourceReliability: 'B', informationCredibility: 2, confidence: 70 },
    handling: { tlp: 'GREEN' },
    ...(lineage === undefined ? {} : { lineage }),
  };
}
