import { debianArchiveKeyring } from '@mosaic/nats-server';
import type { AptSource } from '@mosaic/nats-server';

const sameRelease = ['', '-updates', '-security', '/updates'];

/**
 * The apt source lines of the machine's own Debian release `suite` (`bookworm` and its
 * `-updates` and `-security` suites), component `main` only: compiled modules must be built
 * for the machine's python3. Backports and other suites are left out.
 */
export function ownReleaseSourceLines(sources: readonly AptSource[], suite: string): string[] {
  const lines = new Set<string>();
  for (const s of sources) {
    if (s.type !== 'deb' || !s.components.includes('main')) continue;
    if (!sameRelease.some((suffix) => s.suite === `${suite}${suffix}`)) continue;
    if (!/^(https?|file|mirror\+\w+):/.test(s.uri)) continue;
    lines.add(`deb [signed-by=${s.signedBy ?? debianArchiveKeyring}] ${s.uri} ${s.suite} main`);
  }
  return [...lines];
}
