import { debianArchiveKeyring } from './apt-sources.ts';
import type { AptSource } from './apt-sources.ts';

const sameRelease = ['', '-updates', '-security', '/updates'];
const fetchableUri = /^(https?|file|mirror\+\w+):/;

function line(uri: string, suite: string, signedBy: string | undefined): string {
  return `deb [signed-by=${signedBy ?? debianArchiveKeyring}] ${uri} ${suite} main`;
}

/**
 * The apt source lines of the machine's own Debian release `suite` (`bookworm` and its
 * `-updates` and `-security` suites), component `main` only: programs and libraries must be
 * built for the machine's libc and python3. Backports and other suites are left out.
 */
export function ownReleaseSourceLines(sources: readonly AptSource[], suite: string): string[] {
  const lines = new Set<string>();
  for (const s of sources) {
    if (s.type !== 'deb' || !s.components.includes('main')) continue;
    if (!sameRelease.some((suffix) => s.suite === `${suite}${suffix}`)) continue;
    if (!fetchableUri.test(s.uri)) continue;
    lines.add(line(s.uri, s.suite, s.signedBy));
  }
  return [...lines];
}

/**
 * Source lines for other `suites` (`unstable`, `testing`, …) of the machine's Debian
 * `mirror`, component `main`, signed like the mirror's own entry: for a statically linked
 * program newer than the machine's release has.
 */
export function mirrorSuiteSourceLines(mirror: AptSource, suites: readonly string[]): string[] {
  return suites.map((suite) => line(mirror.uri, suite, mirror.signedBy));
}
