import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { errnoOf } from '@mosaic/errors';

export interface RunResult {
  stdout: string;
  stderr: string;
}

export type RunOutcome = ({ ok: true } & RunResult) | ({ ok: false; reason: string } & RunResult);

/** Runs a program to completion; a failure to start, a timeout or a non-zero exit is a reason. */
export function run(
  file: string,
  args: readonly string[],
  options: {
    cwd?: string;
    timeoutMs?: number;
    label?: string;
    /** Added to the environment (which always has `LC_ALL=C`). */
    env?: Readonly<Record<string, string>>;
  } = {},
): Promise<RunOutcome> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        cwd: options.cwd,
        timeout: options.timeoutMs ?? 10_000,
        maxBuffer: 32 * 1024 * 1024,
        encoding: 'utf8',
        env: { ...process.env, LC_ALL: 'C', ...options.env },
      },
      (err, stdout, stderr) => {
        if (err === null) {
          resolve({ ok: true, stdout, stderr });
          return;
        }
        const tail = stderr.trim().split('\n').slice(-8).join('\n');
        const how =
          err.killed === true
            ? `timed out after ${options.timeoutMs ?? 10_000} ms`
            : typeof err.code === 'number'
              ? `exited with status ${err.code}`
              : err.message;
        resolve({
          ok: false,
          reason: `${options.label ?? [file, ...args].join(' ')} ${how}${tail === '' ? '' : `: ${tail}`}`,
          stdout,
          stderr,
        });
      },
    );
  });
}

/** The first executable file called `name` in `PATH`, like `command -v`. */
export function findOnPath(name: string, path = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch (err) {
      if (errnoOf(err) !== undefined) continue;
      throw err;
    }
  }
  return undefined;
}
