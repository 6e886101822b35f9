import { run } from '@mosaic/debian/internal';
import { compareVersions, parseNatsVersion } from './version.ts';

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
