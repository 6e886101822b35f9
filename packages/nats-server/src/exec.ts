import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { compareVersions, parseNatsVersion } from './version.ts';

export interface RunResult {
  stdout: string;
  stderr: string;
}

export type RunOutcome = ({ ok: true } & RunResult) | ({ ok: false; reason: string } & RunResult);

/** Runs a program to completion; a failure to start, a timeout or a non-zero exit is a reason. */
export function run(
  file: string,
  args: readonly string[],
  options: { cwd?: string; timeoutMs?: number; label?: string } = {},
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
        env: { ...process.env, LC_ALL: 'C' },
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

export type Probe = { ok: true; version: string } | { ok: false; reason: string };

/** Runs `<path> --version` and reads the version it prints. */
export async function probeNatsServer(path: string): Promise<Probe> {
  const out = await run(path, ['--version']);
  if (!out.ok) return { ok: false, reason: out.reason };
  const version = parseNatsVersion(`${out.stdout}\n${out.stderr}`);
  if (version === undefined)
    return { ok: false, reason: `${path} --version printed no version: ${out.stdout.trim()}` };
  return { ok: true, version };
}

/** True when `probe` found a version at least `minVersion`. */
export function isAtLeast(version: string, minVersion: string): boolean {
  return compareVersions(version, minVersion) >= 0;
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
      if (err instanceof Error && 'code' in err && typeof err.code === 'string') continue;
      throw err;
    }
  }
  return undefined;
}
